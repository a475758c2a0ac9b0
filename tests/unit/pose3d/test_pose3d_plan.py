"""The pose3d targets and input functions the rules use."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from brainbehave.config import Cohort
from brainbehave.paths import Paths
from brainbehave.pose3d.plan import Pose3dPlan


def _plan() -> Pose3dPlan:
    sessions = pd.DataFrame({"subject": ["m1", "m1"], "session": ["d1", "d2"]})
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
