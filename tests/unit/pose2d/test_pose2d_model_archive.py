"""The model folder as one .tar (cacheable) and back; the project files training reads."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from brainbehave.errors import InputDataError
from brainbehave.paths import Paths
from brainbehave.pose2d.model_archive import pack_model, unpack_model
from brainbehave.pose2d.project import project_files
from brainbehave.pose2d.sources import Pose2dPlan

CONFIG = {"Task": "t", "scorer": "s", "date": "d", "bodyparts": ["nose"], "project_path": "/x"}


def _model(folder: Path) -> Path:
    (folder / "dlc-models-pytorch" / "train").mkdir(parents=True)
    (folder / "dlc-models-pytorch" / "train" / "snapshot-001.pt").write_bytes(b"\x00weights")
    (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return folder


def test_unpacked_model_has_the_same_files_and_its_own_project_path(tmp_path: Path) -> None:
    source = _model(tmp_path / "trained")
    archive = tmp_path / "results" / "model.tar"
    pack_model(source, archive)
    target = tmp_path / "other_folder" / "model"
    target.mkdir(parents=True)
    (target / "stale.txt").write_text("from an older model")  # replaced, not merged
    unpack_model(archive, target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "config.yaml",
        "dlc-models-pytorch",
        "dlc-models-pytorch/train",
        "dlc-models-pytorch/train/snapshot-001.pt",
    ]
    assert (target / "dlc-models-pytorch/train/snapshot-001.pt").read_bytes() == b"\x00weights"
    cfg = yaml.safe_load((target / "config.yaml").read_text())
    assert cfg["project_path"] == str(target.absolute())
    assert cfg["bodyparts"] == ["nose"]
    assert [p.name for p in target.parent.iterdir()] == ["model"]  # no temporary left


def test_not_an_archive_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "model.tar"
    bad.write_text("not a tar")
    with pytest.raises(InputDataError, match="not a tar archive; delete it and run pose2d_train"):
        unpack_model(bad, tmp_path / "model")


def test_archive_without_a_project_config_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path, arcname="empty", recursive=False)
    with pytest.raises(InputDataError, match="holds no DeepLabCut config.yaml"):
        unpack_model(archive, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_project_files_are_the_config_and_every_labelled_file(tmp_path: Path) -> None:
    (tmp_path / "labeled-data" / "video1").mkdir(parents=True)
    for name in ("CollectedData_me.h5", "img001.png"):
        (tmp_path / "labeled-data" / "video1" / name).write_bytes(b"x")
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "video1.mp4").write_bytes(b"x")  # training does not read videos
    files = [Path(f).relative_to(tmp_path).as_posix() for f in project_files(tmp_path)]
    assert files == [
        "config.yaml",
        "labeled-data/video1/CollectedData_me.h5",
        "labeled-data/video1/img001.png",
    ]


def test_training_inputs_are_the_virtual_lab_folder_or_a_lab_projects_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "labeled-data" / "v1").mkdir(parents=True)
    (tmp_path / "labeled-data" / "v1" / "CollectedData_me.h5").write_bytes(b"x")
    videos = pd.DataFrame([{"subject": "m1", "session": "d1", "camera": "c", "video": "/v.mp4"}])
    lab = Pose2dPlan(videos=videos, paths=Paths(), project=str(tmp_path))
    assert lab.train_inputs() == project_files(tmp_path)  # files: Snakemake can hash them
    synth = Pose2dPlan(videos=videos, paths=Paths(), project=Paths().synth_dlc_project())
    assert synth.train_inputs() == [Paths().synth_dlc_project()]  # a rule's output folder
