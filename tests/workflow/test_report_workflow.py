"""The cohort report through Snakemake: planned by `rule all`, built for a tiny virtual-lab
cohort and opened in headless Chromium (Debian's `chromium`), as a user opens it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from workflow_runner import TINY_SYNTH, run_snakemake

from brainbehave.paths import Paths
from brainbehave.report import SECTIONS

PATHS = Paths()
REPORT = PATHS.report_html()
TINY = {
    "synth": {**TINY_SYNTH, "duration_s": 8, "n_units": 20},
    "behaviour": {"mae": {"enabled": False}},  # rules only: no MAE training (quick)
    # 4 labelled frames train no usable DeepLabCut model: keep every 2D point, so that the
    # downstream stages have something to draw (this test checks the report, not the pose)
    "pose2d": {"clean": {"likelihood_threshold": 0.0}},
    "pose3d": {"min_likelihood": 0.0, "threshold_px": None},
    "latents": {
        "seeds": [0],
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


def chromium() -> str:
    """Debian's chromium; installed with apt-get when missing and running as root."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and this user cannot apt-get install chromium")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            pytest.skip(f"could not install chromium ({' '.join(cmd)}): {done.stderr[-500:]}")
    return shutil.which("chromium") or pytest.skip("chromium not on PATH after installing it")


def headless(page: Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium without a display (no sandbox: tests may run as root in a container)."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_report_is_part_of_rule_all_and_says_what_the_demo_leaves_out(
    repo: Path, tmp_path: Path
) -> None:
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "2", "--printshellcmds")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "rule report_cohort:" in out and f"output: {REPORT}" in out
    # every session of the demo cohort goes in, with its QC inputs
    for subject, session in (("rat01", "ses01"), ("rat02", "ses02")):
        assert PATHS.pose3d_qc(subject, session) in out
        assert PATHS.neural_sync(subject, session) in out


@pytest.mark.slow
def test_tiny_cohort_report_renders_in_headless_chromium(repo: Path, tmp_path: Path) -> None:
    run = run_snakemake(repo, tmp_path, "--cores", "2", REPORT, config=TINY, timeout=1500)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    page = tmp_path / REPORT

    dom = headless(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for key, title in SECTIONS.items():
        assert f'id="{key}"' in dom.stdout and title in dom.stdout
    assert "rat01/ses01" in dom.stdout and "rat01/ses02" in dom.stdout
    # 2 ethograms + 2 skeleton snapshots + 1 embedding plot, all inline
    assert dom.stdout.count('src="data:image/png;base64,') == 5
    assert "Behaviour MAE disabled" in dom.stdout

    shot = tmp_path / "shot.png"
    done = headless(page, f"--screenshot={shot}", "--window-size=1200,3000")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    assert (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.3).mean() > 0.001  # colour drawn
    assert np.isfinite(pixels).all()

    # Snakemake's own report wraps the page (flagged with report()) with the run's provenance
    wrapped = tmp_path / "snakemake_report.html"
    done = run_snakemake(repo, tmp_path, "--report", str(wrapped), REPORT, config=TINY)
    assert done.returncode == 0 and "Report created." in done.stderr, done.stderr[-2000:]
    assert wrapped.stat().st_size > page.stat().st_size
