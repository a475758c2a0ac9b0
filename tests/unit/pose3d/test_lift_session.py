"""Lifting in the pipeline: train from files, lift a session into the world or camera frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pose3d_scenes import make_scene

from brainbehave.calibration import Camera, write_calibration
from brainbehave.errors import InputDataError
from brainbehave.pose import pose_dataset, save_pose
from brainbehave.pose3d.lift import LiftSettings
from brainbehave.pose3d.lift_session import (
    LiftConfig,
    TrainingSession,
    lift_session,
    train_lift_model,
)

KEYPOINTS = [f"k{i}" for i in range(12)]
CONFIG = LiftConfig(
    network=LiftSettings(channels=16, blocks=1, window=16, batch_size=8, steps=60, lr=3e-3)
)


def _session(tmp: Path, name: str, seconds: float, cameras: int = 2) -> TrainingSession:
    scene = make_scene(n_cameras=cameras, seconds=seconds)
    folder = tmp / name
    folder.mkdir()
    write_calibration(folder / "calibration.toml", scene.cameras)
    pose2d = {}
    for c, cam in enumerate(scene.cameras):
        ds = pose_dataset(scene.uv[c], None, KEYPOINTS, 30.0, source_software="t", units="px")
        save_pose(ds, folder / f"{cam.name}.nc")
        pose2d[cam.name] = str(folder / f"{cam.name}.nc")
    save_pose(
        pose_dataset(scene.xyz, None, KEYPOINTS, 30.0, source_software="t", units="mm"),
        folder / "pose3d.nc",
    )
    return TrainingSession(
        "m1", name, pose2d, str(folder / "calibration.toml"), str(folder / "pose3d.nc")
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, TrainingSession, dict]:
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("lift")
    sessions = [_session(tmp, "d1", 3.0), _session(tmp, "d2", 2.0)]
    evaluation = train_lift_model(sessions, CONFIG, tmp / "model.pt", tmp / "evaluation.json")
    return tmp, sessions[1], evaluation


def test_training_holds_out_the_last_session_and_reports_its_error(trained) -> None:
    tmp, _, evaluation = trained
    assert json.loads((tmp / "evaluation.json").read_text()) == evaluation
    assert evaluation["training_sessions"] == ["m1/d1"]
    assert evaluation["held_out_sessions"] == ["m1/d2"]
    assert set(evaluation["per_camera"]) == {"camA", "camB"}
    m = evaluation["mean_over_cameras"]
    assert 0 < m["pa_mpjpe_mm"] <= m["mpjpe_mm"] * 1.5 and evaluation["sd_scale"] > 0


def test_lifted_session_is_in_the_world_frame_with_its_uncertainty(trained) -> None:
    tmp, held, evaluation = trained
    ds, qc = lift_session(
        held.pose2d["camA"], held.calibration, "camA", tmp / "model.pt", subject="m1", session="d2"
    )
    assert ds.attrs["frame"] == "world" and ds.attrs["lifted"] == "true"
    assert ds.attrs["units"] == "mm" and ds["position_sd"].dims == ds["position"].dims
    assert (ds["position_sd"].values > 0).all() and (ds["confidence"].values <= 1).all()
    assert qc["points_lifted"] == qc["points"] and qc["frame"] == "world"
    # the world-frame output, back in the camera frame, is what the evaluation measured
    scene = make_scene(n_cameras=2, seconds=2.0)
    xyz = ds["position"].values[..., 0].transpose(0, 2, 1)
    err = np.linalg.norm(xyz - scene.xyz, axis=-1).mean()
    assert err == pytest.approx(evaluation["per_camera"]["camA"]["absolute_error_mm"], rel=1e-2)


def test_intrinsics_only_calibration_gives_the_camera_frame(trained) -> None:
    tmp, held, _ = trained
    cam = make_scene(n_cameras=1, seconds=2.0).cameras[0]
    bare = Camera(cam.name, cam.size, cam.matrix, cam.dist, np.zeros(3), np.zeros(3))
    write_calibration(tmp / "intrinsics.toml", [bare])
    ds, _ = lift_session(
        held.pose2d["camA"],
        tmp / "intrinsics.toml",
        "camA",
        tmp / "model.pt",
        subject="m1",
        session="d2",
    )
    world, _ = lift_session(
        held.pose2d["camA"], held.calibration, "camA", tmp / "model.pt", subject="m1", session="d2"
    )
    assert ds.attrs["frame"] == "camera"
    in_camera = cam.to_camera_frame(world["position"].values[..., 0].transpose(0, 2, 1))
    np.testing.assert_allclose(
        ds["position"].values[..., 0].transpose(0, 2, 1), in_camera, atol=1e-6
    )


def test_wrong_camera_or_keypoints_are_refused(trained, tmp_path: Path) -> None:
    tmp, held, _ = trained
    with pytest.raises(InputDataError, match="camera 'camZ' is not in"):
        lift_session(
            held.pose2d["camA"],
            held.calibration,
            "camZ",
            tmp / "model.pt",
            subject="m1",
            session="d2",
        )
    scene = make_scene(n_cameras=1, seconds=1.0)
    other = pose_dataset(
        scene.uv[0][:, :5], None, list("abcde"), 30.0, source_software="t", units="px"
    )
    save_pose(other, tmp_path / "other.nc")
    with pytest.raises(InputDataError, match="was trained on"):
        lift_session(
            tmp_path / "other.nc",
            held.calibration,
            "camA",
            tmp / "model.pt",
            subject="m1",
            session="d9",
        )
