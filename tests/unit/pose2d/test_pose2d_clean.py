"""Cleaning: threshold, short-gap interpolation, smoothing, each step in the provenance."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.errors import ConfigError
from brainbehave.pose import pose_dataset, provenance_of
from brainbehave.pose2d.clean import CleanSettings, clean_pose, missing_fraction


def _pose(n: int = 40):
    t = np.arange(n, dtype=float)
    position = np.stack([np.stack([t, 2 * t], -1), np.stack([t + 5, 0 * t + 3], -1)], 1)
    confidence = np.full((n, 2), 0.95)
    confidence[10:13, 0] = 0.1  # a 3-frame dropout of keypoint a: filled
    confidence[20:30, 1] = 0.2  # a 10-frame dropout of keypoint b: too long, stays missing
    return pose_dataset(position, confidence, ["a", "b"], 30.0, source_software="test", units="px")


def test_short_gaps_are_filled_and_long_gaps_stay_missing() -> None:
    out = clean_pose(_pose(), CleanSettings(likelihood_threshold=0.6, max_gap_frames=5))
    a = out.position.sel(keypoints="a").values[:, :, 0]
    np.testing.assert_allclose(a[10:13], [[10, 20], [11, 22], [12, 24]])  # linear: exact here
    b = out.position.sel(keypoints="b").values[:, :, 0]
    assert np.isnan(b[20:30]).all() and np.isfinite(b[:20]).all()
    assert missing_fraction(out) == pytest.approx(10 / 80)
    # confidence is kept: a filled point still says it was not seen
    assert out.confidence.sel(keypoints="a").values[11, 0] == pytest.approx(0.1)


def test_every_step_is_recorded_with_its_parameters() -> None:
    settings = CleanSettings(likelihood_threshold=0.5, max_gap_frames=4, smoothing="median")
    steps = provenance_of(clean_pose(_pose(), settings))["steps"]
    assert [s["step"] for s in steps] == ["likelihood_threshold", "interpolate_gaps", "smooth"]
    assert steps[0]["threshold"] == 0.5 and steps[0]["points_removed"] == 13
    assert steps[1]["max_gap_frames"] == 4 and steps[1]["points_filled"] == 3
    assert steps[2]["method"] == "median" and steps[2]["window"] == 5


def test_smoothing_removes_a_spike_but_invents_no_points() -> None:
    ds = _pose()
    ds["position"][15, 0, 0, 0] = 500.0  # a one-frame jump of keypoint a
    out = clean_pose(ds, CleanSettings(smoothing="median", smoothing_window=5))
    assert out.position.values[15, 0, 0, 0] == pytest.approx(16.0)  # median of 13,14,500,16,17
    assert np.isnan(out.position.sel(keypoints="b").values[20:30]).all()
    sg = clean_pose(_pose(), CleanSettings(smoothing="savgol", smoothing_window=7))
    np.testing.assert_allclose(sg.position.values[:8, 0, 0, 0], np.arange(8.0), atol=1e-9)


def test_disabled_steps_leave_the_pose_alone() -> None:
    ds = _pose()
    out = clean_pose(ds, CleanSettings(likelihood_threshold=0, max_gap_frames=0))
    np.testing.assert_array_equal(out.position.values, ds.position.values)
    assert "steps" not in provenance_of(out)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"likelihood_threshold": 1.5}, "likelihood_threshold must lie in"),
        ({"smoothing": "kalman"}, "smoothing must be one of"),
        ({"smoothing": "median", "smoothing_window": 4}, "odd number"),
        ({"max_gap": 3}, r"Unknown pose2d.clean setting\(s\) \['max_gap'\]"),
    ],
)
def test_bad_settings_are_refused(values: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        CleanSettings.from_mapping(values)
