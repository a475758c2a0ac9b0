"""profiles/slurm against a real single-node SLURM cluster with accounting (conftest.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_runner import TINY_SYNTH, run_snakemake

from brainbehave.config import load_cohort

pytestmark = pytest.mark.slurm

RUN_TIMEOUT_S = 300
# What a test cluster needs on top of the site template profiles/slurm: its partition, small
# jobs and quick status checks, passed as the workflow profile on top of --profile.
TEST_PROFILE = {
    "default-resources": {"slurm_partition": "debug", "mem_mb": 500, "runtime": 10},
    "slurm-init-seconds-before-status-checks": 2,
    "latency-wait": 5,
    "retries": 0,
    "jobs": 4,
}

GPU_SNAKEFILE = """
rule all:
    input: "gpu.txt", "cpu.txt"

rule on_gpu:
    output: "gpu.txt"
    resources: gpu=1
    shell: "echo CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-none}} > {output}"

rule on_cpu:
    output: "cpu.txt"
    shell: "echo CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-none}} > {output}"
"""


def _profile_args(repo: Path, tmp_path: Path) -> list[str]:
    overlay = tmp_path / "test_profile"
    overlay.mkdir()
    (overlay / "config.yaml").write_text(yaml.safe_dump(TEST_PROFILE))
    return ["--profile", str(repo / "profiles" / "slurm"), "--workflow-profile", str(overlay)]


def _slurm_jobs(output: str) -> list[str]:
    """SLURM job IDs that Snakemake reported submitting."""
    ids = re.findall(r"submitted with SLURM jobid (\d+)", output)
    assert ids, f"Snakemake submitted no SLURM job:\n{output[-3000:]}"
    return ids


def _sacct(ids: list[str]) -> dict[str, dict[str, str]]:
    """sacct's record per job: state, comment (Snakemake's rule_<name>...), allocated TRES."""
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-j", ",".join(ids), "-o", "JobID,State,Comment,AllocTRES"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return {r[0]: {"state": r[1], "comment": r[2], "tres": r[3]} for r in rows}


def test_tiny_cohort_runs_through_the_slurm_profile(
    repo: Path, tmp_path: Path, slurm_cluster: Path
) -> None:
    targets = ("results/synth/sessions.tsv", "results/synth/dlc_project")
    run = run_snakemake(
        repo,
        tmp_path,
        *targets,
        *_profile_args(repo, tmp_path),
        config={"synth": dict(TINY_SYNTH)},
        timeout=RUN_TIMEOUT_S,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]

    jobs = _sacct(_slurm_jobs(output))
    rules = sorted(
        re.sub(r"^rule_([a-z0-9_]+?)(_wildcards_.*)?$", r"\1", j["comment"]) for j in jobs.values()
    )
    # two sessions and the DeepLabCut project went through SLURM; the sheets are a local rule
    assert rules == ["synth_dlc_project", "synth_session", "synth_session"], jobs
    assert {j["state"] for j in jobs.values()} == {"COMPLETED"}, jobs
    # synth_session asks for 3000 MB: the rule's own resources reach sbatch
    assert all("mem=3000M" in j["tres"] for j in jobs.values() if "synth_session" in j["comment"])

    results = tmp_path / "results" / "synth"
    cohort = load_cohort(results / "sessions.tsv", results / "videos.tsv", repo / "config/schemas")
    assert cohort.session_keys() == [("rat01", "ses01"), ("rat01", "ses02")]


def test_a_rule_that_needs_a_gpu_gets_one_from_slurm(
    repo: Path, tmp_path: Path, slurm_cluster: Path
) -> None:
    (tmp_path / "Snakefile").write_text(GPU_SNAKEFILE)
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--directory", str(tmp_path)]
        + ["--snakefile", str(tmp_path / "Snakefile"), *_profile_args(repo, tmp_path)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]

    jobs = {j["comment"]: j for j in _sacct(_slurm_jobs(output)).values()}
    assert set(jobs) == {"rule_on_gpu", "rule_on_cpu"}, jobs
    assert "gres/gpu=1" in jobs["rule_on_gpu"]["tres"]
    assert "gres/gpu" not in jobs["rule_on_cpu"]["tres"]
    assert (tmp_path / "gpu.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=0"
    assert (tmp_path / "cpu.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=none"
