"""A session end to end: 2D pose files + calibration -> 3D pose dataset + QC; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pose3d_scenes import Scene, make_scene

from brainbehave.calibration import Camera, write_calibration
from brainbehave.errors import InputDataError
from brainbehave.pose import load_pose, pose_dataset, save_pose
from brainbehave.pose3d import Pose3dSettings, triangulate_session, write_qc

KEYPOINTS = [f"kp{i}" for i in range(12)]


def _write_session(tmp: Path, scene: Scene, uv: np.ndarray, names=None) -> tuple[dict, Path]:
    names = names or [c.name for c in scene.cameras]
    files = {}
    for c, name in enumerate(names):
        ds = pose_dataset(
            uv[c], None, KEYPOINTS, 30.0, source_software="test", units="px", camera=name
        )
        files[name] = tmp / f"{name}.nc"
        save_pose(ds, files[name])
    calib = tmp / "calibration.toml"
    write_calibration(calib, scene.cameras)
    return files, calib


def _run(files, calib, **settings):
    return triangulate_session(
        files, calib, Pose3dSettings.from_mapping(settings), subject="rat01", session="ses01"
    )


def test_session_round_trip_gives_mm_pose_and_qc(tmp_path: Path, scene: Scene) -> None:
    uv = scene.noisy(1.0)
    uv[0, :10, 2] = np.nan
    files, calib = _write_session(tmp_path, scene, uv)
    ds, qc = _run(files, calib, filter="median", threshold_px=10)
    save_pose(ds, tmp_path / "pose3d.nc")
    write_qc(qc, tmp_path / "qc.json")
    back = load_pose(tmp_path / "pose3d.nc")
    assert back.attrs["units"] == "mm" and list(back["space"].values) == ["x", "y", "z"]
    assert back["position"].shape == (scene.xyz.shape[0], 3, 12, 1)
    xyz = back["position"].values[..., 0].transpose(0, 2, 1)
    assert np.nanmedian(np.linalg.norm(xyz - scene.xyz, axis=-1)) < 1.5
    assert json.loads(back.attrs["provenance"])["settings"]["filter"] == "median"
    assert json.loads(back["cameras_used"].attrs["cameras"]) == [c.name for c in scene.cameras]
    qc = json.loads((tmp_path / "qc.json").read_text())
    assert qc["views_missing"]["camA"] == 10 and qc["points_triangulated"] == qc["points"]
    per_cam = qc["reprojection_error_px"]["per_camera"]
    assert set(per_cam) == {"camA", "camB", "camC", "camD"}
    assert 0.3 < per_cam["camB"]["median"] < 3.0
    assert set(qc["reprojection_error_px"]["per_keypoint"]) == set(KEYPOINTS)


def test_camera_missing_from_calibration_is_named(tmp_path: Path, scene: Scene) -> None:
    files, calib = _write_session(tmp_path, scene, scene.uv)
    files["camZ"] = files.pop("camD")
    with pytest.raises(InputDataError, match=r"rat01/ses01: camera\(s\) \['camZ'\] have 2D pose"):
        _run(files, calib)


def test_calibrated_camera_without_pose_is_named(tmp_path: Path, scene: Scene) -> None:
    files, calib = _write_session(tmp_path, scene, scene.uv)
    del files["camC"]
    with pytest.raises(InputDataError, match=r"camera\(s\) \['camC'\] without 2D pose"):
        _run(files, calib)


def test_different_frame_counts_are_refused(tmp_path: Path, scene: Scene) -> None:
    files, calib = _write_session(tmp_path, scene, scene.uv)
    short = pose_dataset(scene.uv[1, :-3], None, KEYPOINTS, 30.0, source_software="t", units="px")
    save_pose(short, files["camB"])
    with pytest.raises(InputDataError, match=r"camera 'camB' \(.*camB.nc\) has \d+ frames"):
        _run(files, calib)


def test_all_nan_camera_is_refused(tmp_path: Path, scene: Scene) -> None:
    uv = scene.uv.copy()
    uv[2] = np.nan
    files, calib = _write_session(tmp_path, scene, uv)
    with pytest.raises(InputDataError, match=r"camera 'camC' .* no finite keypoint"):
        _run(files, calib)


def test_rig_without_baseline_is_refused(tmp_path: Path) -> None:
    scene = make_scene(n_cameras=2, seconds=0.5)
    a = scene.cameras[0]
    # same centre, rotated about it: the pose changes but the position does not
    b = Camera("camB", a.size, a.matrix, a.dist, a.rvec + np.array([0.0, 0.1, 0.0]), a.tvec)
    b = Camera("camB", a.size, a.matrix, a.dist, b.rvec, -b.rotation_matrix @ a.center)
    scene = Scene([a, b], scene.xyz, scene.uv)
    files, calib = _write_session(tmp_path, scene, scene.uv)
    with pytest.raises(InputDataError, match="same centre"):
        _run(files, calib)


def test_unknown_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="pose3d.filter 'kalman' unknown"):
        Pose3dSettings.from_mapping({"filter": "kalman"})


def test_per_view_errors_and_degenerate_geometry_are_in_the_dataset(
    tmp_path: Path, scene: Scene
) -> None:
    uv = scene.noisy(0.5)
    uv[2:, :5] = np.nan  # frames 0-4: only camA and camB see the points
    files, calib = _write_session(tmp_path, scene, uv)
    ds, _ = _run(files, calib)
    centres = [c.center for c in scene.cameras[:2]]
    x = scene.xyz[0, 0]
    rays = [(x - c) / np.linalg.norm(x - c) for c in centres]
    pair_angle = np.degrees(np.arccos(rays[0] @ rays[1]))
    assert float(ds["ray_angle"].values[0, 0, 0]) == pytest.approx(pair_angle, abs=0.2)
    # flag every point whose rays meet at less than that pair's angle: frames 0-4 only (the
    # other frames use all four cameras, whose widest pair is wider)
    flagged, qc = _run(
        files, calib, min_ray_angle_deg=float(ds["ray_angle"].values[:5].max()) + 0.01
    )
    assert flagged["degenerate"].values[:5].all() and not flagged["degenerate"].values[5:].any()
    assert qc["points_degenerate_geometry"] == 5 * len(KEYPOINTS)
    # per-view errors: NaN for views not used, and their mean is the stored mean error
    per_view = ds["reprojection_error_view"]
    assert list(per_view["view"].values) == [c.name for c in scene.cameras]
    assert np.isnan(per_view.sel(view="camC").values[:5]).all()
    np.testing.assert_allclose(
        per_view.mean("view", skipna=True).values, ds["reprojection_error"].values, rtol=1e-5
    )
    save_pose(ds, tmp_path / "pose3d.nc")
    assert load_pose(tmp_path / "pose3d.nc")["degenerate"].dtype == bool
