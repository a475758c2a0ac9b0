"""The pose3d targets and input functions the rules use."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from brainbehave.config import Cohort
from brainbehave.errors import ConfigError
from brainbehave.paths import Paths
from brainbehave.pose3d.plan import Pose3dPlan, not_this_route


def _plan() -> Pose3dPlan:
    sessions = pd.DataFrame(
        {"subject": ["m1", "m1"], "session": ["d1", "d2"], "calibration": ["c.toml", "c.toml"]}
    )
    videos = pd.DataFrame(
        {
            "subject": ["m1", "m1", "m1"],
            "session": ["d1", "d1", "d2"],
            "camera": ["top", "side", "top"],
            "video": ["a.mp4", "b.mp4", "c.mp4"],
        }
    )
    return Pose3dPlan(Cohort(sessions, videos), Paths(results="res"))


def test_only_sessions_with_two_cameras_are_triangulated() -> None:
    plan = _plan()
    assert plan.sessions() == [("m1", "d1")]
    assert plan.targets() == ["res/pose3d/m1/d1/pose3d.nc", "res/pose3d/m1/d1/qc.json"]


def test_inputs_follow_the_sheet_order_of_cameras() -> None:
    wc = SimpleNamespace(subject="m1", session="d1")
    assert _plan().cameras(wc) == ["top", "side"]
    assert _plan().pose2d_inputs(wc) == ["res/pose2d/m1/d1/top.nc", "res/pose2d/m1/d1/side.nc"]


def _lift_plan(**lift) -> Pose3dPlan:
    sessions = pd.DataFrame(
        {
            "subject": ["m1", "m1", "m2"],
            "session": ["d1", "d2", "d1"],
            "calibration": ["c1.toml", "c2.toml", "c3.toml"],
        }
    )
    videos = pd.DataFrame(
        {
            "subject": ["m1", "m1", "m1", "m1", "m2"],
            "session": ["d1", "d1", "d2", "d2", "d1"],
            "camera": ["top", "side", "top", "side", "top"],
            "video": ["a", "b", "c", "d", "e"],
        }
    )
    return Pose3dPlan(
        Cohort(sessions, videos), Paths(results="res"), lift={"enabled": True, **lift}
    )


def test_one_camera_sessions_are_lifted_by_a_model_trained_on_the_others() -> None:
    plan = _lift_plan()
    assert plan.sessions() == [("m1", "d1"), ("m1", "d2")]
    assert plan.lifted_sessions() == [("m2", "d1")]
    targets = plan.targets()
    assert "res/pose3d/m2/d1/pose3d.nc" in targets and "res/pose3d/lift/model.pt" in targets
    wc = SimpleNamespace(subject="m2", session="d1")
    assert plan.lift_inputs(wc) == {
        "pose2d": "res/pose2d/m2/d1/top.nc",
        "calibration": "c3.toml",
        "model": "res/pose3d/lift/model.pt",
    }
    # each rule asks the other kind of session for a file no rule makes: Snakemake then
    # picks the rule that can make the output
    assert plan.pose2d_inputs(wc) == [not_this_route(("m2", "d1"), "not-triangulated")]
    assert plan.lift_inputs(SimpleNamespace(subject="m1", session="d1")) == {
        "route": "(pose3d-route)/m1/d1/not-lifted"
    }
    specs = plan.training_specs()
    assert [(s["subject"], s["session"]) for s in specs] == [("m1", "d1"), ("m1", "d2")]
    assert specs[0]["target"] == "res/pose3d/m1/d1/pose3d.nc"
    assert "res/pose3d/m1/d2/pose3d.nc" in plan.training_inputs()


def test_listed_multi_camera_session_is_lifted_from_the_configured_camera() -> None:
    plan = _lift_plan(sessions=["m1/d2"], camera="side")
    assert plan.lifted_sessions() == [("m1", "d2"), ("m2", "d1")]
    assert plan.lift_camera(SimpleNamespace(subject="m1", session="d2")) == "side"
    assert plan.lift_camera(SimpleNamespace(subject="m2", session="d1")) == "top"
    assert plan.training_sessions() == [("m1", "d1")]


def test_lifting_disabled_leaves_one_camera_sessions_out_and_trains_nothing() -> None:
    plan = _lift_plan(enabled=False)
    assert plan.lifted_sessions() == []
    assert not any("m2" in t or "lift" in t for t in plan.targets())


def test_bad_lift_settings_are_refused_at_parse_time() -> None:
    with pytest.raises(ConfigError, match=r"\['m9/d1'\] are not sessions"):
        _lift_plan(sessions=["m9/d1"])
    with pytest.raises(ConfigError, match="no session of the cohort has two or more cameras"):
        _lift_plan(sessions=["m1/d1", "m1/d2"])
    with pytest.raises(ConfigError, match="'front' is not a camera"):
        _lift_plan(sessions=["m1/d2"], camera="front").lift_camera(
            SimpleNamespace(subject="m1", session="d2")
        )


def test_a_calibration_folder_of_board_videos_is_calibrated_first(tmp_path) -> None:
    folder = tmp_path / "board"
    folder.mkdir()
    for name in ("top.mp4", "side.mp4", "notes.txt"):
        (folder / name).write_text("x")
    sessions = pd.DataFrame({"subject": ["m1"], "session": ["d1"], "calibration": [str(folder)]})
    videos = pd.DataFrame(
        {
            "subject": ["m1", "m1"],
            "session": ["d1", "d1"],
            "camera": ["top", "side"],
            "video": ["a", "b"],
        }
    )
    plan = Pose3dPlan(Cohort(sessions, videos), Paths(results="res"))
    wc = SimpleNamespace(subject="m1", session="d1")
    assert plan.calibration(wc) == "res/pose3d/m1/d1/calibration.toml"
    assert plan.calibration_videos(wc) == {
        "top": str(folder / "top.mp4"),
        "side": str(folder / "side.mp4"),
    }
    (folder / "side.mp4").unlink()
    with pytest.raises(ConfigError, match=r"no board video for cameras \['side'\]"):
        plan.calibration_videos(wc)
    assert _lift_plan().calibration_videos(wc) == {
        "route": "(pose3d-route)/m1/d1/calibration-is-a-file-not-videos"
    }
