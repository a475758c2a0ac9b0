"""Real data: the eks fly (3 cameras, 12 leg keypoints, model predictions) triangulates cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from brainbehave.calibration import read_calibration
from brainbehave.pose3d import TriangulationSettings, triangulate


def _read(folder: Path, camera: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    (path,) = folder.glob(f"*_{camera}_*rng=0.csv")
    table = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    keypoints = list(dict.fromkeys(table.columns.get_level_values(1)))
    xy = np.stack([table.xs(c, axis=1, level=2).to_numpy(float) for c in ("x", "y")], axis=-1)
    return xy, table.xs("likelihood", axis=1, level=2).to_numpy(float), keypoints


def test_fly_legs_reproject_within_2px_and_keep_their_length(shared_data: Path) -> None:
    folder = shared_data / "eks_fly_3cam"
    cameras = read_calibration(folder / "calibration.toml")
    views = [_read(folder, name) for name in cameras]
    keypoints = views[0][2]
    pts = np.stack([v[0] for v in views])
    lik = np.stack([v[1] for v in views])
    tri = triangulate(pts, lik, list(cameras.values()), TriangulationSettings())
    assert np.isfinite(tri.xyz).all()
    medians = np.nanmedian(tri.reprojection_error, axis=(1, 2))
    assert (medians < 2.0).all(), medians  # px; the calibration's own error is 2.1 px
    for leg in ("L1", "L2", "L3", "R1", "R2", "R3"):
        a, b = keypoints.index(f"{leg}A"), keypoints.index(f"{leg}B")
        length = np.linalg.norm(tri.xyz[:, a] - tri.xyz[:, b], axis=-1)
        assert np.std(length) / np.mean(length) < 0.08, leg
