"""Resuming an interrupted training: which snapshot, and whether the partial run matches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from brainbehave.errors import ConfigError
from brainbehave.pose2d.dlc import TrainSettings
from brainbehave.pose2d.resume import latest_snapshot, prune_snapshots, training_fingerprint


def _snapshot(folder: Path, name: str) -> Path:
    path = folder / name
    torch.save({"model": {"w": torch.zeros(2)}, "metadata": {"epoch": 1}}, path)
    return path


def test_latest_snapshot_takes_the_most_epochs_best_or_not(tmp_path: Path) -> None:
    _snapshot(tmp_path, "snapshot-004.pt")
    best = _snapshot(tmp_path, "snapshot-best-006.pt")
    (tmp_path / "init-scratch.pt").write_bytes(b"")  # not a training snapshot
    assert latest_snapshot(tmp_path) == (best, 6)


def test_a_truncated_snapshot_is_deleted_and_the_one_before_used(tmp_path: Path) -> None:
    good = _snapshot(tmp_path, "snapshot-002.pt")
    broken = _snapshot(tmp_path, "snapshot-004.pt")
    broken.write_bytes(broken.read_bytes()[:20])  # killed while writing
    assert latest_snapshot(tmp_path) == (good, 2)
    assert not broken.exists()


@pytest.mark.parametrize(
    ("names", "kept"),
    [
        # DeepLabCut analyses the best snapshot when there is one (index -1), else the last
        (["snapshot-004.pt", "snapshot-005.pt", "snapshot-best-003.pt"], "snapshot-best-003.pt"),
        (["snapshot-004.pt", "snapshot-005.pt"], "snapshot-005.pt"),
    ],
)
def test_a_finished_training_keeps_only_the_snapshot_analysis_loads(
    tmp_path: Path, names: list[str], kept: str
) -> None:
    (tmp_path / "pytorch_config.yaml").write_text("method: bu\n")
    for name in [*names, "snapshot-detector-005.pt"]:
        _snapshot(tmp_path, name)
    (tmp_path / "init-scratch.pt").write_bytes(b"")
    removed = prune_snapshots(tmp_path)
    left = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert left == sorted(["init-scratch.pt", "snapshot-detector-005.pt", kept])
    assert sorted(p.name for p in removed) == sorted(set(names) - {kept})
    # a project that analyses every snapshot keeps them all
    _snapshot(tmp_path, "snapshot-009.pt")
    assert prune_snapshots(tmp_path, "all") == [] and (tmp_path / "snapshot-009.pt").exists()


def test_no_snapshot_means_nothing_to_resume(tmp_path: Path) -> None:
    assert latest_snapshot(tmp_path) is None


def test_fingerprint_changes_with_settings_and_labels(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("Task: t\n")
    labels = tmp_path / "labeled-data" / "v1"
    labels.mkdir(parents=True)
    (labels / "CollectedData_x.h5").write_bytes(b"labels-1")
    base = training_fingerprint(tmp_path, TrainSettings(epochs=10))
    assert base == training_fingerprint(tmp_path, TrainSettings(epochs=10))
    assert base != training_fingerprint(tmp_path, TrainSettings(epochs=20))
    (labels / "CollectedData_x.h5").write_bytes(b"labels-2")
    assert base != training_fingerprint(tmp_path, TrainSettings(epochs=10))


def test_snapshot_epochs_default_to_a_tenth_of_the_training() -> None:
    assert TrainSettings(epochs=40).snapshot_epochs == 4
    assert TrainSettings(epochs=3).snapshot_epochs == 1
    assert TrainSettings(epochs=40, save_every=5).snapshot_epochs == 5


@pytest.mark.parametrize(
    "bad",
    [{"scaling": (1.2, 0.8)}, {"scaling": (0, 1)}, {"save_every": 0}, {"crop": (16, 16)}],
)
def test_bad_augmentation_or_snapshot_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError, match="pose2d.train"):
        TrainSettings(**bad)


def test_scaling_from_config_round_trips() -> None:
    settings = TrainSettings.from_mapping({"scaling": [0.9, 1.1], "save_every": 2})
    assert settings.scaling == (0.9, 1.1)
    assert settings.as_dict()["scaling"] == [0.9, 1.1]


def test_crop_from_config_round_trips() -> None:
    settings = TrainSettings.from_mapping({"crop": [128, 96]})
    assert settings.crop == (128, 96) and settings.as_dict()["crop"] == [128, 96]
    assert TrainSettings().as_dict()["crop"] is None
