"""A latents_fit killed mid-training resumes from its checkpoint when Snakemake reruns it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from workflow_runner import run_snakemake

from brainbehave.align import CONTRACT_VERSION, contiguous_split, save_aligned
from brainbehave.paths import Paths

MODEL = "slow"
STEPS, EVERY = 600, 10
CONFIG = {
    "cohort": {"source": "sheets", "sessions": "data/sessions.tsv", "videos": "data/videos.tsv"},
    "latents": {
        "seeds": [0],
        "null_controls": False,
        "checkpoint_every": EVERY,
        # long enough that the kill lands mid-training, short enough for a test
        "models": {MODEL: {"kind": "contrastive", "steps": STEPS, "batch_size": 32}},
    },
}
SESSIONS = ("rat01", "rat02")
ONLY = ("--allowed-rules=latents_fit",)


def _cohort(workdir: Path, calibration: Path) -> None:
    """A sheets cohort whose aligned datasets exist already (place cells on a random walk).

    Only ``latents_fit`` is allowed to run (``--allowed-rules``), so the NWB and video files
    the sheets name are never read: the test exercises the latent rule alone, independent of
    the (slow) pose and behaviour stages upstream of a real aligned dataset.
    """
    data = workdir / "data"
    data.mkdir(parents=True)
    shutil.copy(calibration, data / "cal.toml")
    rows = ["subject\tsession\tnwb\tcalibration"]
    videos = ["subject\tsession\tcamera\tvideo"]
    for i, subject in enumerate(SESSIONS):
        (data / f"{subject}.nwb").write_bytes(b"")
        rows.append(f"{subject}\tses01\t{subject}.nwb\tcal.toml")
        for camera in ("Cam-A", "Cam-B"):  # cameras of the calibration file
            (data / f"{subject}_{camera}.mp4").write_bytes(b"")
            videos.append(f"{subject}\tses01\t{camera}\t{subject}_{camera}.mp4")
        _aligned(workdir / Paths().neural_aligned(subject, "ses01"), seed=i)
    (data / "sessions.tsv").write_text("\n".join(rows) + "\n")
    (data / "videos.tsv").write_text("\n".join(videos) + "\n")


def _aligned(path: Path, seed: int, n: int = 1500, units: int = 30) -> None:
    rng = np.random.default_rng(seed)
    pos = np.abs((np.cumsum(rng.normal(size=(n, 2)) * 0.05, 0) + 1) % 2 - 1)
    centres = rng.random((units, 2))
    rates = 0.2 + 2.0 * np.exp(-((pos[:, None] - centres[None]) ** 2).sum(-1) / 0.02)
    t = np.arange(n) * 0.05
    ds = xr.Dataset(
        {
            "neural": (("time", "channel"), rng.poisson(rates).astype(np.float32)),
            "bin_start": ("time", t - 0.025),
            "bin_stop": ("time", t + 0.025),
            "valid": ("time", np.ones(n, bool)),
            "split": ("time", contiguous_split(n, 0.2, 10)),
            "behaviour_position": (("time", "behaviour_position_dim"), pos),
        },
        coords={"time": t, "channel": np.arange(units)},
        attrs={"contract_version": CONTRACT_VERSION},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    save_aligned(ds, path)


def _start(repo: Path, workdir: Path, target: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile")]
    return subprocess.Popen(
        [*cmd, "--directory", str(workdir), "--cores", "1", *ONLY, target],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"),
        start_new_session=True,  # its own process group: the kill reaches the rule's script too
    )


def _wait_for(pattern: str, folder: Path, proc: subprocess.Popen, timeout: float) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if found := sorted(folder.glob(pattern)):
            return found
        time.sleep(0.05)
    return []


@pytest.mark.slow
def test_killed_fit_resumes_from_the_saved_step(
    repo: Path, tmp_path: Path, shared_data: Path
) -> None:
    _cohort(tmp_path, shared_data / "eks_fly_3cam/calibration.toml")
    target = f"results/latents/{MODEL}/fit.tar"
    run = run_snakemake(repo, tmp_path, "-n", *ONLY, target, config=CONFIG)  # writes the config
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-3000:]

    proc = _start(repo, tmp_path, target)
    checkpoints = tmp_path / f"results/latents/{MODEL}/checkpoints"
    try:
        saved = _wait_for("seed0-*.pt", checkpoints, proc, timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # as a preempted cluster job: no clean-up
        proc.wait()
    assert saved, "no checkpoint appeared before latents_fit ended"
    assert not (tmp_path / target).exists()

    run_snakemake(repo, tmp_path, "--unlock")
    run = run_snakemake(
        repo, tmp_path, "--cores", "1", "--rerun-incomplete", *ONLY, target, config=CONFIG
    )
    assert run.returncode == 0, run.stderr[-3000:]
    log = (tmp_path / f"logs/latents_fit/{MODEL}.log").read_text()
    resumed = re.search(r"resumed \S+ at step (\d+)", log)
    assert resumed, log[-2000:]
    step = int(resumed.group(1))
    assert 0 < step < STEPS and step % EVERY == 0
    # the rerun trained only the remaining steps, then cleaned its checkpoints up
    assert f"{STEPS - step} steps at" in log
    assert (tmp_path / target).is_file() and not checkpoints.exists()
