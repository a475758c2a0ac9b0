"""Temporal filters for 3D trajectories, NaN-aware, in a registry named by the config string.

Every filter takes ``(T, ...)`` arrays (time first) and returns the same shape. NaN policy: a
frame that is NaN stays NaN (filters smooth, they never invent points); NaN neighbours are
left out of a window rather than spreading.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.signal import savgol_filter

TemporalFilter = Callable[..., np.ndarray]
FILTERS: dict[str, TemporalFilter] = {}


def register_filter(name: str) -> Callable[[TemporalFilter], TemporalFilter]:
    """Add a filter to :data:`FILTERS` under ``name`` (the ``pose3d.filter`` config value)."""

    def wrap(fn: TemporalFilter) -> TemporalFilter:
        FILTERS[name] = fn
        return fn

    return wrap


def _check_window(window: int) -> None:
    if window < 3 or window % 2 == 0:
        raise ValueError(f"Filter window must be an odd number of frames >= 3, got {window}.")


@register_filter("none")
def no_filter(x: np.ndarray, window: int = 5, polyorder: int = 2) -> np.ndarray:
    """The input, unchanged."""
    return x


@register_filter("median")
def median_filter(x: np.ndarray, window: int = 5, polyorder: int = 2) -> np.ndarray:
    """Centred running median over ``window`` frames of the finite values in each window."""
    _check_window(window)
    flat = pd.DataFrame(x.reshape(x.shape[0], -1))
    out = flat.rolling(window, center=True, min_periods=1).median().to_numpy()
    out = out.reshape(x.shape)
    return np.where(np.isfinite(x), out, np.nan)


@register_filter("savgol")
def savgol(x: np.ndarray, window: int = 5, polyorder: int = 2) -> np.ndarray:
    """Savitzky-Golay smoothing of each finite run of at least ``window`` frames.

    Shorter runs (between gaps) are left as they are.
    """
    _check_window(window)
    if not 0 <= polyorder < window:
        raise ValueError(f"polyorder must lie in [0, window), got {polyorder} for {window}.")
    flat = x.reshape(x.shape[0], -1)
    out = flat.copy()
    for j in range(flat.shape[1]):
        finite = np.isfinite(flat[:, j])
        edges = np.flatnonzero(np.diff(np.r_[0, finite.astype(np.int8), 0]))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop - start >= window:
                out[start:stop, j] = savgol_filter(flat[start:stop, j], window, polyorder)
    return out.reshape(x.shape)


def apply_filter(x: np.ndarray, name: str, window: int = 5, polyorder: int = 2) -> np.ndarray:
    """Run the registered filter ``name`` over ``x`` (time first)."""
    if name not in FILTERS:
        raise ValueError(f"Unknown temporal filter {name!r}; choose one of {sorted(FILTERS)}.")
    return FILTERS[name](x, window=window, polyorder=polyorder)
