"""Snakemake calibrates a session from its ChArUco board videos, then triangulates with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workflow_runner import run_snakemake

from brainbehave.calibration import read_calibration
from brainbehave.config import write_cohort_sheets
from brainbehave.paths import Paths
from brainbehave.pose import load_pose, pose_dataset, save_pose
from brainbehave.synth.charuco import charuco_session
from brainbehave.synth.cohort import SessionFiles, generate_session, session_rig
from brainbehave.synth.settings import SynthSettings

SYNTH = {
    "seed": 2,
    "subjects": 1,
    "sessions_per_subject": 1,
    "duration_s": 3,
    "cameras": 2,
    "image_size": [640, 480],
    "n_units": 5,
    "dropped_frames": 0,
    "dlc_labelled_frames": 2,
}
BOARD = {"squares_x": 7, "squares_y": 5, "square_mm": 60, "marker_mm": 45}
KEY = ("rat01", "ses01")


@pytest.mark.slow
def test_board_videos_are_calibrated_and_used_for_triangulation(repo: Path, tmp_path: Path) -> None:
    from brainbehave.pose3d.charuco import BoardSpec

    settings = SynthSettings.from_mapping(SYNTH)
    paths = Paths(results=str(tmp_path / "results"))
    files = SessionFiles.from_paths(paths, settings, *KEY)
    truth = generate_session(settings, *KEY, files)
    rig = session_rig(settings, *KEY)
    board = tmp_path / "cohort" / "board"
    charuco_session(rig, BoardSpec(**BOARD), board, n_frames=80)
    rng = np.random.default_rng(0)
    videos = []
    for cam in truth.cameras:
        uv = truth.pose2d[cam][truth.video_exposure_index]
        ds = pose_dataset(
            uv + rng.normal(0, 0.5, uv.shape),
            None,
            truth.keypoints,
            truth.fps,
            source_software="test",
            units="px",
            camera=cam,
        )
        save_pose(ds, paths.pose2d(*KEY, cam))
        videos.append(
            {"subject": KEY[0], "session": KEY[1], "camera": cam, "video": str(files.videos[cam])}
        )
    sessions = [
        {
            "subject": KEY[0],
            "session": KEY[1],
            "nwb": str(files.nwb),
            "calibration": str(board),
            "fps": truth.fps,
        }
    ]
    cohort = tmp_path / "cohort"
    write_cohort_sheets(
        pd.DataFrame(sessions), pd.DataFrame(videos), cohort / "sessions.tsv", cohort / "videos.tsv"
    )
    config = {
        "cohort": {
            "source": "sheets",
            "sessions": str(cohort / "sessions.tsv"),
            "videos": str(cohort / "videos.tsv"),
        },
        "pose3d": {"calibrate": BOARD},
    }
    p = Paths()
    targets = [p.pose3d(*KEY), p.pose3d_qc(*KEY)]
    run = run_snakemake(repo, tmp_path, "--cores", "1", *targets, config=config)
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-4000:]
    assert "rule pose3d_calibrate:" in text and "rule pose3d_triangulate:" in text

    cal = read_calibration(paths.pose3d_calibration(*KEY))
    assert list(cal) == ["camA", "camB"] and not cal["camA"].tvec.any()
    cal_qc = json.loads(Path(paths.pose3d_calibration_qc(*KEY)).read_text())
    assert max(v["median"] for v in cal_qc["reprojection_error_px"].values()) < 0.5
    qc = json.loads(Path(paths.pose3d_qc(*KEY)).read_text())
    assert qc["reprojection_error_px"]["all"]["median"] < 1.5
    # 3D in the first camera's frame (the calibration's world): compare with the truth there
    xyz = load_pose(paths.pose3d(*KEY))["position"].values[..., 0].transpose(0, 2, 1)
    true = rig[0].to_camera_frame(truth.pose3d[truth.video_exposure_index])
    err = np.nanmedian(np.linalg.norm(xyz - true, axis=-1))
    print(
        json.dumps(
            {
                "calibration_qc": cal_qc["reprojection_error_px"],
                "triangulation_error_vs_truth_mm": round(float(err), 2),
            }
        )
    )
    assert err < 15.0
