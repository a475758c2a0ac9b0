"""Which pose each video gets: inference or import; bad sheets fail when the workflow is parsed."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from brainbehave.errors import ConfigError
from brainbehave.paths import Paths
from brainbehave.pose2d.sources import Pose2dPlan, video_source

VIDEOS = pd.DataFrame(
    [
        {"subject": "m1", "session": "d1", "camera": "camA", "video": "/v/a.mp4"},
        {
            "subject": "m1",
            "session": "d1",
            "camera": "camB",
            "video": "/v/b.mp4",
            "pose": "/p/b.slp",
            "pose_format": "sleap",
        },
    ]
)


def _w(camera: str) -> SimpleNamespace:
    return SimpleNamespace(subject="m1", session="d1", camera=camera)


def test_camera_missing_from_the_sheet_names_session_camera_and_known_cameras() -> None:
    with pytest.raises(
        ConfigError, match=r"m1/d1: camera 'camC' is not in the videos sheet .*camA"
    ):
        video_source(VIDEOS, "m1", "d1", "camC")
    with pytest.raises(ConfigError, match="Session m1/d9 has no rows"):
        video_source(VIDEOS, "m1", "d9", "camA")


def test_pose_file_without_format_is_refused() -> None:
    videos = VIDEOS.copy()
    videos.loc[1, "pose_format"] = None
    with pytest.raises(ConfigError, match="m1/d1 camera camB: .* no pose_format"):
        video_source(videos, "m1", "d1", "camB")


def test_imported_videos_skip_inference() -> None:
    plan = Pose2dPlan(videos=VIDEOS, paths=Paths(), project="/lab/project")
    assert plan.raw_input(_w("camA")) == "results/pose2d/m1/d1/camA_raw.nc"
    assert plan.imported_video(_w("camA")) == [] and plan.pose_format(_w("camA")) is None
    # a pose file is imported by the cleaning rule itself, checked against its video
    assert plan.raw_input(_w("camB")) == "/p/b.slp" and plan.pose_format(_w("camB")) == "sleap"
    assert plan.imported_video(_w("camB")) == ["/v/b.mp4"]
    assert plan.targets() == [
        "results/pose2d/m1/d1/camA.nc",
        "results/pose2d/m1/d1/camB.nc",
        "results/pose2d/model_evaluation.json",
    ]
    all_imported = Pose2dPlan(videos=VIDEOS.iloc[1:], paths=Paths())
    assert not all_imported.needs_model()
    assert "results/pose2d/model_evaluation.json" not in all_imported.targets()


def test_training_without_a_project_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="pose2d.dlc_project is not set"):
        Pose2dPlan(videos=VIDEOS, paths=Paths()).train_project()


def test_truth_adds_accuracy_and_superanimal_needs_no_model() -> None:
    plan = Pose2dPlan(videos=VIDEOS, paths=Paths(), method="superanimal", with_truth=True)
    assert plan.model_input(_w("camA")) == []
    assert plan.targets()[-1] == "results/pose2d/m1/d1/accuracy.tsv"
    assert plan.session_poses(_w("camA")) == [
        "results/pose2d/m1/d1/camA.nc",
        "results/pose2d/m1/d1/camB.nc",
    ]
