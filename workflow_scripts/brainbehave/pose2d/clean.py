"""Cleaning of 2D pose: likelihood threshold, interpolation of short gaps, optional smoothing.

Each step uses ``movement.filtering`` and is recorded in the dataset's provenance (step name,
parameters, how many points it changed), so a cleaned file says how it was made. Confidence is
left as the pose estimator gave it: a point filled by interpolation keeps its low confidence,
so later stages can still tell it was not seen.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from brainbehave.errors import ConfigError
from brainbehave.pose import with_provenance

logger = logging.getLogger(__name__)

SMOOTHERS = ("none", "median", "savgol")


@dataclass(frozen=True)
class CleanSettings:
    """The ``pose2d.clean`` block of the config.

    Attributes
    ----------
    likelihood_threshold
        Points with a lower confidence become NaN (0 disables). The default, 0.4, is below
        DeepLabCut's pcutoff (0.6): a model trained from scratch on the demo gives most correct
        points a likelihood of 0.4-0.6, and 0.4 still drops most hidden keypoints.
    max_gap_frames
        Gaps of at most this many consecutive frames are filled by linear interpolation
        (0 disables); longer gaps stay NaN.
    smoothing
        ``none``, ``median`` (rolling median) or ``savgol`` (Savitzky-Golay).
    smoothing_window
        Window in frames (odd).
    savgol_polyorder
        Polynomial order of the Savitzky-Golay filter.
    """

    likelihood_threshold: float = 0.4
    max_gap_frames: int = 5
    smoothing: str = "none"
    smoothing_window: int = 5
    savgol_polyorder: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.likelihood_threshold <= 1:
            raise ConfigError(
                f"pose2d.clean.likelihood_threshold must lie in [0, 1], got "
                f"{self.likelihood_threshold!r}."
            )
        if self.max_gap_frames < 0:
            raise ConfigError("pose2d.clean.max_gap_frames must be >= 0.")
        if self.smoothing not in SMOOTHERS:
            raise ConfigError(
                f"pose2d.clean.smoothing must be one of {SMOOTHERS}, got {self.smoothing!r}."
            )
        if self.smoothing != "none" and (
            self.smoothing_window < 3 or self.smoothing_window % 2 == 0
        ):
            raise ConfigError(
                f"pose2d.clean.smoothing_window must be an odd number >= 3, got "
                f"{self.smoothing_window!r}."
            )
        if self.smoothing == "savgol" and self.savgol_polyorder >= self.smoothing_window:
            raise ConfigError("pose2d.clean.savgol_polyorder must be below smoothing_window.")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> CleanSettings:
        """Build from a config mapping; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(values) - names):
            raise ConfigError(f"Unknown pose2d.clean setting(s) {unknown}; known: {sorted(names)}.")
        return cls(**values)


def _n_missing(position: xr.DataArray) -> int:
    return int(position.isnull().any("space").sum())


def _replace_position(ds: xr.Dataset, position: xr.DataArray) -> xr.Dataset:
    out = ds.copy()
    # movement's filters attach a log attribute; keep the pipeline's own attrs only
    out["position"] = (ds["position"].dims, position.transpose(*ds["position"].dims).values)
    return out


def threshold_likelihood(ds: xr.Dataset, threshold: float) -> xr.Dataset:
    """Set points with confidence below `threshold` to NaN."""
    from movement.filtering import filter_by_confidence

    before = _n_missing(ds["position"])
    filtered = filter_by_confidence(ds["position"], ds["confidence"], threshold=threshold)
    out = _replace_position(ds, filtered)
    removed = _n_missing(out["position"]) - before
    return with_provenance(
        out, "likelihood_threshold", {"threshold": threshold, "points_removed": removed}
    )


def interpolate_gaps(ds: xr.Dataset, max_gap_frames: int) -> xr.Dataset:
    """Fill gaps of at most `max_gap_frames` consecutive NaN frames by linear interpolation."""
    from movement.filtering import interpolate_over_time

    before = _n_missing(ds["position"])
    filled = interpolate_over_time(ds["position"], method="linear", max_gap=max_gap_frames)
    out = _replace_position(ds, filled)
    n_filled = before - _n_missing(out["position"])
    return with_provenance(
        out, "interpolate_gaps", {"max_gap_frames": max_gap_frames, "points_filled": n_filled}
    )


def smooth(ds: xr.Dataset, method: str, window: int, polyorder: int = 2) -> xr.Dataset:
    """Smooth positions over time with a rolling median or a Savitzky-Golay filter."""
    from movement.filtering import rolling_filter, savgol_filter

    if method == "median":
        smoothed = rolling_filter(ds["position"], window, statistic="median", min_periods=1)
        details: dict[str, Any] = {"method": method, "window": window}
    elif method == "savgol":
        smoothed = savgol_filter(ds["position"], window, polyorder=polyorder)
        details = {"method": method, "window": window, "polyorder": polyorder}
    else:
        raise ConfigError(f"Unknown smoothing {method!r}; known: {SMOOTHERS[1:]}.")
    # a smoother must not invent points where there were none
    smoothed = smoothed.where(~ds["position"].isnull())
    return with_provenance(_replace_position(ds, smoothed), "smooth", details)


def clean_pose(ds: xr.Dataset, settings: CleanSettings) -> xr.Dataset:
    """Apply the configured cleaning steps in order: threshold, interpolation, smoothing."""
    out = ds
    # xarray would hand rolling windows to numbagg, whose JIT compilation takes ~45 s in
    # every fresh process (each rule job is one); bottleneck (off by default) does ffill.
    with xr.set_options(use_numbagg=False, use_bottleneck=True):
        if settings.likelihood_threshold > 0:
            out = threshold_likelihood(out, settings.likelihood_threshold)
        if settings.max_gap_frames > 0:
            out = interpolate_gaps(out, settings.max_gap_frames)
        if settings.smoothing != "none":
            out = smooth(
                out, settings.smoothing, settings.smoothing_window, settings.savgol_polyorder
            )
    n = out.sizes["time"] * out.sizes["keypoints"] * out.sizes["individuals"]
    missing = _n_missing(out["position"])
    logger.info(
        "cleaned pose: %d of %d points missing after cleaning (%.1f%%)",
        missing,
        n,
        100.0 * missing / max(n, 1),
    )
    if missing == n:
        logger.warning("every point is missing after cleaning; is the threshold too high?")
    return out


def missing_fraction(ds: xr.Dataset) -> float:
    """Fraction of (frame, keypoint, individual) points with no position."""
    missing = ds["position"].isnull().any("space").values
    return float(np.mean(missing)) if missing.size else 0.0
