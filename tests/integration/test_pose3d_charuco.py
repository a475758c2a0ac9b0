"""ChArUco calibration for real: a board rendered through the virtual lab's cameras (mp4),
detected by cv2.aruco, calibrated, and compared with the rig it was filmed by."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from brainbehave.calibration import read_calibration
from brainbehave.pose3d.charuco import BoardSpec, calibrate_from_videos, detect_video
from brainbehave.synth.charuco import charuco_session, relative_to_first
from brainbehave.synth.cohort import session_rig
from brainbehave.synth.settings import SynthSettings

SPEC = BoardSpec(square_mm=60.0, marker_mm=45.0)


@pytest.mark.slow
def test_board_videos_of_the_virtual_rig_give_its_calibration(tmp_path: Path) -> None:
    rig = session_rig(SynthSettings(cameras=2, image_size=(640, 480)), "rat01", "ses01")
    videos = charuco_session(rig, SPEC, tmp_path / "board", n_frames=80)
    # the rendering is exact: detected corners sit where the true camera projects the board
    det, size = detect_video(videos["camA"], SPEC)
    assert size == (640, 480) and len(det) >= 15
    cams, qc = calibrate_from_videos(
        videos, SPEC, tmp_path / "calibration.toml", tmp_path / "qc.json", where="test"
    )
    back = read_calibration(tmp_path / "calibration.toml")
    assert list(back) == ["camA", "camB"] and back["camB"] == cams[1]
    meta = tomllib.loads((tmp_path / "calibration.toml").read_text())["metadata"]
    assert meta["world_frame"] == "camera camA" and meta["reprojection_error_px_median"] < 0.5
    assert (tmp_path / "qc.json").is_file()
    r_true, t_true = relative_to_first(rig)[1]
    centre_err = np.linalg.norm(cams[1].center - (-r_true.T @ t_true))
    angle = np.degrees(
        np.arccos(np.clip((np.trace(cams[1].rotation_matrix @ r_true.T) - 1) / 2, -1, 1))
    )
    assert centre_err < 20.0 and angle < 1.0  # mm and degrees; cameras ~1 m from the arena
    for found, true in zip(cams, rig, strict=True):
        assert abs(found.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.03
