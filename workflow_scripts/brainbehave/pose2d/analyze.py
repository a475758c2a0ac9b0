"""Run a trained DeepLabCut model on one video, writing exactly the files a rule declares.

``deeplabcut.analyze_videos`` names its output after the video, the network, the project
date and the snapshot epoch; it is run into a private temporary folder beside the declared
output and its ``.h5`` is renamed to that output. The video is checked with OpenCV first, so a
truncated or empty video fails with a message naming the session, camera and file.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from brainbehave.errors import InputDataError
from brainbehave.pose2d.dlc import model_info, read_pose_config, resolve_device, set_threads
from brainbehave.pose2d.project import set_project_path
from brainbehave.pose2d.runtime import inference_runtime
from brainbehave.pose2d.train_settings import TrainSettings
from brainbehave.pose2d.video import VideoInfo, check_video

logger = logging.getLogger(__name__)


def _config_for(model_dir: Path) -> Path:
    """The model's ``config.yaml``, its ``project_path`` updated if the folder was moved."""
    path = model_dir / "config.yaml"
    if set_project_path(path, model_dir):
        logger.warning("model folder moved: set project_path to %s", model_dir)
    return path


def analyze_video(
    model_dir: str | Path,
    video: str | Path,
    out_h5: str | Path,
    *,
    batch_size: int = 8,
    device: str = "auto",
    threads: int = 1,
    labeled_video: str | Path | None = None,
    autocast: bool = False,
    channels_last: bool = False,
    where: str = "video",
) -> VideoInfo:
    """Predict 2D pose on a video with a model from :func:`~brainbehave.pose2d.dlc.train_model`.

    Parameters
    ----------
    model_dir
        The model folder (the ``pose2d_train`` rule's output).
    video
        The video; checked with OpenCV before DeepLabCut runs.
    out_h5
        Where DeepLabCut's ``.h5`` goes (renamed from its dated name).
    batch_size, device, threads
        Inference batch size, ``auto``/``cpu``/``cuda``, torch threads.
    labeled_video
        Optional path of an ``.mp4`` with the predictions drawn on the frames (QC).
    autocast
        Run the network in mixed precision (DeepLabCut's ``inference.autocast``: bfloat16 on
        CPU, float16 on CUDA). Measured on the virtual lab (cspnext_s, 256x192, one CPU
        thread): 1.4x the frames/s, predictions within 0.04 px of float32 at the median and
        1.5 px at the 99th percentile.
    channels_last
        Hold the network's weights in channels-last memory layout (NHWC), which oneDNN's CPU
        convolutions (and tensor cores) run faster. DeepLabCut has no setting for it: its
        inference-runner factory is wrapped for the duration of this call. Measured on the
        virtual lab with autocast (600 frames, one CPU thread, 4 alternating runs each):
        1.37x the frames/s (median), predictions 0.004 px from autocast alone at the median.
        Either way the model's batch norms are folded into their convolutions
        (:func:`~brainbehave.pose2d.runtime.fold_batch_norms`).
    where
        Named in error messages, e.g. ``"rat01/ses01 camera camA"``.

    Returns
    -------
    VideoInfo
        The video's frame count, fps and size.

    Raises
    ------
    InputDataError
        Unreadable, truncated or empty video, or DeepLabCut predicting a different number of
        frames than the video has.
    """
    model_dir, out_h5 = Path(model_dir).absolute(), Path(out_h5)
    info = check_video(video, where)
    shuffle = int(model_info(model_dir)["settings"]["shuffle"])
    set_threads(threads)
    out_h5.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out_h5.stem}.", dir=out_h5.parent) as tmp:
        work = Path(tmp).absolute()
        config = _config_for(model_dir)
        inference = _inference_config(config, shuffle) if autocast else None
        with inference_runtime(channels_last):
            _run_dlc(
                config, info, work, shuffle, batch_size, device, labeled_video is not None,
                inference,
            )  # fmt: skip
        produced = sorted(work.glob(f"{info.path.stem}DLC_*.h5"))
        if len(produced) != 1:
            raise RuntimeError(
                f"{where}: expected one DeepLabCut .h5 for {info.path.name} in {work}, found "
                f"{[p.name for p in produced]}."
            )
        _check_length(produced[0], info, where)
        shutil.move(produced[0], out_h5)
        if labeled_video is not None:
            _move_labeled(work, info, Path(labeled_video), where)
    return info


def _inference_config(config: Path, shuffle: int) -> dict:
    """The model's own inference settings with mixed precision switched on."""
    pose_cfg = read_pose_config(config, TrainSettings(shuffle=shuffle))
    inference = dict(pose_cfg.get("inference") or {})
    inference["autocast"] = {"enabled": True}
    return inference


def _run_dlc(
    config: Path,
    info: VideoInfo,
    work: Path,
    shuffle: int,
    batch_size: int,
    device: str,
    qc: bool,
    inference: dict | None = None,
) -> None:
    import deeplabcut

    t0 = time.perf_counter()
    deeplabcut.analyze_videos(
        str(config),
        [str(info.path.absolute())],
        shuffle=shuffle,
        destfolder=str(work),
        device=resolve_device(device),
        batch_size=batch_size,
        auto_track=False,
        inference_cfg=inference,
    )
    elapsed = time.perf_counter() - t0
    logger.info(
        "analysed %s: %d frames in %.1f s (%.1f frames/s)",
        info.path,
        info.n_frames,
        elapsed,
        info.n_frames / elapsed,
    )
    if qc:
        # DeepLabCut silently skips a relative destfolder: `work` is absolute.
        deeplabcut.create_labeled_video(
            str(config), [str(info.path.absolute())], shuffle=shuffle, destfolder=str(work)
        )


def _check_length(h5: Path, info: VideoInfo, where: str) -> None:
    import pandas as pd

    n = len(pd.read_hdf(h5))
    if n != info.n_frames:
        raise InputDataError(
            f"{where}: DeepLabCut predicted {n} frames but video {info.path} has "
            f"{info.n_frames}; the video may be damaged. Re-encode it and run again."
        )


def _move_labeled(work: Path, info: VideoInfo, target: Path, where: str) -> None:
    made = sorted(work.glob(f"{info.path.stem}*labeled*.mp4"))
    if not made:
        raise RuntimeError(f"{where}: DeepLabCut made no labelled video in {work}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(made[0], target)
