"""Write a DeepLabCut 3 project of labelled frames, laid out as DeepLabCut lays it out.

::

    <project>/config.yaml
    <project>/videos/<stem>.mp4                          (hard links or copies, when given)
    <project>/labeled-data/<stem>/img00000.png ...
    <project>/labeled-data/<stem>/CollectedData_<scorer>.h5   (key "df_with_missing")
    <project>/labeled-data/<stem>/CollectedData_<scorer>.csv
    <project>/training-datasets/   <project>/dlc-models/

The label table has MultiIndex columns ``(scorer, bodyparts, coords)`` with coords x, y and
a MultiIndex row index ``("labeled-data", stem, "imgNNNNN.png")``, NaN where a keypoint is not
visible, as DeepLabCut's labelling GUI writes it. DeepLabCut is not imported here.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import yaml

logger = logging.getLogger(__name__)

_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# DeepLabCut's config.yaml sections (comment, keys), in DeepLabCut's order.
_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Project definitions (do not edit)",
        ("Task", "scorer", "date", "multianimalproject", "identity"),
    ),
    ("Project path (change when moving around)", ("project_path",)),
    (
        "Default DeepLabCut engine to use for shuffle creation (either pytorch or tensorflow)",
        ("engine",),
    ),
    (
        "Annotation data set configuration (and individual video cropping parameters)",
        ("video_sets", "bodyparts"),
    ),
    (
        "Fraction of video to start/stop when extracting frames for labeling/refinement",
        ("start", "stop", "numframes2pick"),
    ),
    (
        "Plotting configuration",
        ("skeleton", "skeleton_color", "pcutoff", "dotsize", "alphavalue", "colormap"),
    ),
    (
        "Training,Evaluation and Analysis configuration",
        (
            "TrainingFraction",
            "iteration",
            "default_net_type",
            "default_augmenter",
            "snapshotindex",
            "detector_snapshotindex",
            "batch_size",
            "detector_batch_size",
        ),
    ),
    (
        "Cropping Parameters (for analysis and outlier frame detection)",
        ("cropping", "x1", "x2", "y1", "y2"),
    ),
    (
        "Refinement configuration (parameters from annotation dataset configuration also "
        "relevant in this stage)",
        ("corner2move2", "move2corner"),
    ),
    ("Conversion tables to fine-tune SuperAnimal weights", ("SuperAnimalConversionTables",)),
)


def _check_names(
    bodyparts: Sequence[str], edges: Sequence[tuple[str, str]], scorer: str, task: str
):
    for what, value in (("task", task), ("scorer", scorer)):
        if not isinstance(value, str) or not _STEM.match(value):
            raise ValueError(
                f"Expected {what} to be a non-empty name of letters, digits, '_', '.' or '-', "
                f"got {value!r} (DeepLabCut builds file names from it)."
            )
    if not bodyparts or len(set(bodyparts)) != len(bodyparts):
        raise ValueError(f"Expected non-empty, unique bodyparts, got {list(bodyparts)}.")
    unknown = sorted({p for edge in edges for p in edge} - set(bodyparts))
    if unknown or any(len(edge) != 2 for edge in edges):
        raise ValueError(
            f"Skeleton edges must be pairs of bodyparts {list(bodyparts)}; unknown: {unknown}."
        )


def _check_labelled(
    labelled: Mapping[str, tuple[np.ndarray, np.ndarray]], n_bodyparts: int
) -> dict[str, tuple[int, int]]:
    """Validate the labelled frames; return each stem's image size (width, height)."""
    if not labelled:
        raise ValueError("Expected labelled frames for at least one video, got none.")
    sizes = {}
    for stem, (images, keypoints) in labelled.items():
        if not _STEM.match(stem):
            raise ValueError(f"Video stem {stem!r} must be a plain file name (no path, no space).")
        images, keypoints = np.asarray(images), np.asarray(keypoints, dtype=float)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or not len(images):
            raise ValueError(
                f"Video {stem!r}: expected images of shape (N, H, W, 3) uint8 RGB with N >= 1, "
                f"got {images.shape} {images.dtype}."
            )
        n, h, w = images.shape[:3]
        if keypoints.shape != (n, n_bodyparts, 2):
            raise ValueError(
                f"Video {stem!r}: expected keypoints2d of shape {(n, n_bodyparts, 2)} "
                f"(frames, bodyparts, xy), got {keypoints.shape}."
            )
        x, y = keypoints[..., 0], keypoints[..., 1]
        outside = np.isfinite(keypoints).all(-1) & (
            (x < -0.5) | (x > w - 0.5) | (y < -0.5) | (y > h - 0.5)
        )
        if outside.any() or (np.isnan(x) != np.isnan(y)).any():
            raise ValueError(
                f"Video {stem!r}: {int(outside.sum())} labels lie outside the {w}x{h} image or "
                "have only one NaN coordinate; set labels of invisible keypoints to NaN (both)."
            )
        sizes[stem] = (w, h)
    return sizes


def _labels_frame(stem: str, keypoints: np.ndarray, scorer: str, bodyparts: Sequence[str]):
    names = [f"img{i:05d}.png" for i in range(len(keypoints))]
    columns = pd.MultiIndex.from_product(
        [[scorer], list(bodyparts), ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    index = pd.MultiIndex.from_tuples([("labeled-data", stem, name) for name in names])
    data = np.asarray(keypoints, dtype=float).reshape(len(keypoints), -1)
    return pd.DataFrame(data, index=index, columns=columns)


def _write_labelled(folder: Path, stem: str, images: np.ndarray, labels: pd.DataFrame, scorer: str):
    folder.mkdir(parents=True)
    for (_, _, name), image in zip(labels.index, images, strict=True):
        if not cv2.imwrite(str(folder / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"Could not write {folder / name}; check disk space and permissions.")
    labels.to_hdf(folder / f"CollectedData_{scorer}.h5", key="df_with_missing", mode="w")
    labels.to_csv(folder / f"CollectedData_{scorer}.csv")
    n_missing = int(labels.isna().all(axis=1).sum())
    logger.debug(
        "Wrote %d labelled frames of %s (%d with no visible keypoint)", len(labels), stem, n_missing
    )


def _link_or_copy(src: Path, dst: Path) -> None:
    if not src.is_file():
        raise FileNotFoundError(f"Video {src} for the DeepLabCut project does not exist.")
    try:
        os.link(src, dst)
    except OSError:  # other file system, or links not allowed: copy instead
        shutil.copy2(src, dst)


def _video_size(path: Path) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(path))
    try:
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        cap.release()
    if min(size) <= 0:
        raise ValueError(f"Cannot read the frame size of video {path}; is it a valid video?")
    return size


def _config_text(cfg: dict[str, Any]) -> str:
    parts = []
    for comment, keys in _SECTIONS:
        body = yaml.safe_dump({k: cfg[k] for k in keys}, sort_keys=False, default_flow_style=False)
        parts.append(f"# {comment}\n{body}")
    return "\n".join(parts)


def _config(project: Path, task, scorer, date, bodyparts, edges, video_sets) -> dict[str, Any]:
    # Cropping bounds (unused while cropping is false) default to the first video's frame.
    _, width, _, height = (int(v) for v in next(iter(video_sets.values()))["crop"].split(","))
    return {
        "Task": task,
        "scorer": scorer,
        "date": date,
        "multianimalproject": False,
        "identity": None,
        "project_path": str(project),
        "engine": "pytorch",
        "video_sets": video_sets,
        "bodyparts": list(bodyparts),
        "start": 0,
        "stop": 1,
        "numframes2pick": 20,
        "skeleton": [list(edge) for edge in edges],
        "skeleton_color": "black",
        "pcutoff": 0.6,
        "dotsize": 6,
        "alphavalue": 0.7,
        "colormap": "rainbow",
        "TrainingFraction": [0.8],
        "iteration": 0,
        "default_net_type": "cspnext_s",
        "default_augmenter": "albumentations",
        "snapshotindex": -1,
        "detector_snapshotindex": -1,
        "batch_size": 8,
        "detector_batch_size": 1,
        "cropping": False,
        "x1": 0,
        "x2": width,
        "y1": 0,
        "y2": height,
        "corner2move2": [50, 50],
        "move2corner": True,
        "SuperAnimalConversionTables": None,
    }


def _populate(
    tmp: Path,
    final: Path,
    labelled: Mapping[str, tuple[np.ndarray, np.ndarray]],
    videos: Mapping[str, Path],
    sizes: dict[str, tuple[int, int]],
    scorer: str,
    bodyparts: Sequence[str],
) -> dict[str, dict[str, str]]:
    """Write videos and labelled data into `tmp`; return video_sets keyed by final paths."""
    for sub in ("videos", "labeled-data", "training-datasets", "dlc-models"):
        (tmp / sub).mkdir()
    video_sets = {}
    for stem in sorted(set(labelled) | set(videos)):
        name = f"{stem}{Path(videos[stem]).suffix}" if stem in videos else f"{stem}.mp4"
        if stem in videos:
            _link_or_copy(Path(videos[stem]), tmp / "videos" / name)
            size = _video_size(tmp / "videos" / name)
            if stem in sizes and size != sizes[stem]:
                raise ValueError(
                    f"Video {videos[stem]} is {size[0]}x{size[1]} but its labelled frames are "
                    f"{sizes[stem][0]}x{sizes[stem][1]}; pass the video the frames came from."
                )
            sizes.setdefault(stem, size)
        w, h = sizes[stem]
        video_sets[str(final / "videos" / name)] = {"crop": f"0, {w}, 0, {h}"}
        if stem in labelled:
            images, keypoints = labelled[stem]
            labels = _labels_frame(stem, keypoints, scorer, bodyparts)
            _write_labelled(tmp / "labeled-data" / stem, stem, np.asarray(images), labels, scorer)
    return video_sets


def write_dlc_project(
    project_dir: Path,
    task: str,
    scorer: str,
    bodyparts: Sequence[str],
    skeleton_edges: Sequence[tuple[str, str]],
    labelled: Mapping[str, tuple[np.ndarray, np.ndarray]],
    videos: Mapping[str, Path] | None = None,
    date: str = "Jan1",
) -> Path:
    """Write a single-animal DeepLabCut 3 (PyTorch engine) project of labelled frames.

    Parameters
    ----------
    project_dir
        The project folder to create; it must not exist yet. The project is written into a
        temporary sibling folder and renamed, so it appears whole or not at all.
    task, scorer, date
        DeepLabCut's project identity (``Task``, ``scorer``, ``date`` in config.yaml).
    bodyparts
        Keypoint names, in the order of the label arrays' second axis.
    skeleton_edges
        Pairs of bodyparts drawn as the skeleton.
    labelled
        Video stem -> (images (N, H, W, 3) uint8 RGB, keypoints2d (N, K, 2) pixels, NaN where
        not visible). Frames are saved as ``labeled-data/<stem>/img00000.png``, ...
    videos
        Optional video stem -> video file, hard-linked (or copied) into ``videos/``. Stems with
        labelled frames but no video are still listed in ``video_sets`` (DeepLabCut finds
        their labels by stem).
    date
        The project date string, e.g. "Jan1".

    Returns
    -------
    Path
        The project's ``config.yaml``.
    """
    final = Path(project_dir).absolute()
    if final.exists():
        raise FileExistsError(
            f"DeepLabCut project folder {final} already exists; delete it to write it again."
        )
    videos = dict(videos or {})
    _check_names(bodyparts, skeleton_edges, scorer, task)
    sizes = _check_labelled(labelled, len(bodyparts))
    bad = [s for s in videos if not _STEM.match(s)]
    if bad:
        raise ValueError(f"Video stems {bad} must be plain file names (no path, no space).")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        video_sets = _populate(tmp, final, labelled, videos, sizes, scorer, bodyparts)
        cfg = _config(final, task, scorer, date, bodyparts, skeleton_edges, video_sets)
        (tmp / "config.yaml").write_text(_config_text(cfg))
        tmp.chmod(0o755)  # mkdtemp makes it private; a project folder is not
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n = sum(len(images) for images, _ in labelled.values())
    logger.info(
        "Wrote DeepLabCut project %s: %d labelled frames from %d videos", final, n, len(labelled)
    )
    return final / "config.yaml"
