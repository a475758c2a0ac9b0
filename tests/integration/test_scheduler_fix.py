"""A local run stays within --cores after a lone job (snakemake#3815 / #3913 work-around)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from brainbehave.scheduler_fix import fix_single_job_resource_leak, has_single_job_leak

# One lone job, then six one-thread jobs that record when they ran.
SNAKEFILE = """
from brainbehave.scheduler_fix import fix_single_job_resource_leak
if config["fix"]:
    fix_single_job_resource_leak()

rule all:
    input: expand("out/{i}.txt", i=range(6))

rule prepare:
    output: "common"
    shell: "touch {output}"

rule work:
    input: "common"
    output: "out/{i}.txt"
    threads: 1
    shell: "date +%s.%N > {output}; sleep 1.5; date +%s.%N >> {output}"
"""


def _most_at_once(workdir: Path) -> int:
    spans = [
        tuple(float(v) for v in p.read_text().split()) for p in sorted(workdir.glob("out/*.txt"))
    ]
    assert len(spans) == 6
    return max(sum(s <= t < e for s, e in spans) for t, _ in spans)


def _run(tmp_path: Path, fix: bool) -> int:
    workdir = tmp_path / ("fixed" if fix else "plain")
    workdir.mkdir()
    (workdir / "Snakefile").write_text(SNAKEFILE)
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--config", f"fix={fix}"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _most_at_once(workdir)


@pytest.mark.skipif(not has_single_job_leak(), reason="this Snakemake books lone jobs itself")
def test_a_lone_job_no_longer_lets_more_jobs_than_cores_run(tmp_path):
    # The installed Snakemake has the bug: three one-thread jobs at once on --cores 2.
    assert _run(tmp_path, fix=False) > 2
    assert _run(tmp_path, fix=True) <= 2


def test_the_fix_is_idempotent_and_only_where_needed():
    assert fix_single_job_resource_leak() == has_single_job_leak()
    assert fix_single_job_resource_leak() == has_single_job_leak()
