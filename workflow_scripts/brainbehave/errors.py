"""Exceptions that carry a message a scientist can act on."""


class BrainbehaveError(Exception):
    """Base class: the message says what was expected, what was found, where, and what to do."""


class ConfigError(BrainbehaveError, ValueError):
    """The configuration or a cohort sheet is invalid."""


class InputDataError(BrainbehaveError, ValueError):
    """An input file (video, NWB, pose, calibration) cannot be used as it is."""
