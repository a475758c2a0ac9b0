"""Snakemake's between-workflow output cache: a second cohort folder reuses the trained MAE.

Two separate working folders hold the same inputs (the same 3D pose, byte for byte, where the
3D stage writes it) and the same config; both run with ``--cache`` and one
``SNAKEMAKE_OUTPUT_CACHE``. The first trains the behaviour MAE and stores it; the second
takes it from the cache instead of training, as its log shows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from workflow_runner import POSE3D_SYNTH, place_motion_pose3d, run_snakemake

from brainbehave.paths import Paths
from brainbehave.provenance import PACKAGE_ROOT

SYNTH = POSE3D_SYNTH
MAE = {"enabled": True, "steps": 3, "batch_size": 4, "window_frames": 48}
CONFIG = {"synth": SYNTH, "behaviour": {"mae": MAE}}
PATHS = Paths()
MODEL = PATHS.behaviour_mae_model()


def _cohort_folder(root: Path, source: Path | None) -> Path:
    """A working folder with the 3D pose of both sessions (copied from ``source`` if given)."""
    root.mkdir(parents=True)
    for j, session in enumerate(("ses01", "ses02")):
        if source is None:
            place_motion_pose3d(root, SYNTH, session, j)
            continue
        target = root / PATHS.pose3d("rat01", session)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / PATHS.pose3d("rat01", session), target)
    return root


@pytest.mark.slow
def test_second_cohort_folder_takes_the_trained_mae_from_the_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--cache` with no rule names (all eligible rules) goes last: it would take a target
    # given after it for a rule name
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(cache))
    # the cache key covers the code hash of every upstream rule: both folders import one
    # private copy of the package, so an edit elsewhere in the checkout cannot change it
    shutil.copytree(
        PACKAGE_ROOT, tmp_path / "pkg" / "brainbehave", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "pkg"))
    first = _cohort_folder(tmp_path / "lab_a", None)
    second = _cohort_folder(tmp_path / "lab_b", first)

    run_a = run_snakemake(repo, first, "--cores", "1", MODEL, "--cache", config=CONFIG)
    assert run_a.returncode == 0, (run_a.stdout + run_a.stderr)[-4000:]
    assert f"Moving output file {MODEL} to cache." in run_a.stderr
    assert (first / PATHS.cohort_log("behaviour_mae_train")).is_file()  # it trained here
    stored = [p for p in cache.iterdir() if p.suffix == ".pt"]
    assert len(stored) == 1

    run_b = run_snakemake(repo, second, "--cores", "1", MODEL, "--cache", config=CONFIG)
    assert run_b.returncode == 0, (run_b.stdout + run_b.stderr)[-4000:]
    assert f"Symlinking output file {MODEL} from cache." in run_b.stderr
    # no training here: no checkpoint, no training log
    assert not (second / PATHS.behaviour_mae_checkpoint()).exists()
    log = second / PATHS.cohort_log("behaviour_mae_train")
    assert not log.exists() or "trained" not in log.read_text()
    assert (second / MODEL).resolve() == stored[0].resolve()

    # without --cache the cache is not consulted (a plain run trains as before)
    dry = run_snakemake(repo, tmp_path / "lab_c", "-n", "--cores", "1", MODEL, config=CONFIG)
    assert "behaviour_mae_train" in dry.stdout + dry.stderr
