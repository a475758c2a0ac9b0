"""Existing 2D pose files (DeepLabCut, SLEAP, Lightning Pose) to the pipeline's pose model.

Files are read with ``movement``'s loaders and handed to :func:`brainbehave.pose.pose_dataset`
(the one validated constructor). Loaders are registered by the name the videos sheet uses in
its ``pose_format`` column.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from brainbehave import provenance
from brainbehave.errors import InputDataError
from brainbehave.pose import load_pose, pose_dataset

logger = logging.getLogger(__name__)

Loader = Callable[[Path, float], xr.Dataset]
LOADERS: dict[str, Loader] = {}
SOFTWARE: dict[str, str] = {}


def register_loader(name: str, software: str) -> Callable[[Loader], Loader]:
    """Register a loader under the ``pose_format`` name the videos sheet uses."""

    def wrap(func: Loader) -> Loader:
        LOADERS[name] = func
        SOFTWARE[name] = software
        return func

    return wrap


def _movement(path: Path, fps: float, software: str) -> xr.Dataset:
    from movement.io import load_dataset

    return load_dataset(path, source_software=software, fps=fps)


@register_loader("dlc", "DeepLabCut")
def _load_dlc(path: Path, fps: float) -> xr.Dataset:
    return _movement(path, fps, "DeepLabCut")


@register_loader("sleap", "SLEAP")
def _load_sleap(path: Path, fps: float) -> xr.Dataset:
    return _movement(path, fps, "SLEAP")


@register_loader("lightning_pose", "LightningPose")
def _load_lightning_pose(path: Path, fps: float) -> xr.Dataset:
    return _movement(path, fps, "LightningPose")


def import_pose(
    path: str | Path,
    fmt: str,
    *,
    fps: float,
    camera: str | None = None,
    subject: str | None = None,
    session: str | None = None,
    keypoints: Sequence[str] | None = None,
    n_frames: int | None = None,
    where: str = "pose",
) -> xr.Dataset:
    """Read a pose file into the pipeline's pose model.

    Parameters
    ----------
    path
        The pose file (DeepLabCut ``.h5``/``.csv``, SLEAP ``.slp``/``.h5``, Lightning Pose
        ``.csv``).
    fmt
        ``dlc``, ``sleap`` or ``lightning_pose`` (the videos sheet's ``pose_format``).
    fps
        The video's frame rate (pose files do not all store it).
    camera, subject, session
        Recorded in the dataset's attributes.
    keypoints
        Keypoints to keep, in this order (None: all, in the file's order).
    n_frames
        The video's frame count; a file with another length is refused.
    where
        Named in error messages.

    Raises
    ------
    InputDataError
        Unknown format, unreadable file, missing keypoints or a length that differs from the
        video's.
    """
    path = Path(path)
    if fmt not in LOADERS:
        raise InputDataError(f"{where}: unknown pose_format {fmt!r}; known: {sorted(LOADERS)}.")
    if not path.is_file():
        raise InputDataError(f"{where}: pose file {str(path)!r} does not exist.")
    try:
        raw = LOADERS[fmt](path, fps)
    except (ValueError, OSError, KeyError) as err:
        raise InputDataError(
            f"{where}: cannot read {str(path)!r} as {SOFTWARE[fmt]} pose ({err}). Check "
            "pose_format in the videos sheet."
        ) from err
    raw = _select_keypoints(raw, keypoints, path, where)
    if n_frames is not None and raw.sizes["time"] != n_frames:
        raise InputDataError(
            f"{where}: {path} holds {raw.sizes['time']} frames but the video has {n_frames}; "
            "was it made from another video?"
        )
    position = raw["position"].transpose("time", "space", "keypoints", "individuals").values
    confidence = raw["confidence"].transpose("time", "keypoints", "individuals").values
    return pose_dataset(
        position,
        np.clip(confidence, 0.0, 1.0),
        [str(k) for k in raw["keypoints"].values],
        fps,
        source_software=SOFTWARE[fmt],
        units="px",
        individuals=[str(i) for i in raw["individuals"].values],
        camera=camera,
        subject=subject,
        session=session,
        provenance={
            "steps": [{"step": "import", "file": str(path), "format": fmt}],
            "versions": provenance.versions(("movement", "deeplabcut")),
        },
        where=where,
    )


def pose_to_clean(
    raw: str | Path,
    pose_format: str | None,
    video: str | Path | None,
    *,
    camera: str,
    subject: str,
    session: str,
    keypoints: Sequence[str] | None = None,
) -> xr.Dataset:
    """The 2D pose the cleaning step starts from: inferred here, or the lab's file imported.

    Parameters
    ----------
    raw
        The pose inferred from the video (pose model netCDF) when ``pose_format`` is None,
        else the lab's pose file (videos sheet ``pose``).
    pose_format
        The videos sheet's ``pose_format`` (None: inferred here).
    video
        The camera's video (needed for an imported file: its fps and length).
    camera, subject, session
        Recorded in the dataset's attributes and named in error messages.
    keypoints
        For an imported file: keypoints to keep, in this order (None: all).

    Raises
    ------
    InputDataError
        An imported file that cannot be read, lacks keypoints or does not match its video;
        a video that cannot be decoded. The message names the session and camera.
    """
    if pose_format is None:
        return load_pose(raw)
    from brainbehave.pose2d.video import check_video  # OpenCV: only for imported files

    where = f"{subject}/{session} camera {camera}"
    if video is None:
        raise InputDataError(f"{where}: an imported pose file needs its video (fps, length).")
    info = check_video(video, where)
    return import_pose(
        raw,
        pose_format,
        fps=info.fps,
        camera=camera,
        subject=subject,
        session=session,
        keypoints=keypoints,
        n_frames=info.n_frames,
        where=where,
    )


def _select_keypoints(
    raw: xr.Dataset, keypoints: Sequence[str] | None, path: Path, where: str
) -> xr.Dataset:
    if not keypoints:
        return raw
    found = [str(k) for k in raw["keypoints"].values]
    missing = [k for k in keypoints if k not in found]
    if missing:
        raise InputDataError(
            f"{where}: {path} lacks keypoints {missing} (it has {found}). Set pose2d.keypoints "
            "to the keypoints your pose files share, or fix the file."
        )
    if extra := sorted(set(found) - set(keypoints)):
        logger.info("%s: dropping keypoints %s not in pose2d.keypoints", where, extra)
    return raw.sel(keypoints=list(keypoints))


def dlc_h5_to_pose(h5: str | Path, fps: float, **kwargs) -> xr.Dataset:
    """A DeepLabCut ``analyze_videos`` output as a pose dataset (see :func:`import_pose`)."""
    return import_pose(h5, "dlc", fps=fps, **kwargs)
