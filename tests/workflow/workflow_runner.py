"""Running the repository's Snakefile from tests: one helper and one tiny virtual-lab config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

# A virtual-lab cohort small enough for a workflow test (seconds per rule).
TINY_SYNTH = {
    "seed": 3,
    "subjects": 1,
    "sessions_per_subject": 2,
    "duration_s": 3,
    "cameras": 2,
    "image_size": [96, 72],
    "n_units": 10,
    "dropped_frames": 1,
    "dlc_labelled_frames": 4,
}


def run_snakemake(
    repo: Path, workdir: Path, *args: str, config: dict | None = None, timeout: int = 900
) -> subprocess.CompletedProcess:
    """Snakemake on the repository's Snakefile in ``workdir``.

    The Snakefile reads ``config/config.yaml`` in the working directory, as a user's would:
    the repository's (``config=None``) or ``config`` is written there first.
    """
    cfg = workdir / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    text = (repo / "config/config.yaml").read_text() if config is None else yaml.safe_dump(config)
    cfg.write_text(text)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile")]
    return subprocess.run(
        [*cmd, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"),
        timeout=timeout,
        check=False,
    )
