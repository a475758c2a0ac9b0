"""Snakemake on the real Snakefile: lint, dry run of the demo, a tiny cohort run for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_runner import TINY_SYNTH, run_snakemake

from brainbehave.config import load_cohort
from brainbehave.truth import read_truth

TINY = {"synth": dict(TINY_SYNTH)}
# The virtual lab's outputs only: the stages downstream have workflow tests of their own.
SYNTH_TARGETS = ("results/synth/sessions.tsv", "results/synth/dlc_project")


def test_dry_run_of_the_demo_plans_every_session(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "2")
    assert run.returncode == 0, run.stderr
    out = run.stdout + run.stderr
    # 2 subjects x 2 sessions by default, one DeepLabCut project, one pair of sheets
    assert out.count("rule synth_session:") == 4
    assert out.count("rule synth_dlc_project:") == 1 and out.count("rule synth_sheets:") == 1


def test_lint_is_clean(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "--lint")
    assert run.returncode == 0, run.stdout + run.stderr


def test_misspelt_config_key_stops_the_run_with_its_name(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", config={"synth": {"duraton_s": 5}})
    assert run.returncode != 0
    assert "unknown key(s) ['duraton_s'] at 'synth'" in run.stderr + run.stdout


@pytest.mark.slow
def test_tiny_cohort_runs_and_reruns_only_what_changed(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, *SYNTH_TARGETS, "--cores", "2", config=TINY)
    assert run.returncode == 0, run.stderr[-4000:]
    results = tmp_path / "results" / "synth"
    truth = read_truth(results / "rat01" / "ses02" / "truth.h5")
    assert truth.cameras == ["camA", "camB"] and truth.pose3d.shape[0] == 90
    assert (results / "dlc_project" / "config.yaml").is_file()
    cohort = load_cohort(results / "sessions.tsv", results / "videos.tsv", repo / "config/schemas")
    assert cohort.session_keys() == [("rat01", "ses01"), ("rat01", "ses02")]
    assert (tmp_path / "logs" / "synth_session" / "rat01" / "ses01.log").is_file()

    noop = run_snakemake(repo, tmp_path, *SYNTH_TARGETS, "-n", "--cores", "2", config=TINY)
    assert noop.returncode == 0 and "Nothing to be done" in noop.stdout + noop.stderr

    # A DeepLabCut-project setting reruns the project only, not the sessions.
    changed = {"synth": {**TINY["synth"], "dlc_labelled_frames": 6}}
    plan = run_snakemake(repo, tmp_path, *SYNTH_TARGETS, "-n", "--cores", "2", config=changed)
    text = plan.stdout + plan.stderr
    assert plan.returncode == 0, text
    assert "rule synth_dlc_project" in text and "rule synth_session" not in text
