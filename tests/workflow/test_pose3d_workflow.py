"""Snakemake runs pose3d_triangulate on 2D pose files placed where the 2D stage writes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from workflow_runner import run_snakemake

from brainbehave.paths import Paths
from brainbehave.pose import load_pose, pose_dataset, save_pose
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings

SYNTH = {
    "seed": 5,
    "subjects": 1,
    "sessions_per_subject": 2,
    "duration_s": 2,
    "cameras": 3,
    "image_size": [320, 240],
    "n_units": 5,
    "dropped_frames": 0,
    "dlc_labelled_frames": 2,
}
CONFIG = {"synth": SYNTH, "pose3d": {"filter": "median", "threshold_px": 8}}
SESSIONS = ("ses01", "ses02")


def _place_inputs(workdir: Path) -> list:
    """The virtual lab's sessions, plus 2D pose (truth + 0.5 px noise) at the pose2d paths."""
    settings = SynthSettings.from_mapping(SYNTH)
    paths = Paths(results=str(workdir / "results"))
    rng = np.random.default_rng(0)
    truths = []
    for session in SESSIONS:
        truth = generate_session(
            settings, "rat01", session, SessionFiles.from_paths(paths, settings, "rat01", session)
        )
        frames = truth.video_exposure_index
        for cam in truth.cameras:
            uv = truth.pose2d[cam][frames] + rng.normal(0, 0.5, truth.pose2d[cam][frames].shape)
            ds = pose_dataset(
                uv, None, truth.keypoints, truth.fps, source_software="test", units="px", camera=cam
            )
            save_pose(ds, paths.pose2d("rat01", session, cam))
        truths.append(truth)
    return truths


def _targets(paths: Paths) -> list[str]:
    return [p for s in SESSIONS for p in (paths.pose3d("rat01", s), paths.pose3d_qc("rat01", s))]


def test_dry_run_plans_one_triangulation_per_session(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "1", *_targets(Paths()), config=CONFIG)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (run.stdout + run.stderr).count("rule pose3d_triangulate:") == 2


@pytest.mark.slow
def test_triangulation_rule_writes_pose3d_and_qc(repo: Path, tmp_path: Path) -> None:
    truths = _place_inputs(tmp_path)
    args = (*_targets(Paths()), "--cores", "1")
    run = run_snakemake(repo, tmp_path, *args, config=CONFIG)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    for session, truth in zip(SESSIONS, truths, strict=True):
        ds = load_pose(tmp_path / Paths().pose3d("rat01", session))
        assert ds.attrs["units"] == "mm" and ds.attrs["session"] == session
        xyz = ds["position"].values[..., 0].transpose(0, 2, 1)
        true = truth.pose3d[truth.video_exposure_index]
        assert np.nanmedian(np.linalg.norm(xyz - true, axis=-1)) < 5.0  # 320x240 px images
        qc = json.loads((tmp_path / Paths().pose3d_qc("rat01", session)).read_text())
        assert qc["reprojection_error_px"]["all"]["median"] < 1.5 and qc["filter"] == "median"
        log = tmp_path / "logs" / "pose3d_triangulate" / "rat01" / f"{session}.log"
        assert "Triangulated" in log.read_text()
    noop = run_snakemake(repo, tmp_path, "-n", *args, config=CONFIG)
    assert "Nothing to be done" in noop.stdout + noop.stderr
