"""Behaviour on the neural clock: frame times from the sync, labels per source and level."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brainbehave.align_behaviour import (
    SessionBehaviour,
    assign_labels,
    behaviour_variables,
    label_intervals,
)
from brainbehave.behaviour.labels import labels_dataset
from brainbehave.errors import InputDataError
from brainbehave.pose import pose_dataset
from brainbehave.sync import SyncTolerance, sync_from_ttl_and_frame_times


def test_frames_are_mapped_to_neural_time_and_pose_follows_them() -> None:
    fps, offset, drift_ppm = 30.0, 2.5, 40.0
    exposures = np.arange(120)
    t_video = exposures / fps
    ttl = offset + (1 + drift_ppm * 1e-6) * t_video
    saved = np.delete(exposures, [30, 60, 61])  # three exposures never reached the video
    sync = sync_from_ttl_and_frame_times(ttl, t_video[saved], fps, SyncTolerance(), "test")
    np.testing.assert_allclose(sync.frame_times_neural, ttl[saved], atol=1e-9)
    # x of the nose = the frame's own neural time: a bin must read its centre back
    x = np.repeat(sync.frame_times_neural[:, None], 2, axis=1)[:, None, :]
    pose = pose_dataset(x, None, ["nose"], fps, source_software="t", units="px", camera="camA")
    behaviour = SessionBehaviour(sync.frame_times_neural, pose={"camA": pose})
    centres = sync.video_to_neural(np.arange(5, 100) / fps)  # bins centred on exposures
    got = behaviour_variables(behaviour, centres, 1 / fps)["pose_camA"].values[:, 0, 0]
    # one lost frame is interpolated over; two in a row (3 periods > 2.5) leave a gap, but
    # the saved frames on either side of it keep their values
    lost = (np.arange(5, 100) == 60) | (np.arange(5, 100) == 61)
    np.testing.assert_allclose(got[~lost], centres[~lost], atol=1e-9)
    assert np.isnan(got[lost]).all()


def test_each_camera_uses_its_own_frame_times() -> None:
    frames = np.arange(10) / 10.0
    shifted = frames + 0.05
    x = np.zeros((10, 1, 2))
    x[:, 0, 0] = np.arange(10)
    pose = pose_dataset(x, None, ["nose"], 10.0, source_software="t", units="px")
    behaviour = SessionBehaviour(frames, pose={"camB": pose}, pose_times={"camB": shifted})
    got = behaviour_variables(behaviour, np.array([0.35]), 0.1)["pose_camB"].values[0, 0, 0]
    assert got == pytest.approx(3.0)  # camB's frame 3 is at 0.35 s, not 0.3 s


def test_labels_per_source_and_level_with_minus_one_where_no_frame_is_near() -> None:
    frames = np.array([0.0, 0.1, 0.2, 0.5, 0.6])  # 0.3 and 0.4 s were lost
    rules = labels_dataset(
        {"action": (["still", "walk"], [0, 0, 1, 1, -1]), "activity": (["rest"], [0] * 5)},
        10.0,
        "rules",
    )
    mae = labels_dataset({"action": (["c0", "c1", "c2"], [2, 2, 1, 0, 0])}, 10.0, "mae")
    behaviour = SessionBehaviour(frames, labels={"rules": rules, "mae": mae})
    out = behaviour_variables(behaviour, np.arange(7) / 10.0, 0.1)
    assert sorted(out) == ["label_mae_action", "label_rules_action", "label_rules_activity"]
    np.testing.assert_array_equal(out["label_rules_action"].values, [0, 0, 1, -1, -1, 1, -1])
    np.testing.assert_array_equal(out["label_mae_action"].values, [2, 2, 1, -1, -1, 0, 0])
    attrs = out["label_mae_action"].attrs
    assert (attrs["source"], attrs["level"], json.loads(attrs["names"])) == (
        "mae",
        "action",
        ["c0", "c1", "c2"],
    )
    assert out["label_rules_action"].dtype == np.int16


def test_nearest_frame_wins_and_ties_go_to_the_earlier_frame() -> None:
    got = assign_labels(np.array([0.0, 1.0]), np.array([4, 7]), np.array([0.4, 0.5, 0.6]), 1.0)
    np.testing.assert_array_equal(got, [4, 4, 7])


def test_intervals_of_every_source_are_on_the_neural_clock() -> None:
    frames = 100.0 + np.arange(6) / 10.0
    rules = labels_dataset({"action": (["still", "walk"], [0, 0, 1, 1, -1, 0])}, 10.0, "rules")
    table = SessionBehaviour(frames, labels={"rules": rules}).intervals()
    assert list(table["label"]) == ["still", "walk", "still"]
    np.testing.assert_allclose(table["start"], [100.0, 100.2, 100.5])
    np.testing.assert_allclose(table["stop"], [100.2, 100.4, 100.6])
    assert set(table["source"]) == {"rules"}
    assert len(label_intervals(frames, {}, {}, "rules")) == 0


def test_labels_of_another_length_than_the_frames_are_refused() -> None:
    rules = labels_dataset({"action": (["still"], [0, 0, 0])}, 10.0, "rules")
    behaviour = SessionBehaviour(np.arange(4) / 10.0, labels={"rules": rules})
    with pytest.raises(InputDataError, match="rules labels has 3 frames but the synchronised"):
        behaviour_variables(behaviour, np.arange(4) / 10.0, 0.1)
