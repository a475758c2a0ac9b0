"""DeepLabCut helpers that need no training: settings, split, project copy, bodyparts, weights."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from brainbehave.errors import ConfigError, InputDataError
from brainbehave.pose2d.dlc import TrainSettings, evaluation_batch_size
from brainbehave.pose2d.project import (
    check_bodyparts,
    copy_project,
    labelled_frame_sizes,
    n_labelled_frames,
    read_project,
    split_indices,
)
from brainbehave.pose2d.weights import MissingWeightsError, check_backbone_weights


def test_split_is_seeded_disjoint_and_complete() -> None:
    train, test = split_indices(116, 0.8, seed=0)
    assert len(train) == 93 and len(test) == 23
    assert sorted(train + test) == list(range(116))
    assert split_indices(116, 0.8, seed=0) == (train, test)
    assert split_indices(116, 0.8, seed=1) != (train, test)
    assert split_indices(5, 0.8, 0, test=[4, 1]) == ([0, 2, 3], [1, 4])
    with pytest.raises(ConfigError, match=r"test_indices \[7\] are outside 0..4"):
        split_indices(5, 0.8, 0, test=[7])


def test_settings_refuse_unknown_keys_and_bad_values() -> None:
    assert TrainSettings.from_mapping({"epochs": 3, "test_indices": [1, 2]}).test_indices == (1, 2)
    with pytest.raises(ConfigError, match=r"Unknown pose2d.train setting\(s\) \['epoch'\]"):
        TrainSettings.from_mapping({"epoch": 3})
    with pytest.raises(ConfigError, match="init must be one of"):
        TrainSettings(init="imagenet")
    with pytest.raises(ConfigError, match="train_fraction must lie in"):
        TrainSettings(train_fraction=1.0)
    with pytest.raises(ConfigError, match="workers must be >= 0"):
        TrainSettings(workers=-1)


def test_bodyparts_that_differ_from_the_config_are_named() -> None:
    cfg = {"bodyparts": ["snout", "leftear", "rightear", "tailbase"]}
    check_bodyparts(cfg, None, "project")  # empty: the project's are accepted
    check_bodyparts(cfg, ["snout", "leftear", "rightear", "tailbase"], "project")
    with pytest.raises(
        ConfigError, match=r"project /lab/p: .*missing \['nose'\], extra \['snout'\]"
    ):
        check_bodyparts(cfg, ["nose", "leftear", "rightear", "tailbase"], "project /lab/p")


def test_copy_of_a_read_only_project_is_trainable(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "dlc_openfield"
    config = copy_project(src, tmp_path / "model")
    cfg = read_project(config)
    assert cfg["project_path"] == str(tmp_path / "model")
    assert list(cfg["video_sets"]) == [str(tmp_path / "model" / "videos" / "m4s1.mp4")]
    assert cfg["video_sets"][str(tmp_path / "model" / "videos" / "m4s1.mp4")] == {
        "crop": "0, 640, 0, 480"
    }
    assert n_labelled_frames(config) == 116
    (tmp_path / "model" / "labeled-data" / "m4s1" / "new.txt").write_text("writable")
    assert yaml.safe_load((src / "config.yaml").read_text())["project_path"].startswith("WILL")


def test_evaluation_batches_frames_only_when_they_share_one_size(
    shared_data: Path, tmp_path: Path
) -> None:
    from PIL import Image

    openfield = shared_data / "dlc_openfield"
    assert labelled_frame_sizes(openfield) == {(640, 480)}  # the real project: one camera
    assert evaluation_batch_size(openfield, 8) == 8
    mixed = tmp_path / "project"
    for video, size in (("cam1", (256, 192)), ("cam2", (320, 240))):
        (mixed / "labeled-data" / video).mkdir(parents=True)
        Image.new("RGB", size).save(mixed / "labeled-data" / video / "img000.png")
    (mixed / "labeled-data" / "cam1" / "CollectedData_lab.csv").write_text("scorer\n")
    assert labelled_frame_sizes(mixed) == {(256, 192), (320, 240)}
    assert evaluation_batch_size(mixed, 8) == 1  # frames of two sizes cannot be stacked


def test_missing_project_and_labels(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="Set pose2d.dlc_project"):
        read_project(tmp_path / "config.yaml")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "config.yaml").write_text(
        yaml.safe_dump({"Task": "t", "scorer": "s", "date": "d", "bodyparts": ["a"]})
    )
    with pytest.raises(InputDataError, match="no folders in labeled-data"):
        copy_project(tmp_path / "p", tmp_path / "copy")


def test_pretrained_weights_missing_offline_fail_at_once(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    backbone = {"type": "CSPNeXt", "model_name": "cspnext_s", "backbone_weight_folder": tmp_path}
    t0 = time.perf_counter()
    with pytest.raises(MissingWeightsError, match=r"'cspnext_s'.*HF_HUB_OFFLINE is set.*scratch"):
        check_backbone_weights(backbone, "cspnext_s")
    assert time.perf_counter() - t0 < 5  # no retry loop
    (tmp_path / "cspnext_s.pt").write_bytes(b"weights")
    check_backbone_weights(backbone, "cspnext_s")  # on disk: fine offline


def test_superanimal_without_weights_offline_fails_at_once(monkeypatch, tmp_path: Path) -> None:
    from brainbehave.pose2d import weights

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(weights, "superanimal_folder", lambda: tmp_path)
    with pytest.raises(MissingWeightsError, match=r"superanimal_topviewmouse_hrnet_w32\.pt.*"):
        weights.check_superanimal_weights(
            "superanimal_topviewmouse", "hrnet_w32", "fasterrcnn_resnet50_fpn_v2"
        )
    for name in ("hrnet_w32", "fasterrcnn_resnet50_fpn_v2"):
        (tmp_path / f"superanimal_topviewmouse_{name}.pt").write_bytes(b"w")
    weights.check_superanimal_weights(
        "superanimal_topviewmouse", "hrnet_w32", "fasterrcnn_resnet50_fpn_v2"
    )


def test_superanimal_analysis_stops_before_deeplabcut_without_weights(
    monkeypatch, tmp_path: Path, video20: Path
) -> None:
    from brainbehave.pose2d import weights
    from brainbehave.pose2d.superanimal import SuperAnimalSettings, analyze_superanimal

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(weights, "superanimal_folder", lambda: tmp_path)
    with pytest.raises(MissingWeightsError, match="HF_HUB_OFFLINE is set.*pose2d.method: train"):
        analyze_superanimal(video20, tmp_path / "out.h5", SuperAnimalSettings())
    assert not (tmp_path / "out.h5").exists()
