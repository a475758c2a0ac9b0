"""The neural rules through Snakemake: planned, linted, run on a tiny cohort, rerun wisely."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_runner import TINY_SYNTH, run_snakemake

from brainbehave.align import load_aligned
from brainbehave.sync import read_sync

TARGET = "results/neural/rat01/ses01/aligned.nc"
TINY = {"synth": dict(TINY_SYNTH)}


def test_dry_run_plans_sync_and_align_per_session(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "2")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert out.count("rule neural_sync:") == 4 and out.count("rule neural_align:") == 4


def test_neural_rules_are_lint_clean(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "--lint")
    assert "neural.smk" not in run.stdout + run.stderr
    assert "rule neural_" not in run.stdout + run.stderr


def test_misspelt_neural_key_is_named(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "-n", config={"neural": {"bin_size": 0.1}})
    assert run.returncode != 0
    assert "unknown key(s) ['bin_size'] at 'neural'" in run.stdout + run.stderr


@pytest.mark.slow
def test_tiny_session_is_synced_and_aligned_then_reruns_only_align(
    repo: Path, tmp_path: Path
) -> None:
    run = run_snakemake(repo, tmp_path, "--cores", "2", TARGET, config=TINY)
    assert run.returncode == 0, run.stderr[-4000:]
    sync = read_sync(tmp_path / "results/neural/rat01/ses01/sync.json")
    assert sorted(sync) == ["camA", "camB"] and len(sync["camA"].dropped_exposures) == 1
    ds = load_aligned(tmp_path / TARGET)
    assert ds.sizes["channel"] == 10 and ds.attrs["neural_kind"] == "spike_counts"
    assert (tmp_path / "logs/neural_sync/rat01/ses01.log").read_text().count("ttl+frame_times") == 2

    changed = {**TINY, "neural": {"bin_s": 0.1}}
    plan = run_snakemake(repo, tmp_path, "-n", "--cores", "2", TARGET, config=changed)
    text = plan.stdout + plan.stderr
    assert plan.returncode == 0, text
    assert "rule neural_align" in text and "rule neural_sync" not in text
    assert "rule synth_session" not in text
