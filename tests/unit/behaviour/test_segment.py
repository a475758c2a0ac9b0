"""Segmentation: recovers known clusters, selects k, smooths, writes the labels contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from brainbehave.behaviour.labels import intervals
from brainbehave.behaviour.segment import LevelSpec, Segmenter


def _blobs(n_per: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(3), n_per)
    centres = rng.normal(0, 10, (3, 6))
    x = centres[truth] + rng.normal(0, 0.5, (truth.size, 6))
    return {"level1": x, "level2": x, "level3": x}, truth


def test_recovers_clusters_and_selects_k(tmp_path: Path) -> None:
    emb, truth = _blobs()
    specs = (
        LevelSpec("level3", "activity", None, 0.0, 0.0, (2, 6)),
        LevelSpec("level1", "primitive", 3, 0.0, 0.0),
    )
    seg = Segmenter(specs, 30.0).fit([emb])
    assert seg.models_["activity"]["kmeans"].n_clusters == 3
    codes = seg.predict(emb)
    assert normalized_mutual_info_score(truth, codes["primitive"]) > 0.99
    seg.save(tmp_path / "s.pkl")
    labels = Segmenter.load(tmp_path / "s.pkl").labels(emb)
    table = intervals(labels)
    assert set(table["source"]) == {"mae"} and set(table["level"]) == {"activity", "primitive"}


def test_short_bouts_are_smoothed_away_and_nan_frames_get_no_label() -> None:
    emb, truth = _blobs()
    noisy = {k: v.copy() for k, v in emb.items()}
    noisy["level1"][100] = noisy["level1"][300]  # one frame of another cluster
    noisy["level1"][50:55] = np.nan
    spec = (LevelSpec("level1", "primitive", 3, 0.0, 0.2),)
    codes = Segmenter(spec, 30.0).fit([emb]).predict(noisy)["primitive"]
    assert codes[100] == codes[99] and (codes[50:55] == -1).all()
