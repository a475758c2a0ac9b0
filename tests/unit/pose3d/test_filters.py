"""Temporal filters: smooth, never invent points, refuse bad windows."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.pose3d.filters import FILTERS, apply_filter


def test_median_removes_a_spike_and_keeps_gaps() -> None:
    x = np.zeros((20, 2, 3))
    x[10, 0, 0] = 50.0
    x[5, 1] = np.nan
    out = apply_filter(x, "median", window=5)
    assert out[10, 0, 0] == 0.0
    assert np.isnan(out[5, 1]).all() and np.isfinite(out[4, 1]).all()


def test_savgol_smooths_long_runs_and_leaves_short_ones() -> None:
    t = np.arange(40.0)
    rng = np.random.default_rng(0)
    x = (np.sin(t / 5) + rng.normal(0, 0.2, t.size))[:, None]
    x[20] = np.nan
    x[22] = np.nan  # run of one frame between gaps: untouched
    out = apply_filter(x, "savgol", window=7, polyorder=2)
    truth = np.sin(t / 5)[:, None]
    assert np.nanmean(np.abs(out - truth)) < np.nanmean(np.abs(x - truth))
    assert out[21, 0] == x[21, 0] and np.isnan(out[20, 0])


def test_registry_and_bad_windows() -> None:
    assert {"none", "median", "savgol"} <= set(FILTERS)
    with pytest.raises(ValueError, match="odd number of frames >= 3"):
        apply_filter(np.zeros((5, 1)), "median", window=4)
    with pytest.raises(ValueError, match="Unknown temporal filter 'kalman'"):
        apply_filter(np.zeros((5, 1)), "kalman")
