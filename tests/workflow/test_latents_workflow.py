"""The latent-model rules through Snakemake: planned, linted, config checked, run tiny."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from workflow_runner import place_truth_pose, run_snakemake

TINY = {
    "synth": {
        "seed": 3,
        "subjects": 2,
        "sessions_per_subject": 1,
        "duration_s": 8,
        "cameras": 2,
        "image_size": [96, 72],
        "n_units": 20,
        "dropped_frames": 1,
        "dlc_labelled_frames": 4,
    },
    "behaviour": {"mae": {"enabled": False}},  # rule labels only: no MAE training
    "latents": {
        "seeds": [0, 1],
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


def test_dry_run_plans_one_fit_and_one_scorecard_per_model(repo: Path, tmp_path: Path) -> None:
    targets = [f"results/latents/{m}/scorecard.json" for m in ("contrastive", "hybrid", "pivae")]
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "2", *targets)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert out.count("rule latents_fit:") == 3 and out.count("rule latents_score:") == 3
    # one output per fit (an archive), unpacked to one folder that the scorecard reads
    assert out.count("rule latents_unpack:") == 3
    assert "output: results/latents/pivae/fit.tar\n" in out
    assert "input: results/latents/pivae/fit\n" in out
    assert ".embedding.nc" not in out


def test_latents_rules_are_lint_clean(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "--lint")
    assert "latents.smk" not in run.stdout + run.stderr
    # (Snakemake also names latents_fit in a note that it is eligible for caching)
    assert "Lints for rule latents_" not in run.stdout + run.stderr


def test_misspelt_or_misplaced_model_setting_is_named(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", config={"latents": {"sedes": [0]}})
    assert run.returncode != 0
    assert "unknown key(s) ['sedes'] at 'latents'" in run.stdout + run.stderr
    bad = {"latents": {"models": {"m": {"kind": "contrastive", "beta": 2.0}}}}
    run = run_snakemake(repo, tmp_path, "-n", config=bad)
    assert run.returncode != 0
    assert "['beta'] do not apply to a contrastive model" in run.stdout + run.stderr


def test_gpu_switch_adds_the_gpu_resource(repo: Path, tmp_path: Path) -> None:
    target = "results/latents/contrastive/fit"
    run = run_snakemake(
        repo, tmp_path, "-n", "--cores", "2", target, config={"latents": {"gpu": True}}
    )
    assert run.returncode == 0, run.stderr
    assert "gpu=1" in run.stdout + run.stderr


@pytest.mark.slow
def test_tiny_cohort_is_fitted_and_scored(repo: Path, tmp_path: Path) -> None:
    target = "results/latents/tiny/scorecard.json"
    # truth pose in place: the tiny cohort's DeepLabCut model (4 labelled frames) cannot
    # feed the behaviour labels that the aligned datasets now carry
    place_truth_pose(tmp_path, TINY["synth"], [("rat01", "ses01"), ("rat02", "ses01")])
    run = run_snakemake(repo, tmp_path, "--cores", "2", target, config=TINY)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "rule pose2d_train:" not in run.stdout + run.stderr
    card = json.loads((tmp_path / target).read_text())
    assert sorted(card["sessions"]) == ["rat01/ses01", "rat02/ses01"]
    summary = card["summary"]
    assert summary["seed_consistency"] is not None and summary["identifiability_r2"] is not None
    assert "time_shifted" in card["sessions"]["rat01/ses01"]["null_controls"]
    assert (tmp_path / "results/latents/tiny/embeddings.png").stat().st_size > 1000
    fit = (tmp_path / "results/latents/tiny/fit").iterdir()  # Snakemake adds a hidden stamp
    assert sorted(p.name for p in fit if not p.name.startswith(".")) == [
        "model.pt",
        "rat01.ses01.embedding.nc",
        "rat02.ses01.embedding.nc",
    ]


def test_discrete_label_model_and_checkpoint_setting_are_accepted(repo: Path, tmp_path: Path):
    levels = {"kind": "contrastive", "conditional": "discrete", "levels": ["label_rules_action"]}
    config = {"latents": {"checkpoint_every": 50, "models": {"levels": levels}}}
    target = "results/latents/levels/fit"
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "2", target, config=config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "rule latents_fit:" in run.stdout + run.stderr
    bad = {"latents": {"models": {"levels": {**levels, "levels": ["rules_action"]}}}}
    run = run_snakemake(repo, tmp_path, "-n", target, config=bad)
    assert run.returncode != 0 and "rules_action" in run.stdout + run.stderr
