"""The torch device a model trains on, from a setting (``auto``, ``cpu``, ``cuda[:N]``)."""

from __future__ import annotations

import torch

from brainbehave.errors import InputDataError


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputDataError("device='cuda' was asked for, but no CUDA GPU is available.")
    return torch.device(device)
