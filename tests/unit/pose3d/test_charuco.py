"""ChArUco calibration from board corners: intrinsics, extrinsics, bundle adjustment vs truth."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.errors import InputDataError
from brainbehave.pose3d.charuco import BoardSpec, calibrate_from_detections
from brainbehave.synth.charuco import board_poses, relative_to_first
from brainbehave.synth.cohort import session_rig
from brainbehave.synth.settings import SynthSettings

SPEC = BoardSpec(square_mm=60.0, marker_mm=45.0)


def _detections(cameras, n_frames=40, noise_px=0.2, seed=0):
    """Every corner a camera sees (in the image, board facing it), with pixel noise."""
    rng = np.random.default_rng(seed)
    rots, trans = board_poses(n_frames, SPEC, 300.0, rng)
    corners = SPEC.corners_mm()
    out = {}
    for cam in cameras:
        det = {}
        for f, (r, t) in enumerate(zip(rots, trans, strict=True)):
            if r[:, 2] @ (cam.center - t) >= 0:
                continue  # the board's back
            uv = cam.project(corners @ r.T + t)
            inside = np.isfinite(uv).all(1) & (uv >= 0).all(1) & (uv < cam.size).all(1)
            if inside.sum() >= SPEC.min_corners:
                ids = np.flatnonzero(inside)
                det[f] = (ids, uv[ids] + rng.normal(0, noise_px, (len(ids), 2)))
        out[cam.name] = det
    return out


@pytest.fixture(scope="module")
def rig():
    return session_rig(SynthSettings(cameras=3, image_size=(640, 480)), "rat01", "ses01")


def test_calibration_recovers_the_rig(rig) -> None:
    dets = _detections(rig)
    assert min(len(d) for d in dets.values()) >= 15
    cams, qc = calibrate_from_detections(dets, {c.name: c.size for c in rig}, SPEC)
    assert [c.name for c in cams] == ["camA", "camB", "camC"]
    assert not cams[0].rvec.any() and not cams[0].tvec.any()  # the first camera is the world
    for c in qc["reprojection_error_px"].values():
        assert c["median"] < 0.4  # 0.2 px noise per axis
    for (r_true, t_true), cam, true in zip(relative_to_first(rig), cams, rig, strict=True):
        centre_true, centre = -r_true.T @ t_true, cam.center
        assert np.linalg.norm(centre - centre_true) < 15.0  # mm, cameras ~1 m away, 40 views
        assert abs(cam.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.02


def test_cameras_that_never_share_the_board_are_refused(rig) -> None:
    dets = _detections(rig[:2])
    dets["camB"] = {f + 10_000: v for f, v in dets["camB"].items()}  # no frame in common
    with pytest.raises(InputDataError, match=r"cameras \['camB'\] never see the board together"):
        calibrate_from_detections(dets, {c.name: c.size for c in rig[:2]}, SPEC)


def test_too_few_board_views_are_refused(rig) -> None:
    dets = _detections(rig[:1])
    few = dict(list(dets["camA"].items())[:2])
    with pytest.raises(InputDataError, match="found in 2 usable frames"):
        calibrate_from_detections({"camA": few}, {"camA": rig[0].size}, SPEC)


def test_board_spec_is_checked() -> None:
    with pytest.raises(ValueError, match="not an OpenCV aruco dictionary"):
        BoardSpec(dictionary="DICT_9X9_1")
    with pytest.raises(ValueError, match="must be smaller than square_mm"):
        BoardSpec(square_mm=30, marker_mm=40)
