"""DeepLabCut project writer."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from brainbehave.synth.dlc_project import write_dlc_project

BODYPARTS = ["nose", "left_ear", "right_ear"]
EDGES = [("nose", "left_ear"), ("nose", "right_ear")]


def labelled_frames(rng: np.random.Generator, n: int = 5, size=(64, 48)):
    images = rng.integers(0, 256, (n, size[1], size[0], 3), dtype=np.uint8)
    keypoints = rng.uniform(0, min(size) - 1, (n, len(BODYPARTS), 2))
    keypoints[1, 2] = np.nan
    return images, keypoints


@pytest.fixture
def labelled():
    rng = np.random.default_rng(0)
    return {"label_camA": labelled_frames(rng), "label_camB": labelled_frames(rng, n=4)}


def make_video(path, n: int = 3, size=(64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for _ in range(n):
        writer.write(np.zeros((size[1], size[0], 3), np.uint8))
    writer.release()


def test_layout_config_and_labels(tmp_path, labelled) -> None:
    video = tmp_path / "src.mp4"
    make_video(video)
    project = tmp_path / "dlc"
    config = write_dlc_project(
        project,
        "virtuallab",
        "synth",
        BODYPARTS,
        EDGES,
        labelled,
        videos={"label_camA": video},
        date="Feb3",
    )
    assert config == project.absolute() / "config.yaml"
    cfg = yaml.safe_load(config.read_text())
    assert cfg["Task"] == "virtuallab" and cfg["scorer"] == "synth" and cfg["date"] == "Feb3"
    assert cfg["project_path"] == str(project.absolute())
    assert cfg["engine"] == "pytorch" and cfg["multianimalproject"] is False
    assert cfg["bodyparts"] == BODYPARTS
    assert cfg["skeleton"] == [list(e) for e in EDGES]
    assert cfg["TrainingFraction"] == [0.8] and cfg["iteration"] == 0
    assert cfg["video_sets"] == {
        str(project.absolute() / "videos" / "label_camA.mp4"): {"crop": "0, 64, 0, 48"},
        str(project.absolute() / "videos" / "label_camB.mp4"): {"crop": "0, 64, 0, 48"},
    }
    assert (project / "videos" / "label_camA.mp4").read_bytes() == video.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dlc", "src.mp4"]

    for stem, (images, keypoints) in labelled.items():
        folder = project / "labeled-data" / stem
        pngs = sorted(folder.glob("img*.png"))
        assert [p.name for p in pngs] == [f"img{i:05d}.png" for i in range(len(images))]
        # PNGs hold the RGB frames (cv2 reads BGR)
        np.testing.assert_array_equal(cv2.imread(str(pngs[1]))[..., ::-1], images[1])
        df = pd.read_hdf(folder / "CollectedData_synth.h5", key="df_with_missing")
        assert df.columns.names == ["scorer", "bodyparts", "coords"]
        assert list(df.columns.get_level_values("coords")[:2]) == ["x", "y"]
        assert df.index[0] == ("labeled-data", stem, "img00000.png")
        np.testing.assert_array_equal(df.to_numpy().reshape(keypoints.shape), keypoints)
        csv = pd.read_csv(folder / "CollectedData_synth.csv", header=[0, 1, 2], index_col=[0, 1, 2])
        np.testing.assert_allclose(csv.to_numpy(), df.to_numpy())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["label_camA"][1].__setitem__((0, 0), [1e4, 1.0]), "outside the 64x48 image"),
        (lambda d: d.__setitem__("a/b", d.pop("label_camA")), "plain file name"),
        (
            lambda d: d.__setitem__("x", (d["label_camA"][0], d["label_camA"][1][:, :2])),
            r"keypoints2d of shape \(5, 3, 2\)",
        ),
        (
            lambda d: d.__setitem__("x", (d["label_camA"][0][..., 0], d["label_camA"][1])),
            r"\(N, H, W, 3\) uint8",
        ),
    ],
)
def test_refuses_bad_labels(tmp_path, labelled, change, match) -> None:
    change(labelled)
    with pytest.raises(ValueError, match=match):
        write_dlc_project(tmp_path / "dlc", "t", "s", BODYPARTS, EDGES, labelled)
    assert not list(tmp_path.iterdir())


def test_refuses_existing_folder_and_unknown_edge(tmp_path, labelled) -> None:
    with pytest.raises(ValueError, match=r"unknown: \['tail'\]"):
        write_dlc_project(tmp_path / "dlc", "t", "s", BODYPARTS, [("nose", "tail")], labelled)
    (tmp_path / "dlc").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        write_dlc_project(tmp_path / "dlc", "t", "s", BODYPARTS, EDGES, labelled)


@pytest.mark.slow
def test_deeplabcut_accepts_the_project(tmp_path, labelled, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    deeplabcut = pytest.importorskip("deeplabcut")  # imported here: 5-9 s, 1.5 GB
    config = write_dlc_project(tmp_path / "dlc", "virtuallab", "synth", BODYPARTS, EDGES, labelled)
    deeplabcut.create_training_dataset(str(config), net_type="cspnext_s", userfeedback=False)
    datasets = tmp_path / "dlc" / "training-datasets" / "iteration-0"
    merged = next(datasets.glob("UnaugmentedDataSet_*/CollectedData_synth.h5"))
    df = pd.read_hdf(merged)
    assert len(df) == sum(len(images) for images, _ in labelled.values())
    assert list(datasets.glob("UnaugmentedDataSet_*/Documentation_data-*.pickle"))
    train = tmp_path / "dlc" / "dlc-models-pytorch" / "iteration-0"
    assert list(train.glob("*shuffle1/train/pytorch_config.yaml"))
