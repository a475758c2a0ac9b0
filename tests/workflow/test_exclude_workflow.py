"""A real run with one broken session left out by ``cohort.exclude``, cohort-level rules included.

The cohort is a tiny virtual-lab cohort written by `brainbehave synth` and read back through its
sheets, as a lab's own cohort would be, with each video's pose given as a DeepLabCut file (the
truth pose, so that no DeepLabCut model is trained). One session's NWB is cut short, as after an
interrupted copy; the config excludes it and the whole workflow (`rule all`: pose, neural,
behaviour, latent model, scorecard, cohort report) runs on the others.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workflow_runner import run_snakemake, synth_sheets_cohort, truncate

from brainbehave.paths import Paths

PATHS = Paths()
KEPT = ("ses01", "ses03")
BROKEN = "ses02"
MODEL = "tiny"


def _write_cohort(out: Path) -> Path:
    """Three 8 s sessions and their sheets (<out>/synth); the videos sheet gives each video a
    DeepLabCut pose file holding the virtual lab's true 2D pose."""
    from movement.io.save_poses import to_dlc_file

    from brainbehave.pose import pose_dataset
    from brainbehave.truth import read_truth

    cohort = synth_sheets_cohort(out, duration_s=8, n_units=20)
    videos = pd.read_csv(cohort / "videos.tsv", sep="\t")
    sessions = pd.read_csv(cohort / "sessions.tsv", sep="\t").set_index(["subject", "session"])
    poses = []
    for row in videos.itertuples():
        truth = read_truth(cohort / sessions.loc[(row.subject, row.session), "truth"])
        xy = truth.pose2d[row.camera][truth.video_exposure_index]
        confidence = np.ones(xy.shape[:-1])
        pose = pose_dataset(
            xy, confidence, truth.keypoints, truth.fps, source_software="truth", units="px"
        )
        name = Path(row.video).with_name(f"{row.camera}_dlc.h5")
        to_dlc_file(pose, cohort / name, split_individuals=False)
        poses.append(str(name))
    videos["pose"], videos["pose_format"] = poses, "dlc"
    videos.to_csv(cohort / "videos.tsv", sep="\t", index=False)
    return cohort


def _fingerprints(folder: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and mtime (ns) of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_excluded_broken_session_is_left_out_of_a_real_run(repo: Path, tmp_path: Path) -> None:
    cohort = _write_cohort(tmp_path / "cohort")
    nwb = cohort / "rat01" / BROKEN / f"rat01_{BROKEN}.nwb"
    truncate(nwb)  # an interrupted copy
    before = _fingerprints(cohort / "rat01" / BROKEN)
    config = {
        "cohort": {
            "source": "sheets",
            "sessions": str(cohort / "sessions.tsv"),
            "videos": str(cohort / "videos.tsv"),
            "exclude": [f"rat01/{BROKEN}"],
        },
        "behaviour": {"mae": {"enabled": False}},  # rule labels only: no MAE training
        "latents": {
            "seeds": [0],
            "models": {
                MODEL: {
                    "kind": "contrastive",
                    "conditional": "behaviour",
                    "steps": 20,
                    "batch_size": 32,
                }
            },
        },
    }
    work = tmp_path / "work"
    run = run_snakemake(repo, work, "--cores", "2", config=config)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "rule pose2d_train:" not in output and "rule pose2d_analyze:" not in output
    assert f"1 session(s) left out of this run: rat01/{BROKEN}" in output

    # the cohort-level outputs exist and cover the remaining sessions only
    card = json.loads((work / PATHS.latents_scorecard(MODEL)).read_text())
    assert sorted(card["sessions"]) == [f"rat01/{s}" for s in KEPT]
    embeddings = sorted(p.name for p in (work / PATHS.latents_fit_dir(MODEL)).glob("*.nc"))
    assert embeddings == [f"rat01.{s}.embedding.nc" for s in KEPT]
    report = (work / PATHS.report_html()).read_text()
    assert f"Left out by cohort.exclude: rat01/{BROKEN}." in report
    assert report.count(f"rat01/{BROKEN}") == 1  # named in that note only
    assert all(f"rat01/{s}" in report for s in KEPT)
    for session in KEPT:
        assert (work / PATHS.neural_aligned("rat01", session)).is_file()

    # nothing of the excluded session was made, and its files were not touched
    made = [p for p in work.rglob("*") if BROKEN in str(p.relative_to(work))]
    assert made == []
    assert _fingerprints(cohort / "rat01" / BROKEN) == before

    run = run_snakemake(repo, work, "-n", "--cores", "2", config=config)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "Nothing to be done" in run.stdout + run.stderr
