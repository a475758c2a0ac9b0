"""Small pose files and videos written in tmp_path for the pose2d unit tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

KEYPOINTS = ("nose", "ear", "tail")


def write_video(path: Path, n_frames: int, size=(64, 48), fourcc: str = "mp4v") -> Path:
    """A small video of a moving square (``n_frames`` may be 0)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30.0, size)
    for i in range(n_frames):
        frame = np.full((size[1], size[0], 3), 40, np.uint8)
        frame[10:20, i % (size[0] - 10) : i % (size[0] - 10) + 10] = 220
        writer.write(frame)
    writer.release()
    return path


def dlc_frame(n: int = 20, scorer: str = "DLC_test", seed: int = 0) -> pd.DataFrame:
    """A DeepLabCut output table: (x, y, likelihood) per bodypart, integer frame index."""
    rng = np.random.default_rng(seed)
    columns = pd.MultiIndex.from_product(
        [[scorer], list(KEYPOINTS), ["x", "y", "likelihood"]],
        names=["scorer", "bodyparts", "coords"],
    )
    data = rng.uniform(5, 40, (n, len(KEYPOINTS), 3))
    data[..., 2] = rng.uniform(0.7, 1.0, (n, len(KEYPOINTS)))
    return pd.DataFrame(data.reshape(n, -1), columns=columns)


@pytest.fixture
def make_video():
    """Factory: ``make_video(path, n_frames, size=(64, 48), fourcc="mp4v")``."""
    return write_video


@pytest.fixture
def dlc_h5(tmp_path: Path) -> Path:
    path = tmp_path / "camADLC_test.h5"
    dlc_frame().to_hdf(path, key="df_with_missing", mode="w")
    return path


@pytest.fixture
def video20(tmp_path: Path) -> Path:
    return write_video(tmp_path / "camA.mp4", 20)
