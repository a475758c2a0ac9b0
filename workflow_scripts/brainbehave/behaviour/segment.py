"""Unsupervised hierarchical segmentation of MAE embeddings.

Each embedding level is smoothed in time (a NaN-aware Gaussian whose width grows with the
level), reduced by PCA and clustered by k-means fitted over the whole cohort, so cluster
``c3`` means the same in every session. The number of clusters is set per level, or selected
(``n_clusters: auto``) as the k in ``k_range`` with the best silhouette on a subsample. Bouts
shorter than the level's ``min_duration_s`` are given to their neighbours. Level 3 (coarse)
gives activity-like segments, level 2 actions, level 1 motion primitives.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from brainbehave.behaviour.features import smooth_nan
from brainbehave.behaviour.labels import labels_dataset
from brainbehave.behaviour.rules import absorb_short_bouts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LevelSpec:
    """How one embedding level is segmented.

    Attributes
    ----------
    embedding
        The MAE level (``level1`` fine ... ``level3`` coarse).
    name
        The hierarchy level its segments stand for (``primitive``, ``action``, ``activity``).
    n_clusters
        Number of clusters, or None to select it by silhouette over ``k_range``.
    smooth_s
        Gaussian sigma (s) of the temporal smoothing of the embedding before clustering.
    min_duration_s
        Shorter bouts are merged into their neighbours.
    usage_k, usage_window_s
        When set, the level is first cut into ``usage_k`` motifs, and each frame is described
        by how often each motif occurs in a centred window of ``usage_window_s`` before the
        final clustering: slow states (activities) are mixtures of faster motifs.
    """

    embedding: str
    name: str
    n_clusters: int | None
    smooth_s: float
    min_duration_s: float
    k_range: tuple[int, int] = (2, 16)
    usage_k: int | None = None
    usage_window_s: float = 4.0


# Chosen on the virtual lab with the MAE's pooled embeddings (benchmarks/behaviour_mae.py):
# level 3 is already slow (pooled over 5.6 s), so it needs no motif-usage step; level 2 is
# smoothed over about one stride cycle so that gait phase does not split actions.
DEFAULT_LEVELS: tuple[LevelSpec, ...] = (
    LevelSpec("level3", "activity", 3, 1.0, 3.0),
    LevelSpec("level2", "action", 8, 0.3, 0.3),
    LevelSpec("level1", "primitive", 15, 0.05, 0.07),
)


def level_specs(settings: Mapping[str, Mapping]) -> tuple[LevelSpec, ...]:
    """LevelSpecs from the config's ``behaviour.segment`` mapping (``n_clusters: auto``)."""
    out = []
    for default in DEFAULT_LEVELS:
        given = dict(settings.get(default.name, {}))
        k = given.get("n_clusters", default.n_clusters)
        out.append(
            LevelSpec(
                default.embedding,
                default.name,
                None if k == "auto" else int(k),
                float(given.get("smooth_s", default.smooth_s)),
                float(given.get("min_duration_s", default.min_duration_s)),
                tuple(given.get("k_range", default.k_range)),
                given.get("usage_k", default.usage_k),
                float(given.get("usage_window_s", default.usage_window_s)),
            )
        )
    return tuple(out)


def _prepare(emb: np.ndarray, spec: LevelSpec, fps: float) -> np.ndarray:
    return smooth_nan(np.asarray(emb, dtype=np.float64), spec.smooth_s * fps)


def _select_k(x: np.ndarray, spec: LevelSpec, seed: int) -> int:
    rng = np.random.default_rng(seed)
    sub = x[rng.choice(x.shape[0], size=min(3000, x.shape[0]), replace=False)]
    lo, hi = spec.k_range
    scores = {}
    for k in range(max(2, lo), min(hi, sub.shape[0] - 1) + 1):
        labels = KMeans(k, n_init=3, random_state=seed).fit_predict(sub)
        scores[k] = silhouette_score(sub, labels)
    best = max(scores, key=scores.get)
    logger.info("%s: k=%d selected by silhouette (%s)", spec.name, best, scores)
    return best


@dataclass
class Segmenter:
    """Cohort-level PCA + k-means per level.

    Attributes
    ----------
    specs
        The levels, coarse to fine.
    fps
        Frame rate the smoothing widths were converted with.
    models
        Per level name: (PCA, KMeans) fitted by :meth:`fit`.
    """

    specs: tuple[LevelSpec, ...]
    fps: float
    seed: int = 0
    max_components: int = 16

    def fit(self, sessions: Sequence[Mapping[str, np.ndarray]]) -> Segmenter:
        """Fit each level's PCA (+ motifs) and k-means on the frames of every session."""
        self.models_: dict[str, dict] = {}
        for spec in self.specs:
            prepped = [_prepare(s[spec.embedding], spec, self.fps) for s in sessions]
            x = np.concatenate(prepped)
            x = x[np.isfinite(x).all(axis=1)]
            model = {"pca": PCA(min(self.max_components, x.shape[1]), random_state=self.seed)}
            z = model["pca"].fit_transform(x)
            if spec.usage_k:
                model["motifs"] = KMeans(spec.usage_k, n_init=4, random_state=self.seed).fit(z)
                z = np.concatenate([self._usage(spec, model, p)[1] for p in prepped])
                z = z[np.isfinite(z).all(axis=1)]
            k = spec.n_clusters or _select_k(z, spec, self.seed)
            model["kmeans"] = KMeans(k, n_init=4, random_state=self.seed).fit(z)
            self.models_[spec.name] = model
        return self

    def _usage(self, spec: LevelSpec, model: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ok, features): PCA scores, or motif usage in a window when the level has motifs."""
        ok = np.isfinite(x).all(axis=1)
        z = np.full((x.shape[0], model["pca"].n_components_), np.nan)
        if ok.any():
            z[ok] = model["pca"].transform(x[ok])
        if "motifs" not in model:
            return ok, z
        onehot = np.full((x.shape[0], spec.usage_k), np.nan)
        if ok.any():
            onehot[ok] = np.eye(spec.usage_k)[model["motifs"].predict(z[ok])]
        win = max(1, int(round(spec.usage_window_s * self.fps)))
        usage = pd.DataFrame(onehot).rolling(win, center=True, min_periods=1).mean().to_numpy()
        return ok, np.where(ok[:, None], usage, np.nan)

    def predict(self, embeddings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-frame cluster codes of each level (-1 where the embedding is NaN)."""
        out = {}
        for spec in self.specs:
            model = self.models_[spec.name]
            ok, z = self._usage(spec, model, _prepare(embeddings[spec.embedding], spec, self.fps))
            codes = np.full(z.shape[0], -1, dtype=np.int16)
            if ok.any():
                codes[ok] = model["kmeans"].predict(z[ok])
            n_min = int(round(spec.min_duration_s * self.fps))
            for c in range(model["kmeans"].n_clusters):
                codes = absorb_short_bouts(codes, c, n_min)
            codes[~ok] = -1
            out[spec.name] = codes
        return out

    def labels(self, embeddings: Mapping[str, np.ndarray], attrs: Mapping | None = None):
        """Labels dataset (contract of :mod:`.labels`, source ``mae``)."""
        codes = self.predict(embeddings)
        levels = {
            spec.name: (
                [f"c{i}" for i in range(self.models_[spec.name]["kmeans"].n_clusters)],
                codes[spec.name],
            )
            for spec in self.specs
        }
        return labels_dataset(levels, self.fps, "mae", attrs)

    def save(self, path: str | Path) -> None:
        """Pickle the fitted segmenter (a cohort-level artefact of this pipeline only)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump(self, fh)

    @staticmethod
    def load(path: str | Path) -> Segmenter:
        """Read a segmenter written by :meth:`save`."""
        with open(path, "rb") as fh:
            return pickle.load(fh)
