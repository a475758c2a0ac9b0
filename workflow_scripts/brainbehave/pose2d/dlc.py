"""DeepLabCut 3 (PyTorch engine): training dataset, model initialisation, training, evaluation.

A lab's project is never modified: :func:`train_model` copies its ``config.yaml`` and
``labeled-data`` into the model folder (the rule's output) and trains there, so the model
folder is a self-contained DeepLabCut project that :mod:`brainbehave.pose2d.analyze` points
``analyze_videos`` at. ``deeplabcut`` is imported inside the functions that need it (the import
takes 5-9 s and 1.5 GB).

From-scratch initialisation (works offline) follows what DeepLabCut 3.0.2 actually honours:
``pretrained: false`` in ``pytorch_config.yaml`` is overwritten and the hub is still called,
so the model is built with ``PoseModel.build(..., pretrained_backbone=False)``, its weights are
saved as a snapshot and training starts from that snapshot (``weight_init``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from brainbehave import provenance
from brainbehave.atomic import write_text
from brainbehave.errors import InputDataError
from brainbehave.logs import keep_root_logging
from brainbehave.pose2d.project import (
    check_bodyparts,
    copy_project,
    labelled_frame_sizes,
    n_labelled_frames,
    read_project,
    split_indices,
)
from brainbehave.pose2d.resume import latest_snapshot, prune_snapshots, training_fingerprint
from brainbehave.pose2d.runtime import evaluation_runtime, training_runtime
from brainbehave.pose2d.train_settings import TrainSettings
from brainbehave.pose2d.weights import check_backbone_weights

logger = logging.getLogger(__name__)

MODEL_INFO = "brainbehave_model.json"
TRAINING_STATE = "brainbehave_training.json"
_DLC_VERSIONS = ("deeplabcut", "torch", "numpy", "opencv-python-headless")


@contextlib.contextmanager
def output_to_log(log_path: str | Path) -> Iterator[None]:
    """Send what DeepLabCut prints (progress bars, configs) to the rule's log, not the terminal.

    The log is opened for appending, after :func:`brainbehave.logs.rule_logging` created it.
    """
    with (
        open(log_path, "a", encoding="utf-8", buffering=1) as fh,
        contextlib.redirect_stdout(fh),
        contextlib.redirect_stderr(fh),
    ):
        yield


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is visible, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def set_threads(threads: int) -> None:
    """Limit torch (and OpenMP) to the cores the rule owns."""
    import torch

    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(max(1, int(threads)))


# -- dataset, model, training, evaluation ---------------------------------------------------
def model_folder(config_path: str | Path, settings: TrainSettings) -> Path:
    """The shuffle's model folder (``dlc-models-pytorch/iteration-N/...``), absolute."""
    from deeplabcut.core.engine import Engine
    from deeplabcut.utils.auxiliaryfunctions import get_model_folder

    cfg = read_project(config_path)
    fraction = cfg["TrainingFraction"][0]
    rel = get_model_folder(fraction, settings.shuffle, cfg, engine=Engine.PYTORCH)
    return Path(config_path).parent / rel


def create_dataset(config_path: str | Path, settings: TrainSettings) -> tuple[list, list]:
    """Create DeepLabCut's training dataset with an explicit train/test split."""
    import deeplabcut

    n = n_labelled_frames(config_path)
    train, test = split_indices(
        n, settings.train_fraction, settings.split_seed, settings.test_indices
    )
    # DeepLabCut names the shuffle after the split's real fraction and finds it through the
    # config's TrainingFraction[0] (trainingsetindex 0): make the two agree.
    cfg = read_project(config_path)
    cfg["TrainingFraction"] = [round(len(train) / n, 2)]
    Path(config_path).write_text(yaml.safe_dump(cfg, sort_keys=False))
    deeplabcut.create_training_dataset(
        str(config_path),
        Shuffles=[settings.shuffle],
        net_type=settings.net_type,
        trainIndices=[train],
        testIndices=[test],
        userfeedback=False,
    )
    logger.info(
        "training dataset: %d train / %d test frames, %s", len(train), len(test), settings.net_type
    )
    return train, test


def pose_config_path(config_path: str | Path, settings: TrainSettings) -> Path:
    """The shuffle's ``train/pytorch_config.yaml``, from which DeepLabCut builds the model."""
    return model_folder(config_path, settings) / "train" / "pytorch_config.yaml"


def read_pose_config(config_path: str | Path, settings: TrainSettings) -> dict[str, Any]:
    """The shuffle's ``pytorch_config.yaml`` as a dict (:func:`pose_config_path`)."""
    return yaml.safe_load(pose_config_path(config_path, settings).read_text())


def set_head_upsampling(config_path: str | Path, settings: TrainSettings) -> None:
    """Give the bodypart head ``settings.head_upsampling`` stride-2 deconvolutions.

    Written into the shuffle's ``pytorch_config.yaml``, which both the from-scratch snapshot
    and DeepLabCut's training build the model from. Channels halve at each layer (>= 64).
    """
    if settings.head_upsampling is None:
        return
    pose_cfg = read_pose_config(config_path, settings)
    head = pose_cfg["model"]["heads"]["bodypart"]
    n = settings.head_upsampling
    for key in ("heatmap_config", "locref_config"):
        first, last = head[key]["channels"][0], head[key]["channels"][-1]
        middle = [max(64, first // 2 ** (i + 1)) for i in range(n - 1)]
        head[key] = {"channels": [first, *middle, last], "kernel_size": [3] * n, "strides": [2] * n}
    pose_config_path(config_path, settings).write_text(yaml.safe_dump(pose_cfg, sort_keys=False))


def scratch_snapshot(config_path: str | Path, settings: TrainSettings) -> Path:
    """Randomly initialised weights of the shuffle's model, saved as a snapshot (no network)."""
    import torch
    from deeplabcut.pose_estimation_pytorch.models.model import PoseModel

    torch.manual_seed(settings.seed)
    model = PoseModel.build(
        read_pose_config(config_path, settings)["model"], pretrained_backbone=False
    )
    path = pose_config_path(config_path, settings).parent / "init-scratch.pt"
    torch.save({"model": model.state_dict()}, path)
    return path


FUSED_OPTIMIZERS = ("Adam", "AdamW")


def _optimizer_type(config_path: str | Path, settings: TrainSettings) -> str | None:
    """The optimizer named in the shuffle's ``pytorch_config.yaml`` (None if it has none)."""
    runner = read_pose_config(config_path, settings).get("runner") or {}
    return runner.get("optimizer", {}).get("type")


def train(
    config_path: str | Path,
    settings: TrainSettings,
    init_snapshot: Path | None,
    resume: tuple[Path, int] | None = None,
) -> None:
    """Train the shuffle's model (from `init_snapshot`, or DeepLabCut's pretrained backbone).

    Parameters
    ----------
    resume
        ``(snapshot, epoch)`` of an interrupted training: its weights, optimizer and scheduler
        state are loaded and only the remaining ``settings.epochs - epoch`` epochs run.
    """
    import deeplabcut

    updates: dict[str, Any] = {
        "data.train.crop_sampling": None,  # the default pads small frames to 448 px
        "train_settings.seed": settings.seed,
        "train_settings.dataloader_workers": settings.workers,
        # One evaluation on the test frames, after the last epoch. Evaluating every few epochs
        # let DeepLabCut pick its "best" snapshot by test-set mAP: the reported test error
        # then came from the frames that chose the model, and each evaluation cost ~2 s of
        # the demo's CPU training. The model analysed is now the last epoch's.
        "runner.eval_interval": settings.epochs,
        # Snapshots keep the optimizer's state: a killed training resumes where it stopped.
        "runner.snapshots.save_optimizer_state": True,
        # DeepLabCut's learning-rate steps sit at epochs 90 and 120, which a short CPU
        # training never reaches: step down at the same fractions of the epochs asked for.
        "runner.scheduler": {
            "type": "LRListScheduler",
            "params": {
                "lr_list": [[1e-4], [1e-5]],
                "milestones": [
                    max(1, int(0.75 * settings.epochs)),
                    max(2, int(0.9 * settings.epochs)),
                ],
            },
        },
    }
    if _optimizer_type(config_path, settings) in FUSED_OPTIMIZERS:
        # torch's fused Adam(W) kernel: the same update rule in one pass over the weights
        # (cspnext_s, 4.5 M weights, two CPU threads: 12.5 -> 3.5 ms per step).
        updates["runner.optimizer.params.fused"] = True
    if settings.scaling is not None:
        updates["data.train.affine.scaling"] = list(settings.scaling)
    if settings.crop is not None:
        # Crops centred near a random labelled keypoint (up to 40 % of the crop off it).
        width, height = settings.crop
        updates["data.train.crop_sampling"] = {
            "width": width,
            "height": height,
            "max_shift": 0.4,
            "method": "hybrid",
        }
    if init_snapshot is not None:
        updates["train_settings.weight_init"] = {
            "snapshot_path": str(Path(init_snapshot).absolute()),
            "with_decoder": False,
        }
    epochs, snapshot = settings.epochs, None
    if resume is not None:
        snapshot, done = resume
        # DeepLabCut trains `epochs` more epochs after the snapshot's own.
        epochs = settings.epochs - done
        logger.info("resuming training from %s (epoch %d of %d)", snapshot, done, settings.epochs)
    with keep_root_logging(), training_runtime(settings.autocast, settings.channels_last):
        deeplabcut.train_network(
            str(config_path),
            shuffle=settings.shuffle,
            device=resolve_device(settings.device),
            epochs=epochs,
            batch_size=settings.batch_size,
            save_epochs=settings.snapshot_epochs,
            max_snapshots_to_keep=2,
            snapshot_path=None if snapshot is None else str(snapshot),
            pytorch_cfg_updates=updates,
        )


# -- resuming --------------------------------------------------------------------------------
def _resumable(work: Path, fingerprint: str, settings: TrainSettings) -> tuple[Path, int] | None:
    """The interrupted training in `work` to resume, or None (then `work` is cleared)."""
    state = work / TRAINING_STATE
    if state.is_file() and json.loads(state.read_text()).get("fingerprint") == fingerprint:
        config = work / "config.yaml"
        last = latest_snapshot(model_folder(config, settings) / "train")
        if last is not None and 0 < last[1] <= settings.epochs:
            return last  # at settings.epochs: killed after training, before publishing
    if work.exists():
        logger.info("clearing %s (nothing to resume with these settings and labels)", work)
        shutil.rmtree(work)
    return None


def evaluation_batch_size(project_dir: str | Path, batch_size: int) -> int:
    """Frames per batch for DeepLabCut's evaluation: `batch_size` if all labelled frames share
    one size (a batch is one stacked tensor), else 1."""
    sizes = labelled_frame_sizes(project_dir)
    if len(sizes) > 1:
        logger.info("labelled frames of %d sizes: evaluating one at a time", len(sizes))
        return 1
    return max(1, int(batch_size))


def evaluate(config_path: str | Path, settings: TrainSettings) -> dict[str, float]:
    """DeepLabCut's evaluation of the last snapshot: train/test RMSE in px (and mAP).

    The network runs as it was trained (mixed precision and channels-last as in `settings`),
    ``settings.batch_size`` frames at a time when all labelled frames have one size.
    """
    import deeplabcut

    project = Path(config_path).parent
    batch = evaluation_batch_size(project, settings.batch_size)
    with evaluation_runtime(batch, settings.autocast, settings.channels_last):
        deeplabcut.evaluate_network(
            str(config_path), shuffles=[settings.shuffle], device=resolve_device(settings.device)
        )
    return evaluation_metrics(project, settings.shuffle)


def evaluation_metrics(project_dir: str | Path, shuffle: int) -> dict[str, float | None]:
    """Train/test RMSE (px), mAP and p-cutoff of the shuffle's latest DeepLabCut evaluation."""
    folder = Path(project_dir) / "evaluation-results-pytorch"
    found = sorted(folder.rglob(f"*shuffle{shuffle}_*-results.csv"), key=os.path.getmtime)
    if not found:
        raise RuntimeError(f"DeepLabCut wrote no evaluation results under {folder}.")
    row = pd.read_csv(found[-1]).iloc[-1]
    keys = (
        "train rmse",
        "test rmse",
        "train rmse_pcutoff",
        "test rmse_pcutoff",
        "train mAP",
        "test mAP",
    )
    return {k.replace(" ", "_"): _float_or_none(row.get(k)) for k in keys} | {
        "pcutoff": _float_or_none(row.get("pcutoff"))
    }


def _float_or_none(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def train_model(
    project_dir: str | Path,
    model_dir: str | Path,
    settings: TrainSettings,
    evaluation_json: str | Path,
    *,
    keypoints: Sequence[str] | None = None,
    threads: int = 1,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train a DeepLabCut model on a project's labelled frames and save its evaluation.

    Training runs in `work_dir` and is moved onto `model_dir` when it is finished. A training
    that was killed leaves `work_dir` behind with its snapshots (every
    ``settings.snapshot_epochs`` epochs, optimizer state included): the next call with the same
    settings and labels resumes from the latest snapshot instead of starting again.

    Parameters
    ----------
    project_dir
        The lab's (or the virtual lab's) DeepLabCut project; read only.
    model_dir
        Output folder, created: a self-contained copy of the project holding the model.
    settings
        Net type, initialisation, epochs, batch size, split, device.
    evaluation_json
        Output: DeepLabCut's train/test error in px, the split and the settings.
    keypoints
        Bodyparts the rest of the pipeline expects (None: accept the project's).
    threads
        Torch threads (the rule's ``threads``).
    work_dir
        Where training runs (None: ``.<model_dir name>.training`` beside `model_dir`). Not
        inside `model_dir`: Snakemake deletes a failed job's outputs.

    Returns
    -------
    dict
        What was written to `evaluation_json`.

    Raises
    ------
    ConfigError
        Bodyparts that differ from `keypoints`, or bad settings.
    MissingWeightsError
        ``init: pretrained`` without the weights on disk and no way to download them.
    """
    t0 = time.perf_counter()
    model_dir = Path(model_dir).absolute()
    work = (
        Path(work_dir).absolute()
        if work_dir
        else model_dir.with_name(f".{model_dir.name}.training")
    )
    project = read_project(Path(project_dir) / "config.yaml")
    check_bodyparts(project, keypoints, f"DeepLabCut project {project_dir}")
    set_threads(threads)
    fingerprint = training_fingerprint(project_dir, settings)
    resume = _resumable(work, fingerprint, settings)
    if resume is None:
        train_idx, test_idx, init = _prepare(project_dir, work, settings)
        write_text(
            work / TRAINING_STATE,
            json.dumps(
                {
                    "fingerprint": fingerprint,
                    "train": train_idx,
                    "test": test_idx,
                    "init": str(init) if init else None,
                }
            ),
        )
    state = json.loads((work / TRAINING_STATE).read_text())
    config = work / "config.yaml"
    if resume is None or resume[1] < settings.epochs:
        train(config, settings, Path(state["init"]) if state["init"] else None, resume)
    t_train = time.perf_counter() - t0
    metrics = evaluate(config, settings)
    # the resume points are of no use once training is done (~55 MB each, in the folder and
    # again in the cacheable archive): keep the snapshot evaluation and analysis load
    snapshot_index = read_project(config).get("snapshotindex", -1)
    prune_snapshots(model_folder(config, settings) / "train", snapshot_index)
    info = {
        "project": str(Path(project_dir).absolute()),
        "bodyparts": list(project["bodyparts"]),
        "n_train": len(state["train"]),
        "n_test": len(state["test"]),
        "test_indices": state["test"],
        "settings": settings.as_dict(),
        "threads": threads,
        "device": resolve_device(settings.device),
        "train_seconds": round(t_train, 1),
        "resumed_from_epoch": resume[1] if resume else None,
        "versions": provenance.versions(_DLC_VERSIONS),
        **metrics,
    }
    _publish(work, model_dir, info)
    write_text(evaluation_json, json.dumps(info, indent=2))
    logger.info(
        "trained %s (%s) %d epochs in %.0f s: train %.2f px, test %.2f px",
        settings.net_type,
        settings.init,
        settings.epochs,
        t_train,
        metrics["train_rmse"] or float("nan"),
        metrics["test_rmse"] or float("nan"),
    )
    return info


def _prepare(
    project_dir: str | Path, work: Path, settings: TrainSettings
) -> tuple[list[int], list[int], Path | None]:
    """Copy the project into `work`, create the training dataset and the initial weights."""
    config = copy_project(project_dir, work)
    train_idx, test_idx = create_dataset(config, settings)
    set_head_upsampling(config, settings)
    if settings.init == "scratch":
        return list(train_idx), list(test_idx), scratch_snapshot(config, settings)
    pose_cfg = read_pose_config(config, settings)
    check_backbone_weights(pose_cfg["model"]["backbone"], settings.net_type)
    return list(train_idx), list(test_idx), None


def _publish(work: Path, model_dir: Path, info: Mapping[str, Any]) -> None:
    """Move the finished training folder onto the model folder (one rename)."""
    (work / TRAINING_STATE).unlink()
    write_text(work / MODEL_INFO, json.dumps(info, indent=2))
    cfg = read_project(work / "config.yaml")
    cfg["project_path"] = str(model_dir)
    write_text(work / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    os.replace(work, model_dir)


def model_info(model_dir: str | Path) -> dict[str, Any]:
    """What :func:`train_model` recorded about a model folder."""
    path = Path(model_dir) / MODEL_INFO
    if not path.is_file():
        raise InputDataError(
            f"{model_dir} is not a model trained by brainbehave (no {MODEL_INFO}); run the "
            "pose2d_train rule, or point pose2d at a model folder it wrote."
        )
    return json.loads(path.read_text())
