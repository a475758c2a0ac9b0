"""Resuming an interrupted DeepLabCut training: its latest snapshot and whether it matches.

:func:`brainbehave.pose2d.dlc.train_model` trains in a work folder that outlives a killed job;
these helpers find the snapshot to resume from and tell whether the partial training was
made with the same settings and labels (else it is discarded).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from brainbehave.pose2d.train_settings import TrainSettings

logger = logging.getLogger(__name__)

_SNAPSHOT = re.compile(r"^snapshot-(?:best-)?(\d+)\.pt$")


def latest_snapshot(train_dir: str | Path, *, check: bool = True) -> tuple[Path, int] | None:
    """The snapshot of the most epochs in a model's ``train`` folder (None: there is none).

    With `check`, a snapshot that does not load (the job was killed while writing it) is
    deleted and the one before it is taken.
    """
    found = []
    for path in Path(train_dir).glob("snapshot-*.pt"):
        if match := _SNAPSHOT.match(path.name):
            found.append((int(match.group(1)), path))
    for epoch, path in sorted(found, reverse=True):
        if not check or _loads(path):
            return path, epoch
        logger.warning(
            "snapshot %s does not load (written when the job was killed?): deleted", path
        )
        path.unlink()
    return None


def _loads(path: Path) -> bool:
    import torch

    try:
        snapshot = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError):
        return False
    return isinstance(snapshot, dict) and "model" in snapshot


def training_fingerprint(project_dir: str | Path, settings: TrainSettings) -> str:
    """Hash of the settings and the project's labels: a partial training with another
    fingerprint is not resumed."""
    digest = hashlib.sha256(json.dumps(settings.as_dict(), sort_keys=True).encode())
    project_dir = Path(project_dir)
    digest.update((project_dir / "config.yaml").read_bytes())
    for path in sorted(project_dir.glob("labeled-data/*/*")):
        if path.suffix in (".h5", ".png"):
            digest.update(path.relative_to(project_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def prune_snapshots(train_dir: str | Path, snapshot_index: int | str = -1) -> list[Path]:
    """Delete a finished training's snapshots that analysis does not use.

    DeepLabCut keeps the last few snapshots (optimizer state included, ~55 MB each for
    cspnext_s) to resume from, plus the "best" one; a published model needs only the one its
    analysis and evaluation load (`snapshot_index`, the project's ``snapshotindex``: -1 is the
    best snapshot when there is one, else the last). Detector snapshots are left alone.

    Returns
    -------
    list of Path
        The deleted snapshots.
    """
    from deeplabcut.pose_estimation_pytorch.apis.utils import get_model_snapshots
    from deeplabcut.pose_estimation_pytorch.task import Task

    if str(snapshot_index).lower() == "all":
        return []  # the project analyses every snapshot: keep them
    train_dir = Path(train_dir)
    method = yaml.safe_load((train_dir / "pytorch_config.yaml").read_text())["method"]
    (keep,) = get_model_snapshots(snapshot_index, train_dir, Task(method))
    removed = [
        path
        for path in sorted(train_dir.glob("snapshot-*.pt"))
        if _SNAPSHOT.match(path.name) and path.resolve() != Path(keep.path).resolve()
    ]
    for path in removed:
        path.unlink()
    logger.info(
        "kept %s for analysis; deleted %d resume snapshot(s): %s",
        Path(keep.path).name,
        len(removed),
        ", ".join(p.name for p in removed) or "none",
    )
    return removed
