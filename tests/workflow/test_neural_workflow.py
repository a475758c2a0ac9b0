"""The neural rules through Snakemake: planned, linted, run on a tiny cohort, rerun wisely."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO
from workflow_runner import TINY_SYNTH, place_truth_pose, run_snakemake

from brainbehave.align import load_aligned
from brainbehave.sync import read_sync

TARGET = "results/neural/rat01/ses01/aligned.nc"
DERIVED = "results/neural/rat01/ses01/rat01_ses01_derived.nwb"
SOURCE_NWB = "results/synth/rat01/ses01/rat01_ses01.nwb"
# 8 s sessions (the behaviour rules' activity level needs a few seconds), one tiny model.
# The rerun check below assumes nobody edits the package while the test runs.
WITH_POSE = {
    "synth": {**TINY_SYNTH, "duration_s": 8},
    "behaviour": {"mae": {"enabled": False}},  # rules labels only: no MAE training
    "latents": {
        "seeds": [0],
        "null_controls": False,
        "models": {
            "tiny": {
                "kind": "contrastive",
                "conditional": "behaviour",
                "steps": 20,
                "batch_size": 32,
            }
        },
    },
}


def test_dry_run_plans_sync_align_and_derived_nwb_per_session(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "2")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert out.count("rule neural_sync:") == 4 and out.count("rule neural_align:") == 4
    assert out.count("rule neural_nwb:") == 4
    # the derived NWB waits for every enabled latent model's fit folder (one input per model,
    # not one per session: planning stays linear in sessions)
    inputs = [job.split("\n", 2)[1] for job in out.split("rule neural_nwb:")[1:]]
    assert all("results/latents/pivae/fit" in line for line in inputs)
    assert all(".embedding.nc" not in line for line in inputs)


def test_neural_rules_are_lint_clean(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "--lint")
    assert "neural.smk" not in run.stdout + run.stderr
    assert "rule neural_" not in run.stdout + run.stderr


def test_misspelt_neural_key_is_named(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", config={"neural": {"bin_size": 0.1}})
    assert run.returncode != 0
    assert "unknown key(s) ['bin_size'] at 'neural'" in run.stdout + run.stderr


@pytest.mark.slow
def test_tiny_session_is_aligned_with_behaviour_and_written_to_a_derived_nwb(
    repo: Path, tmp_path: Path
) -> None:
    place_truth_pose(tmp_path, WITH_POSE["synth"], [("rat01", "ses01"), ("rat01", "ses02")])
    nwb_hash = hashlib.sha256((tmp_path / SOURCE_NWB).read_bytes()).hexdigest()
    run = run_snakemake(repo, tmp_path, "--cores", "2", DERIVED, config=WITH_POSE)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    for rule in ("behaviour_rules", "neural_sync", "neural_align"):
        assert (tmp_path / f"logs/{rule}/rat01/ses01.log").is_file(), rule
    assert "rule pose2d_train:" not in run.stdout + run.stderr  # the placed pose was used
    sync = read_sync(tmp_path / "results/neural/rat01/ses01/sync.json")
    assert sorted(sync) == ["camA", "camB"] and len(sync["camA"].dropped_exposures) == 1
    ds = load_aligned(tmp_path / TARGET)
    assert ds.sizes["channel"] == 10 and ds.attrs["neural_kind"] == "spike_counts"
    assert {"pose_camA", "pose_camB", "pose_3d", "feature_speed"} <= set(ds.data_vars)
    assert ds["label_rules_action"].attrs["source"] == "rules"
    assert (ds["label_rules_action"].values >= 0).mean() > 0.9
    with NWBHDF5IO(tmp_path / DERIVED, "r") as io:
        nwbfile = io.read()
        behavior = nwbfile.processing["behavior"]
        assert {"PoseEstimation_camA", "PoseEstimation_camB", "PoseEstimation_3d"} <= set(
            behavior.data_interfaces
        )
        assert "behaviour_rules_action" in nwbfile.intervals
        assert "tiny_seed0" in nwbfile.processing["latents"].data_interfaces
        assert len(nwbfile.units) == 10
    found = inspect_nwbfile(nwbfile_path=tmp_path / DERIVED)
    assert not [m for m in found if m.importance == Importance.CRITICAL]
    assert hashlib.sha256((tmp_path / SOURCE_NWB).read_bytes()).hexdigest() == nwb_hash

    changed = {**WITH_POSE, "neural": {"bin_s": 0.1}}
    plan = run_snakemake(repo, tmp_path, "-n", "--cores", "2", DERIVED, config=changed)
    text = plan.stdout + plan.stderr
    assert plan.returncode == 0, text
    assert "rule neural_align" in text and "rule neural_nwb" in text
    assert "rule neural_sync" not in text and "rule synth_session" not in text, text
    assert "rule behaviour_rules" not in text, text
