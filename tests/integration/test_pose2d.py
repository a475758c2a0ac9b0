"""DeepLabCut for real on a tiny virtual-lab cohort: train once, analyse, import, clean, score.

The model is trained for one epoch (seconds): these tests check formats, file names and
errors, not accuracy (see test_pose2d_accuracy.py for that).
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from brainbehave.errors import ConfigError, InputDataError
from brainbehave.logs import rule_logging
from brainbehave.paths import Paths
from brainbehave.pose import load_pose, provenance_of, save_pose
from brainbehave.pose2d.accuracy import session_accuracy
from brainbehave.pose2d.analyze import analyze_video
from brainbehave.pose2d.clean import CleanSettings, clean_pose
from brainbehave.pose2d.dlc import TrainSettings, output_to_log, train_model
from brainbehave.pose2d.io import dlc_h5_to_pose
from brainbehave.synth.cohort import generate_cohort
from brainbehave.synth.settings import SynthSettings
from brainbehave.synth.skeleton import KEYPOINTS

TINY = SynthSettings(
    seed=5,
    subjects=1,
    sessions_per_subject=1,
    duration_s=2,
    cameras=2,
    image_size=(96, 72),
    n_units=5,
    dropped_frames=1,
    dlc_labelled_frames=16,
)


@pytest.fixture(scope="session")
def tiny_lab(tmp_path_factory) -> Paths:
    """A one-session, two-camera virtual-lab cohort with 96x72 videos."""
    return generate_cohort(TINY, tmp_path_factory.mktemp("lab"), jobs=1)


TRAIN_LOG: list[str] = []  # the tiny model's training log


@pytest.fixture(scope="session")
def tiny_model(tiny_lab: Paths, tmp_path_factory) -> Path:
    """A DeepLabCut model trained for one epoch on crops of the tiny cohort's labelled frames.

    Its log, written as the rule's wrapper writes it, is kept in ``TRAIN_LOG``."""
    out = tmp_path_factory.mktemp("pose2d")
    log = out / "train.log"
    with rule_logging(log), output_to_log(log):
        train_model(
            tiny_lab.synth_dlc_project(),
            out / "model",
            TrainSettings(epochs=1, batch_size=8, device="cpu", crop=(64, 48)),
            out / "evaluation.json",
            keypoints=KEYPOINTS,
        )
    TRAIN_LOG.append(log.read_text())
    return out / "model"


def test_training_saves_the_model_and_deeplabcuts_evaluation(tiny_model: Path) -> None:
    info = json.loads((tiny_model.parent / "evaluation.json").read_text())
    assert info["bodyparts"] == list(KEYPOINTS)
    assert info["n_train"] + info["n_test"] == 16 and info["n_test"] >= 1
    assert info["train_rmse"] > 0 and info["test_rmse"] > 0
    assert info["settings"]["net_type"] == "cspnext_s" and info["settings"]["init"] == "scratch"
    assert info["versions"]["deeplabcut"] == "3.0.2"
    # DeepLabCut's training re-configures the root logger: the rule's log still gets ours,
    # after what DeepLabCut printed (not over it)
    log = TRAIN_LOG[0]
    ours = [line for line in log.splitlines() if " INFO brainbehave." in line]
    assert all(line.startswith(time.strftime("%Y-")) for line in ours)  # whole lines
    assert any("training dataset:" in line for line in ours)
    assert "Epoch 1/1" in log and log.index("Epoch 1/1") < log.index("trained cspnext_s")
    assert "kept snapshot-" in log
    # DeepLabCut's evaluation: the tiny cohort's frames share one size, so eight at a time, in
    # float32 as trained, with the batch norms folded
    assert "evaluating 8 images at a time in float32" in log
    assert "inference model: 39 batch norms folded into their convolutions" in log
    # one snapshot left, the one analysis loads: the resume points were deleted
    (kept,) = tiny_model.glob("dlc-models-pytorch/*/*/train/snapshot-*.pt")
    assert torch.load(kept, map_location="cpu", weights_only=False)["model"]
    (pose_cfg,) = tiny_model.glob("dlc-models-pytorch/*/*/train/pytorch_config.yaml")
    pose_settings = yaml.safe_load(pose_cfg.read_text())
    crop = pose_settings["data"]["train"]["crop_sampling"]
    assert (crop["width"], crop["height"]) == (64, 48) and info["settings"]["crop"] == [64, 48]
    # DeepLabCut's AdamW, with torch's fused kernel
    optimizer = pose_settings["runner"]["optimizer"]
    assert optimizer["type"] == "AdamW" and optimizer["params"]["fused"] is True


def test_mixed_precision_analysis_matches_float32(
    tiny_lab: Paths, tiny_model: Path, tmp_path: Path
) -> None:
    video = tiny_lab.synth_video("rat01", "ses01", "camB")
    analyze_video(tiny_model, video, tmp_path / "fp32.h5")
    analyze_video(tiny_model, video, tmp_path / "bf16.h5", autocast=True)
    full, mixed = (pd.read_hdf(tmp_path / f).to_numpy() for f in ("fp32.h5", "bf16.h5"))
    assert full.shape == mixed.shape and np.isfinite(mixed).all()
    # the same peaks: a one-epoch model's flat heatmaps may tie, so compare the median
    assert np.median(np.abs(full - mixed)) < 0.5


def test_channels_last_analysis_matches_and_says_so(
    tiny_lab: Paths, tiny_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = tiny_lab.synth_video("rat01", "ses01", "camA")
    analyze_video(tiny_model, video, tmp_path / "nchw.h5")
    with caplog.at_level(logging.INFO, logger="brainbehave.pose2d"):
        analyze_video(tiny_model, video, tmp_path / "nhwc.h5", channels_last=True)
    assert "channels-last" in caplog.text  # DeepLabCut's runner factory was wrapped
    assert "39 batch norms folded" in caplog.text
    from deeplabcut.pose_estimation_pytorch.apis import utils as dlc_utils

    assert dlc_utils.get_pose_inference_runner.__name__ == "get_pose_inference_runner"
    nchw, nhwc = (pd.read_hdf(tmp_path / f).to_numpy() for f in ("nchw.h5", "nhwc.h5"))
    assert nchw.shape == nhwc.shape and np.isfinite(nhwc).all()
    assert np.median(np.abs(nchw - nhwc)) < 0.01  # float32 both: layout only


def test_analysis_writes_exactly_the_declared_files(
    tiny_lab: Paths, tiny_model: Path, tmp_path: Path
) -> None:
    video = tiny_lab.synth_video("rat01", "ses01", "camA")
    out = tmp_path / "rat01" / "ses01"
    info = analyze_video(
        tiny_model, video, out / "camA_dlc.h5", labeled_video=out / "camA_labeled.mp4"
    )
    assert sorted(p.name for p in out.iterdir()) == ["camA_dlc.h5", "camA_labeled.mp4"]
    table = pd.read_hdf(out / "camA_dlc.h5")
    assert len(table) == info.n_frames == 59  # 60 exposures, one dropped
    assert list(table.columns.get_level_values("bodyparts").unique()) == list(KEYPOINTS)
    assert list(table.columns.get_level_values("coords").unique()) == ["x", "y", "likelihood"]

    pose = dlc_h5_to_pose(out / "camA_dlc.h5", info.fps, camera="camA", n_frames=info.n_frames)
    cleaned = clean_pose(pose, CleanSettings())
    save_pose(cleaned, out / "camA.nc")
    back = load_pose(out / "camA.nc")
    assert back.attrs["camera"] == "camA" and back.attrs["fps"] == 30.0
    steps = [s["step"] for s in provenance_of(back)["steps"]]
    assert steps == ["import", "likelihood_threshold", "interpolate_gaps"]

    # the accuracy report runs end to end (a one-epoch model is not accurate: no threshold)
    save_pose(pose, out / "camA_raw.nc")
    table = session_accuracy(
        [out / "camA_raw.nc"], tiny_lab.synth_truth("rat01", "ses01"), tmp_path / "acc.tsv"
    )
    assert "all" in set(table["keypoint"]) and set(table["keypoint"]) <= {*KEYPOINTS, "all"}
    assert (table["camera"] == "camA").all() and (tmp_path / "acc.tsv").is_file()


def test_truncated_video_fails_before_deeplabcut_naming_camera_and_file(
    tiny_lab: Paths, tiny_model: Path, tmp_path: Path
) -> None:
    data = Path(tiny_lab.synth_video("rat01", "ses01", "camB")).read_bytes()
    broken = tmp_path / "camB.mp4"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputDataError, match=r"rat01/ses01 camera camB: video .*camB\.mp4"):
        analyze_video(tiny_model, broken, tmp_path / "camB_dlc.h5", where="rat01/ses01 camera camB")
    assert not (tmp_path / "camB_dlc.h5").exists()


def test_a_moved_model_folder_still_analyses(
    tiny_lab: Paths, tiny_model: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere" / "model"
    shutil.copytree(tiny_model, moved)
    info = analyze_video(moved, tiny_lab.synth_video("rat01", "ses01", "camB"), tmp_path / "b.h5")
    assert len(pd.read_hdf(tmp_path / "b.h5")) == info.n_frames


def test_project_bodyparts_that_differ_stop_training_at_once(
    tiny_lab: Paths, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"bodyparts .* differ from pose2d.keypoints"):
        train_model(
            tiny_lab.synth_dlc_project(),
            tmp_path / "model",
            TrainSettings(epochs=1),
            tmp_path / "e.json",
            keypoints=["nose", "tail_base"],
        )
    assert not (tmp_path / "model").exists()


_TRAIN_IN_CHILD = """
import sys
from brainbehave.pose2d.dlc import TrainSettings, output_to_log, train_model
project, model, work = sys.argv[1:4]
train_model(project, model, TrainSettings(epochs=6, save_every=1, device="cpu"),
            model + ".json", work_dir=work)
"""


def _a_complete_snapshot(work: Path) -> bool:
    for path in work.glob("dlc-models-pytorch/*/*/train/snapshot-*.pt"):
        try:
            torch.load(path, map_location="cpu", weights_only=False)
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError):
            continue  # still being written
        return True
    return False


def test_a_killed_training_resumes_from_its_latest_snapshot(
    tiny_lab: Paths, tmp_path: Path
) -> None:
    model, work = tmp_path / "model", tmp_path / "work"
    child = subprocess.Popen(
        [sys.executable, "-c", _TRAIN_IN_CHILD, tiny_lab.synth_dlc_project(), model, work],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not _a_complete_snapshot(work):
            assert child.poll() is None, "training ended before its first snapshot"
            assert time.monotonic() < deadline, "no snapshot after 300 s"
            time.sleep(0.05)
    finally:
        child.kill()  # as a scheduler kills a job past its time limit
        child.wait()
    assert not model.exists() and (work / "brainbehave_training.json").is_file()

    settings = TrainSettings(epochs=6, save_every=1, device="cpu")
    info = train_model(
        tiny_lab.synth_dlc_project(), model, settings, tmp_path / "e.json", work_dir=work
    )
    assert 1 <= info["resumed_from_epoch"] < 6
    assert not work.exists() and (model / "brainbehave_model.json").is_file()
    train_dir = next(model.glob("dlc-models-pytorch/*/*/train"))
    # DeepLabCut's log of the resumed run starts after the snapshot's epoch and ends at 6:
    # the remaining epochs ran, not six more
    epochs = pd.read_csv(train_dir / "learning_stats.csv")["step"].tolist()
    assert epochs[-1] == 6 and info["resumed_from_epoch"] + 1 in epochs
    # of its snapshots (every epoch, last two kept + best) only the one analysis loads is left
    (kept,) = train_dir.glob("snapshot-*.pt")
    last = torch.load(kept, map_location="cpu", weights_only=False)
    assert 1 <= last["metadata"]["epoch"] <= 6


def test_mixed_precision_channels_last_training_with_a_loader_process(
    tiny_lab: Paths, tmp_path: Path
) -> None:
    from deeplabcut.pose_estimation_pytorch.apis import training as dlc_training

    factory = dlc_training.build_training_runner
    log = tmp_path / "train.log"
    settings = TrainSettings(
        epochs=1,
        batch_size=8,
        device="cpu",
        crop=(64, 48),
        autocast=True,
        channels_last=True,
        workers=1,
    )
    with rule_logging(log), output_to_log(log):
        train_model(
            tiny_lab.synth_dlc_project(),
            tmp_path / "model",
            settings,
            tmp_path / "evaluation.json",
            keypoints=KEYPOINTS,
        )
    assert dlc_training.build_training_runner is factory  # nothing stays patched
    said = "in mixed precision (bfloat16 backbone, float32 heads) in channels-last memory layout"
    text = log.read_text()
    assert said in text
    # the evaluation ran the network as it was trained, eight frames at a time
    assert "evaluating 8 images at a time in mixed precision" in text
    assert "batch norms folded into their convolutions, channels-last memory layout" in text
    from deeplabcut.pose_estimation_pytorch.apis import evaluation as dlc_evaluation

    assert dlc_evaluation.get_inference_runners.__name__ == "get_inference_runners"
    info = json.loads((tmp_path / "evaluation.json").read_text())
    assert info["settings"]["autocast"] and info["settings"]["channels_last"]
    assert np.isfinite(info["test_rmse"]) and info["test_rmse"] > 0
    (kept,) = (tmp_path / "model").glob("dlc-models-pytorch/*/*/train/snapshot-*.pt")
    weights = torch.load(kept, map_location="cpu", weights_only=False)["model"]
    assert {v.dtype for v in weights.values() if v.is_floating_point()} == {torch.float32}
    (pose_cfg,) = (tmp_path / "model").glob("dlc-models-pytorch/*/*/train/pytorch_config.yaml")
    assert yaml.safe_load(pose_cfg.read_text())["train_settings"]["dataloader_workers"] == 1
