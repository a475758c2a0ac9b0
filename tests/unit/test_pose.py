"""The pose data model: validated constructor, movement compatibility, netCDF round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainbehave.errors import InputDataError
from brainbehave.pose import load_pose, pose_dataset, provenance_of, save_pose, with_provenance


def _pose(**kw):
    pos = np.arange(5 * 3 * 2, dtype=float).reshape(5, 3, 2)
    pos[2, 1] = np.nan
    args = dict(keypoints=["nose", "ear", "tail"], fps=30.0, source_software="test", units="px")
    return pose_dataset(pos, None, **(args | kw))


def test_round_trip_keeps_values_attrs_and_provenance(tmp_path: Path) -> None:
    ds = with_provenance(_pose(camera="camA"), "likelihood_threshold", {"threshold": 0.6})
    save_pose(ds, tmp_path / "p.nc")
    back = load_pose(tmp_path / "p.nc")
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    assert back.attrs["camera"] == "camA" and back.attrs["fps"] == 30.0
    assert provenance_of(back)["steps"][0]["threshold"] == 0.6
    assert np.isnan(back.confidence.values[2, 1, 0]) and back.confidence.values[0, 0, 0] == 1


def test_movement_accepts_it() -> None:
    from movement.kinematics import compute_velocity

    velocity = compute_velocity(_pose().position)
    assert velocity.shape == (5, 2, 3, 1)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"fps": 0.0}, "fps must be a positive number"),
        ({"units": "cm"}, "units must be 'px' or 'mm'"),
        ({"keypoints": ["a", "a", "b"]}, "keypoints names must be unique"),
        ({"keypoints": ["a", "b"]}, "3 keypoints in the data but 2 names"),
    ],
)
def test_bad_input_is_refused_not_repaired(kw: dict, match: str) -> None:
    with pytest.raises(InputDataError, match=match):
        _pose(**kw)


def test_confidence_out_of_range_is_refused() -> None:
    with pytest.raises(InputDataError, match=r"confidence must lie in \[0, 1\]"):
        pose_dataset(
            np.zeros((2, 1, 2)), np.full((2, 1), 1.5), ["a"], 30, source_software="t", units="px"
        )
