"""Snakemake lifts a one-camera session with a network trained on the triangulated sessions.

A cohort from sheets built of virtual-lab files: rat01/ses01 and rat01/ses02 filmed by three
cameras (triangulated; ses02 held out for the lifter's error), rat02/ses01 by camA alone
(lifted). 2D pose is the truth + 0.5 px noise, placed where the 2D stage writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workflow_runner import run_snakemake

from brainbehave.config import write_cohort_sheets
from brainbehave.paths import Paths
from brainbehave.pose import load_pose, pose_dataset, save_pose
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings

SYNTH = {
    "seed": 5,
    "subjects": 2,
    "sessions_per_subject": 2,
    "duration_s": 12,
    "cameras": 3,
    "image_size": [320, 240],
    "n_units": 5,
    "dropped_frames": 0,
    "dlc_labelled_frames": 2,
}
MULTI = [("rat01", "ses01"), ("rat01", "ses02")]
SINGLE = ("rat02", "ses01")
LIFT = {"steps": 400, "channels": 32, "batch_size": 16, "window": 32, "lr": 0.002}


def _config(workdir: Path, lift: dict | None = None) -> dict:
    return {
        "cohort": {
            "source": "sheets",
            "sessions": str(workdir / "cohort" / "sessions.tsv"),
            "videos": str(workdir / "cohort" / "videos.tsv"),
        },
        "pose3d": {"lift": {**LIFT, **(lift or {})}},
    }


def _place_inputs(workdir: Path) -> dict:
    """Virtual-lab sessions, their sheets, and 2D pose of the cameras the sheets list."""
    settings = SynthSettings.from_mapping(SYNTH)
    paths = Paths(results=str(workdir / "results"))
    rng = np.random.default_rng(0)
    sessions, videos, truths = [], [], {}
    for subject, session in [*MULTI, SINGLE]:
        files = SessionFiles.from_paths(paths, settings, subject, session)
        truth = generate_session(settings, subject, session, files)
        truths[(subject, session)] = truth
        sessions.append(
            {
                "subject": subject,
                "session": session,
                "nwb": str(files.nwb),
                "calibration": str(files.calibration),
                "fps": truth.fps,
                "sync_series": "video_frame_ttl",
                "truth": str(files.truth),
            }
        )
        cams = truth.cameras if (subject, session) in MULTI else ["camA"]
        frames = truth.video_exposure_index
        for cam in cams:
            videos.append(
                {
                    "subject": subject,
                    "session": session,
                    "camera": cam,
                    "video": str(files.videos[cam]),
                }
            )
            uv = truth.pose2d[cam][frames]
            uv = uv + rng.normal(0, 0.5, uv.shape)
            ds = pose_dataset(
                uv, None, truth.keypoints, truth.fps, source_software="test", units="px", camera=cam
            )
            save_pose(ds, paths.pose2d(subject, session, cam))
    write_cohort_sheets(
        pd.DataFrame(sessions),
        pd.DataFrame(videos),
        workdir / "cohort" / "sessions.tsv",
        workdir / "cohort" / "videos.tsv",
    )
    return truths


def _targets() -> list[str]:
    p = Paths()
    return [
        *(f for k in [*MULTI, SINGLE] for f in (p.pose3d(*k), p.pose3d_qc(*k))),
        p.pose3d_lift_model(),
        p.pose3d_lift_evaluation(),
    ]


@pytest.mark.slow
def test_one_camera_session_is_lifted_and_held_out_error_reported(
    repo: Path, tmp_path: Path
) -> None:
    truths = _place_inputs(tmp_path)
    config = _config(tmp_path)
    dry = run_snakemake(repo, tmp_path, "-n", "--cores", "1", *_targets(), config=config)
    text = dry.stdout + dry.stderr
    assert dry.returncode == 0, text[-4000:]
    assert text.count("rule pose3d_triangulate:") == 2 and text.count("rule pose3d_lift:") == 1
    assert "rule pose3d_lift_train:" in text and "rule pose2d_analyze:" not in text

    run = run_snakemake(repo, tmp_path, "--cores", "1", *_targets(), config=config)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    paths = Paths(results=str(tmp_path / "results"))
    evaluation = json.loads(Path(paths.pose3d_lift_evaluation()).read_text())
    assert evaluation["held_out_sessions"] == ["rat01/ses02"]
    assert evaluation["training_sessions"] == ["rat01/ses01"]
    held = evaluation["mean_over_cameras"]
    assert set(evaluation["per_camera"]) == {"camA", "camB", "camC"}
    # better than knowing nothing of the input (the mean training pose)
    assert held["mpjpe_mm"] < held["mean_pose_baseline_mpjpe_mm"]

    lifted = load_pose(paths.pose3d(*SINGLE))
    assert lifted.attrs["lifted"] == "true" and lifted.attrs["frame"] == "world"
    assert lifted.attrs["units"] == "mm" and lifted.attrs["camera"] == "camA"
    assert (lifted["position_sd"].values > 0).all()
    qc = json.loads(Path(paths.pose3d_qc(*SINGLE)).read_text())
    truth = truths[SINGLE]
    xyz = lifted["position"].values[..., 0].transpose(0, 2, 1)
    true = truth.pose3d[truth.video_exposure_index]
    body = np.linalg.norm(true - true.mean(axis=1, keepdims=True), axis=-1).mean()
    # in the world frame: the lifted body lies where the animal was (within a body length)
    assert np.nanmedian(np.linalg.norm(xyz - true, axis=-1)) < 2 * body
    assert qc["error_vs_truth"]["mpjpe_mm"] == pytest.approx(
        float(np.nanmean(np.linalg.norm((xyz - xyz[:, :1]) - (true - true[:, :1]), axis=-1))),
        rel=1e-3,
    )
    assert qc["points_lifted"] == qc["points"]
    # the triangulated sessions are untouched by the lifting
    tri = load_pose(paths.pose3d(*MULTI[0]))
    assert "lifted" not in tri.attrs and "reprojection_error" in tri
    print(
        json.dumps({"held_out": evaluation["per_camera"], "lifted_vs_truth": qc["error_vs_truth"]})
    )

    noop = run_snakemake(repo, tmp_path, "-n", "--cores", "1", *_targets(), config=config)
    assert "Nothing to be done" in noop.stdout + noop.stderr


def test_dry_run_refuses_lifting_without_a_multi_camera_session(repo: Path, tmp_path: Path) -> None:
    """A cohort of one-camera sessions only: a parse-time error says what to do."""
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    for name in ("s.nwb", "calibration.toml", "a.mp4"):
        (cohort / name).write_text("x")
    (cohort / "sessions.tsv").write_text(
        "subject\tsession\tnwb\tcalibration\nm1\td1\ts.nwb\tcalibration.toml\n"
    )
    (cohort / "videos.tsv").write_text("subject\tsession\tcamera\tvideo\nm1\td1\ttop\ta.mp4\n")
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "1", config=_config(tmp_path))
    assert run.returncode != 0
    assert "no session of the cohort has two or more cameras" in run.stdout + run.stderr
