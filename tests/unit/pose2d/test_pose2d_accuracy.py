"""Pixel error against the virtual lab's truth counts visible keypoints of saved frames only."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from brainbehave.errors import InputDataError
from brainbehave.pose import pose_dataset
from brainbehave.pose2d.accuracy import pixel_errors, summarise_errors


def _truth():
    n = 6  # exposures; exposure 2 was dropped, so the video has 5 frames
    xy = np.zeros((n, 2, 2))
    xy[:, :, 0] = np.arange(n)[:, None] * 10
    visible = np.ones((n, 2), bool)
    visible[4, 1] = False
    dropped = np.zeros(n, bool)
    dropped[2] = True
    return SimpleNamespace(
        subject="rat01",
        session="ses01",
        keypoints=["nose", "tail"],
        cameras=["camA"],
        pose2d={"camA": xy},
        visible={"camA": visible},
        video_exposure_index=np.flatnonzero(~dropped),
    )


def test_errors_align_frames_to_exposures_and_skip_hidden_points() -> None:
    truth = _truth()
    frames = truth.pose2d["camA"][truth.video_exposure_index]  # (5, 2, 2)
    pred = frames + np.array([3.0, 4.0])  # 5 px off everywhere
    pred[0, 1] = np.nan  # one miss
    pose = pose_dataset(pred, None, ["nose", "tail"], 30, source_software="t", units="px")
    errors = pixel_errors(pose, truth, "camA")
    assert len(errors) == 9  # 10 points, one hidden (exposure 4 = frame 3)
    summary = summarise_errors(errors)
    assert summary.loc["all", "median_px"] == pytest.approx(5.0)
    assert summary.loc["tail", "detected"] == pytest.approx(3 / 4)


def test_wrong_length_or_camera_is_refused() -> None:
    pose = pose_dataset(
        np.zeros((4, 2, 2)), None, ["nose", "tail"], 30, source_software="t", units="px"
    )
    with pytest.raises(InputDataError, match="pose has 4 frames, the video 5"):
        pixel_errors(pose, _truth(), "camA")
    with pytest.raises(InputDataError, match="camera 'camZ' not in the ground truth"):
        pixel_errors(pose, _truth(), "camZ")
