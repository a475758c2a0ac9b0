"""Snakemake's between-workflow output cache: a second cohort folder reuses expensive outputs.

Two separate working folders hold the same inputs and the same config; both run with
``--cache`` and one ``SNAKEMAKE_OUTPUT_CACHE``. The first computes and stores the outputs of
the cacheable rules; the second takes them from the cache instead of running those rules, as
its log shows: the behaviour MAE (both folders hold the same 3D pose, byte for byte), the
DeepLabCut model and every video's 2D pose (both run the same virtual lab), and a latent model
with its embeddings, as one archive (both hold the same aligned sessions).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from test_latents_resume import _cohort as _aligned_cohort  # its sheets cohort, aligned files
from workflow_runner import POSE3D_SYNTH, TINY_SYNTH, place_motion_pose3d, run_snakemake

from brainbehave.paths import Paths
from brainbehave.pose import load_pose
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


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty output cache, and a private copy of the package for the runs to import.

    The cache key covers the code hash of every upstream rule: both folders import one private
    copy of the package, so an edit elsewhere in the checkout cannot change it mid-test.
    """
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(cache))
    shutil.copytree(
        PACKAGE_ROOT, tmp_path / "pkg" / "brainbehave", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "pkg"))
    return cache


def _ran(workdir: Path, log: str) -> bool:
    """Whether a rule's script wrote its log in ``workdir`` (a job taken from the cache
    runs no script)."""
    path = workdir / log
    return path.exists() and path.stat().st_size > 0


@pytest.mark.slow
def test_second_cohort_folder_takes_the_trained_mae_from_the_cache(
    repo: Path, tmp_path: Path, cache: Path
) -> None:
    # `--cache` with no rule names (all eligible rules) goes last: it would take a target
    # given after it for a rule name
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


POSE2D_CONFIG = {
    "synth": {**TINY_SYNTH, "sessions_per_subject": 1},
    "pose2d": {"train": {"epochs": 1, "device": "cpu"}, "threads": {"train": 1}},
}
CAMERAS = ("camA", "camB")


@pytest.mark.slow
def test_second_cohort_folder_takes_the_dlc_model_and_2d_pose_from_the_cache(
    repo: Path, tmp_path: Path, cache: Path
) -> None:
    raw = [PATHS.pose2d_raw("rat01", "ses01", cam) for cam in CAMERAS]
    first, second = tmp_path / "lab_a", tmp_path / "lab_b"
    run_a = run_snakemake(repo, first, "--cores", "2", *raw, "--cache", config=POSE2D_CONFIG)
    assert run_a.returncode == 0, (run_a.stdout + run_a.stderr)[-4000:]
    assert f"Moving output file {PATHS.pose2d_model_archive()} to cache." in run_a.stderr
    assert f"Moving output file {PATHS.pose2d_evaluation()} to cache." in run_a.stderr
    assert "Epoch 1/1" in (first / PATHS.cohort_log("pose2d_train")).read_text()
    for cam, path in zip(CAMERAS, raw, strict=True):
        assert f"Moving output file {path} to cache." in run_a.stderr
        # inference logged its progress: frames done / total and the rate
        log = (first / PATHS.session_log("pose2d_analyze", "rat01", f"ses01_{cam}")).read_text()
        assert f"rat01/ses01 camera {cam}: 0/" in log and "frames/s" in log
        assert "(100%)" in log and "(finished)" in log
    # one entry per video: nothing in the key may confuse the two cameras of one session
    assert len([p for p in cache.iterdir() if p.name.endswith("_raw.nc")]) == len(CAMERAS)
    assert len([p for p in cache.iterdir() if p.name.endswith("_dlc.h5")]) == len(CAMERAS)

    run_b = run_snakemake(repo, second, "--cores", "2", *raw, "--cache", config=POSE2D_CONFIG)
    assert run_b.returncode == 0, (run_b.stdout + run_b.stderr)[-4000:]
    for path in (PATHS.pose2d_model_archive(), PATHS.pose2d_evaluation()):
        assert f"Symlinking output file {path} from cache." in run_b.stderr
    assert not _ran(second, PATHS.cohort_log("pose2d_train"))
    assert not (second / PATHS.pose2d_model_training()).exists()  # no training started here
    # the model folder DeepLabCut reads is this folder's own, unpacked from the cached archive
    config = yaml.safe_load((second / PATHS.pose2d_model() / "config.yaml").read_text())
    assert config["project_path"] == str(second / PATHS.pose2d_model())
    for cam, path in zip(CAMERAS, raw, strict=True):
        assert f"Symlinking output file {path} from cache." in run_b.stderr
        assert not _ran(second, PATHS.session_log("pose2d_analyze", "rat01", f"ses01_{cam}"))
        assert (second / path).resolve() == (first / path).resolve()  # both the cached file
        assert load_pose(second / path).attrs["camera"] == cam
    # and a rerun there has nothing to do (a restored folder would look stale: snakemake#3097)
    again = run_snakemake(repo, second, "-n", "--cores", "2", *raw, "--cache", config=POSE2D_CONFIG)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


LATENTS_CONFIG = {
    "cohort": {"source": "sheets", "sessions": "data/sessions.tsv", "videos": "data/videos.tsv"},
    "latents": {
        "seeds": [0],
        "null_controls": False,
        "models": {"tiny": {"kind": "contrastive", "steps": 20, "batch_size": 32}},
    },
}


@pytest.mark.slow
def test_second_cohort_folder_takes_a_latent_model_and_its_embeddings_from_the_cache(
    repo: Path, tmp_path: Path, cache: Path, shared_data: Path
) -> None:
    first, second = tmp_path / "lab_a", tmp_path / "lab_b"
    _aligned_cohort(first, shared_data / "eks_fly_3cam/calibration.toml")
    shutil.copytree(first, second)  # the same aligned sessions and sheets, byte for byte
    # one cached output per model: the fit archive (the model and every session's embeddings)
    archive, fit = PATHS.latents_fit_archive("tiny"), PATHS.latents_fit_dir("tiny")
    # only the fit (and its unpacking) runs: the sheets' NWB and video files are placeholders
    only = ("--allowed-rules", "latents_fit", "latents_unpack")
    run_a = run_snakemake(
        repo, first, "--cores", "1", archive, *only, "--cache", config=LATENTS_CONFIG
    )
    assert run_a.returncode == 0, (run_a.stdout + run_a.stderr)[-4000:]
    assert _ran(first, PATHS.model_log("latents_fit", "tiny"))
    assert f"Moving output file {archive} to cache." in run_a.stderr
    # the second lab's files are newer than the first lab's fit, as when it aligns its sessions
    # later: a cached folder would now look older than its inputs (snakemake#3097)
    for path in second.rglob("*"):
        os.utime(path)
    run_b = run_snakemake(
        repo, second, "--cores", "1", fit, *only, "--cache", config=LATENTS_CONFIG
    )
    assert run_b.returncode == 0, (run_b.stdout + run_b.stderr)[-4000:]
    assert f"Symlinking output file {archive} from cache." in run_b.stderr
    assert (second / archive).resolve() == (first / archive).resolve()
    assert not _ran(second, PATHS.model_log("latents_fit", "tiny"))
    # unpacked there: the model and both sessions' embeddings
    files = [PATHS.latents_model("tiny")] + [
        PATHS.latents_embedding("tiny", subject, "ses01") for subject in ("rat01", "rat02")
    ]
    assert all((second / path).stat().st_size > 0 for path in files)
    again = run_snakemake(
        repo, second, "-n", "--cores", "1", fit, *only, "--cache", config=LATENTS_CONFIG
    )
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
