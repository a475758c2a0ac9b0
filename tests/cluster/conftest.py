"""A real single-node SLURM cluster (tests/cluster/slurm_cluster.sh) for the session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# The shared Snakemake runner lives beside the workflow tests (no package: pytest's rootdir-less
# import mode puts only this folder on sys.path).
sys.path.insert(0, str(HERE.parent / "workflow"))

SCRIPT = HERE / "slurm_cluster.sh"
START_TIMEOUT_S = 420  # a first start installs Debian's packages (apt-get update + install)


def _can_start() -> str | None:
    """Why no cluster can be started here, or None."""
    if sys.platform != "linux":
        return "needs Linux"
    if shutil.which("slurmctld") and shutil.which("slurmdbd"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "SLURM is not installed and this user cannot apt-get install slurm-wlm"
    return None


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Start the cluster (installing its packages if needed); SLURM_CONF points clients at it."""
    reason = _can_start()
    if reason:
        pytest.skip(reason)
    scratch = tmp_path_factory.mktemp("slurm")
    start = subprocess.run(
        ["bash", str(SCRIPT), "start", str(scratch)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        check=False,
    )
    if start.returncode == 3:  # a site SLURM owns /etc/slurm/slurm.conf: leave it alone
        pytest.skip(start.stderr.strip())
    if start.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop", str(scratch)], timeout=120, check=False)
        pytest.fail(f"The test SLURM cluster did not start:\n{start.stdout}\n{start.stderr}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLURM_CONF", str(scratch / "etc" / "slurm.conf"))
        try:
            yield scratch
        finally:
            subprocess.run(
                ["bash", str(SCRIPT), "stop", str(scratch)],
                capture_output=True,
                timeout=120,
                check=False,
            )
