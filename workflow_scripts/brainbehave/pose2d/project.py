"""A DeepLabCut project: read it, check its bodyparts, copy it, split its labelled frames.

No DeepLabCut import here: the workflow calls :func:`read_project` and :func:`check_bodyparts`
when it is parsed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from brainbehave.errors import ConfigError, InputDataError


def read_project(config_path: str | Path) -> dict[str, Any]:
    """Read a DeepLabCut ``config.yaml`` and check the keys this stage needs."""
    config_path = Path(config_path)
    if not config_path.is_file():
        raise InputDataError(
            f"DeepLabCut project config {str(config_path)!r} does not exist. Set "
            "pose2d.dlc_project to the folder holding your project's config.yaml."
        )
    with open(config_path, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    missing = [k for k in ("Task", "scorer", "date", "bodyparts") if not cfg or k not in cfg]
    if missing:
        raise InputDataError(f"{config_path}: not a DeepLabCut project config (no {missing}).")
    if cfg.get("multianimalproject"):
        raise InputDataError(
            f"{config_path}: multi-animal projects are not supported by this stage yet; use a "
            "single-animal project."
        )
    return cfg


def check_bodyparts(cfg: Mapping[str, Any], expected: Sequence[str] | None, where: str) -> None:
    """Refuse a project whose bodyparts differ from the configured keypoints."""
    if not expected:
        return
    found = list(cfg["bodyparts"])
    if found != list(expected):
        raise ConfigError(
            f"{where}: the DeepLabCut project's bodyparts {found} differ from pose2d.keypoints "
            f"{list(expected)} (missing {sorted(set(expected) - set(found))}, extra "
            f"{sorted(set(found) - set(expected))}). Make pose2d.keypoints list the project's "
            "bodyparts in the project's order, or leave it empty to accept the project's."
        )


def _copy_tree_writable(src: Path, dst: Path) -> None:
    """Copy files (not modes: the source may be read-only) into a fresh, writable tree."""
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def project_files(project_dir: str | Path) -> list[str]:
    """The files of a project that training reads: ``config.yaml`` and all of ``labeled-data``.

    The training rule's inputs for a lab's project: Snakemake's between-workflow cache hashes
    every input file (it cannot hash a folder), and a changed label file reruns training.
    """
    project_dir = Path(project_dir)
    labelled = sorted(p for p in (project_dir / "labeled-data").rglob("*") if p.is_file())
    return [str(project_dir / "config.yaml"), *map(str, labelled)]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def labelled_frame_sizes(project_dir: str | Path) -> set[tuple[int, int]]:
    """The distinct (width, height) of the images in a project's ``labeled-data``.

    Read from the image headers only (Pillow opens lazily), so thousands of frames take well
    under a second.
    """
    from PIL import Image

    sizes = set()
    for path in (Path(project_dir) / "labeled-data").rglob("*"):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            with Image.open(path) as image:
                sizes.add(image.size)
    return sizes


def set_project_path(config_path: str | Path, project_dir: str | Path) -> bool:
    """Point a project's ``project_path`` at ``project_dir`` (atomic; nothing if it already does).

    DeepLabCut finds a model through ``project_path``, so a model folder unpacked or copied
    elsewhere (e.g. from a cluster) needs it rewritten; every job that rewrites it writes the
    same content. Returns whether it was rewritten.
    """
    config_path = Path(config_path)
    cfg = read_project(config_path)
    if Path(cfg["project_path"]) == Path(project_dir):
        return False
    cfg["project_path"] = str(project_dir)
    tmp = config_path.with_name(f".{config_path.name}.{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(cfg, sort_keys=False))
    os.replace(tmp, config_path)
    return True


def copy_project(project_dir: str | Path, dest: str | Path) -> Path:
    """Copy a project's config and labelled frames to `dest`, as a project DeepLabCut can train.

    ``project_path`` and ``video_sets`` are rewritten for the copy: one entry per folder in
    ``labeled-data`` (DeepLabCut finds labels by video stem; the videos themselves are not
    needed for training), keeping each stem's crop when the original lists it.

    Returns
    -------
    Path
        The copy's ``config.yaml``.
    """
    src, dest = Path(project_dir).absolute(), Path(dest).absolute()
    cfg = read_project(src / "config.yaml")
    labelled = sorted(p for p in (src / "labeled-data").glob("*") if p.is_dir())
    if not labelled:
        raise InputDataError(
            f"{src}: no folders in labeled-data/; label frames (DeepLabCut's labelling GUI) "
            "before training."
        )
    _copy_tree_writable(src / "labeled-data", dest / "labeled-data")
    crops = {Path(str(k)).stem: v for k, v in (cfg.get("video_sets") or {}).items()}
    video_sets = {}
    for folder in labelled:
        crop = crops.get(folder.name) or {"crop": _crop_of(folder)}
        video_sets[str(dest / "videos" / f"{folder.name}.mp4")] = crop
    (dest / "videos").mkdir(exist_ok=True)
    cfg.update(project_path=str(dest), video_sets=video_sets, engine="pytorch")
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest / "config.yaml"


def _crop_of(folder: Path) -> str:
    import cv2

    image = next(iter(sorted(folder.glob("*.png"))), None)
    shape = cv2.imread(str(image)).shape if image is not None else None
    if shape is None:
        raise InputDataError(f"{folder}: no readable PNG frames in this labelled-data folder.")
    return f"0, {shape[1]}, 0, {shape[0]}"


def n_labelled_frames(config_path: str | Path) -> int:
    """Number of labelled frames DeepLabCut will merge into the training set."""
    cfg = read_project(config_path)
    root = Path(config_path).parent / "labeled-data"
    total = 0
    for video in cfg["video_sets"]:
        h5 = root / Path(video).stem / f"CollectedData_{cfg['scorer']}.h5"
        if h5.is_file():
            total += len(pd.read_hdf(h5))
    if total == 0:
        raise InputDataError(
            f"{config_path}: no CollectedData_{cfg['scorer']}.h5 with labels in labeled-data/."
        )
    return total


def split_indices(
    n: int, train_fraction: float, seed: int, test: Sequence[int] | None = None
) -> tuple[list[int], list[int]]:
    """Train and test indices: explicit `test`, else a seeded random split."""
    if test is not None:
        bad = [i for i in test if not 0 <= i < n]
        if bad:
            raise ConfigError(f"pose2d.train.test_indices {bad} are outside 0..{n - 1}.")
        test = sorted(set(test))
    else:
        order = np.random.default_rng(seed).permutation(n)
        n_train = min(n - 1, max(1, int(round(train_fraction * n))))
        test = sorted(int(i) for i in order[n_train:])
    train = [i for i in range(n) if i not in set(test)]
    return train, test
