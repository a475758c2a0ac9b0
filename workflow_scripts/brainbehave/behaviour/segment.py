"""Unsupervised hierarchical segmentation of MAE embeddings.

Each level is described per frame by one of two kinds of features, then reduced by PCA and
clustered by k-means fitted over the whole cohort, so cluster ``c3`` means the same in every
session:

- an embedding level, smoothed in time (NaN-aware Gaussian); with ``mirror_invariant`` the
  mean of the embeddings of the pose and of its left-right mirror image (written by
  ``behaviour_mae_embed``), so a behaviour and its mirror image (a left and a right turn,
  grooming either flank) look the same while the finest level keeps the side;
- ``usage_of`` a finer level: how often each of that level's segments occurs in a centred
  window of ``usage_window_s`` (slow states are mixtures of faster ones, and this builds the
  hierarchy from the bottom up).

With ``motion`` a level is described by the embedding's rate of change instead (the two
half-cycles of a stride, a breath or a groom stroke pass through the same poses in opposite
directions), and with ``within`` each cluster of a coarser level is split into
``n_clusters`` clusters of its own, so the finer level refines it (codes
``parent * n_clusters + sub``; every parent cluster gets its own PCA and k-means). With
``mirror_pairs`` a parent cluster of mirror-image half-cycles (left and right strides, head
sweeps left and right: its left-right antisymmetric part alternates more than its symmetric
part) is split instead by the sign of its most alternating antisymmetric direction
(:mod:`.oscillation`): k-means of the rate of change splits such a cluster along another
direction (walk ARI 0.10 within the true action).

The number of clusters is set per level, or selected (``n_clusters: auto``) as the k in
``k_range`` with the best silhouette on a subsample. Of ``n_init`` single-start k-means runs
the one kept is the one the others agree with most (highest mean ARI to the other runs, on a
subsample): the lowest-inertia start is not the reproducible one (on the virtual lab's
actions it swung between ARI 0.65 and 0.84 with the seed; the most agreed-on start gave
0.83-0.84 at every smoothing width and PCA size tried). Bouts shorter than the level's
``min_duration_s`` are given to their neighbours.

Defaults, measured on the virtual lab (``benchmarks/behaviour_mae.py``; README figures):
primitives as two halves of each action cluster, split by level 1's rate of change or, for
mirror pairs, by the alternation (NMI 0.74, ARI 0.63; by the rate of change alone 0.71,
0.54; flat k-means of level 1 into 15 clusters: 0.68, 0.49; the walk/trot and sniff clusters
go to the alternation, walk 0.10 -> 0.58 and sniff 0.29 -> 0.73 ARI within the true action;
groom strokes, shorter than a level-1 token, are still not split);
actions from the mirror-invariant level 1 smoothed over 0.15 s (level 2, pooled over a 0.8-s
unit, blurred action boundaries and its clusters split locomotion by turning side: action
ARI 0.52 there); activities as the usage of the action segments in 4-s windows. A sticky
HSMM with Gaussian emissions over the cluster assignments (:mod:`.hmm`) was tried at the
action and primitive levels and lowered the scores (action ARI 0.52 -> 0.42 on level 2), so
it is not used here; the benchmark runs its AR variant as the keypoint-MoSeq-style baseline.
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
from sklearn.metrics import adjusted_rand_score, silhouette_score

from brainbehave.behaviour.features import smooth_nan
from brainbehave.behaviour.labels import labels_dataset
from brainbehave.behaviour.oscillation import Alternation, alternation
from brainbehave.behaviour.rules import absorb_short_bouts
from brainbehave.behaviour.segment_spec import LevelSpec, check_specs, depends_on
from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)


def _fit_order(specs: Sequence[LevelSpec]) -> list[LevelSpec]:
    """Levels ordered so that each comes after the levels it depends on."""
    done: list[LevelSpec] = []
    todo = list(specs)
    while todo:
        names = {d.name for d in done}
        ready = [s for s in todo if set(depends_on(s)) <= names]
        done += ready
        todo = [s for s in todo if s not in ready]
    return done


def _mirrored(embeddings: Mapping[str, np.ndarray], spec: LevelSpec, key_name: str) -> np.ndarray:
    key = f"{spec.embedding}_mirrored"
    if key not in embeddings:
        raise InputDataError(
            f"Segmenting {spec.name!r} with {key_name} needs {key!r}, but the embeddings hold "
            f"only {sorted(embeddings)}: they were written by an older behaviour_mae_embed. "
            "Rerun it (snakemake -R behaviour_mae_embed), or set "
            f"behaviour.segment.{spec.name}.{key_name}: false."
        )
    return np.asarray(embeddings[key], dtype=np.float64)


def _embedding(embeddings: Mapping[str, np.ndarray], spec: LevelSpec, fps: float) -> np.ndarray:
    """The level's frame features; with ``mirror_pairs`` [features | antisym. | sym. part]."""
    x = np.asarray(embeddings[spec.embedding], dtype=np.float64)
    if spec.mirror_invariant:
        x = 0.5 * (x + _mirrored(embeddings, spec, "mirror_invariant"))
    x = smooth_nan(x, spec.smooth_s * fps)
    out = np.gradient(x, axis=0) * fps if spec.motion and x.shape[0] > 1 else x
    if spec.mirror_pairs and spec.within is not None:
        xm = smooth_nan(_mirrored(embeddings, spec, "mirror_pairs"), spec.smooth_s * fps)
        out = np.concatenate([out, 0.5 * (x - xm), 0.5 * (x + xm)], axis=1)
    return out


def segment_usage(codes: np.ndarray, n_codes: int, window: int) -> np.ndarray:
    """(T, n_codes) share of each code in a centred window; NaN where the frame has no code."""
    ok = codes >= 0
    onehot = np.full((codes.size, n_codes), np.nan)
    onehot[ok] = np.eye(n_codes)[codes[ok]]
    usage = pd.DataFrame(onehot).rolling(max(1, window), center=True, min_periods=1).mean()
    return np.where(ok[:, None], usage.to_numpy(), np.nan)


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


def consensus_kmeans(x: np.ndarray, k: int, n_init: int, seed: int) -> KMeans:
    """Of ``n_init`` single-start k-means fits, the one with the highest mean ARI to the others.

    The agreement is measured on a subsample of at most 5000 frames.
    """
    runs = [KMeans(k, n_init=1, random_state=seed + i).fit(x) for i in range(max(1, n_init))]
    if len(runs) == 1:
        return runs[0]
    rng = np.random.default_rng(seed)
    sub = x[rng.choice(x.shape[0], size=min(5000, x.shape[0]), replace=False)]
    labels = [run.predict(sub) for run in runs]
    agree = [sum(adjusted_rand_score(a, b) for b in labels) for a in labels]
    best = int(np.argmax(agree))
    logger.info("k=%d: start %d of %d agrees most with the others", k, best, len(runs))
    return runs[best]


@dataclass
class Segmenter:
    """Cohort-level PCA + k-means per level.

    Attributes
    ----------
    specs
        The levels, coarse to fine.
    fps
        Frame rate the smoothing widths were converted with.
    models_
        Per level name: its PCA (+ motifs) and KMeans, fitted by :meth:`fit`.
    """

    specs: tuple[LevelSpec, ...]
    fps: float
    seed: int = 0
    max_components: int = 16

    def _features(self, spec: LevelSpec, embeddings: Mapping, codes: Mapping) -> np.ndarray:
        """The frames' description before PCA: an embedding, or a finer level's usage."""
        if spec.usage_of is None:
            return _embedding(embeddings, spec, self.fps)
        k_src = self.models_[spec.usage_of]["n_codes"]
        return segment_usage(codes[spec.usage_of], k_src, round(spec.usage_window_s * self.fps))

    def fit(self, sessions: Sequence[Mapping[str, np.ndarray]]) -> Segmenter:
        """Fit each level's PCA (+ motifs) and k-means on the frames of every session."""
        check_specs(self.specs)
        self.models_: dict[str, dict] = {}
        codes: list[dict[str, np.ndarray]] = [{} for _ in sessions]
        for spec in _fit_order(self.specs):
            prepped = [self._features(spec, s, c) for s, c in zip(sessions, codes, strict=True)]
            if spec.within is None:
                model = self._fit_flat(spec, prepped)
            else:
                model = self._fit_within(spec, prepped, [c[spec.within] for c in codes])
            self.models_[spec.name] = model
            for p, c in zip(prepped, codes, strict=True):
                c[spec.name] = self._codes(spec, p, c)
        return self

    def _fit_flat(self, spec: LevelSpec, prepped: Sequence[np.ndarray]) -> dict:
        """PCA (+ motifs) and k-means over every frame."""
        x = np.concatenate(prepped)
        x = x[np.isfinite(x).all(axis=1)]
        model = {"pca": PCA(min(self.max_components, x.shape[1]), random_state=self.seed)}
        z = model["pca"].fit_transform(x)
        if spec.usage_k:
            model["motifs"] = KMeans(spec.usage_k, n_init=4, random_state=self.seed).fit(z)
            z = np.concatenate([self._usage(spec, model, p)[1] for p in prepped])
            z = z[np.isfinite(z).all(axis=1)]
        k = spec.n_clusters or _select_k(z, spec, self.seed)
        model["kmeans"] = consensus_kmeans(z, k, spec.n_init, self.seed)
        model["n_codes"] = k
        return model

    def _fit_within(
        self, spec: LevelSpec, prepped: Sequence[np.ndarray], parents: Sequence[np.ndarray]
    ) -> dict:
        """Per cluster of the ``within`` level: its own PCA and k-means into n_clusters.

        With ``mirror_pairs``, a cluster of mirror-image half-cycles is split by the sign of
        its most alternating antisymmetric direction instead (:mod:`.oscillation`).
        """
        x, parent = np.concatenate(prepped), np.concatenate(parents)
        ok = np.isfinite(x).all(axis=1) & (parent >= 0)
        n_sub = spec.n_clusters or 2
        n_feat = x.shape[1] // 3 if spec.mirror_pairs else x.shape[1]
        parts: dict[int, dict] = {}
        n_parent = self.models_[spec.within]["n_codes"]
        for p in range(n_parent):
            xp = x[ok & (parent == p), :n_feat]
            if xp.shape[0] <= 4 * n_sub:  # too few frames to split: one sub-cluster
                continue
            if spec.mirror_pairs:
                masks = [np.asarray(par) == p for par in parents]
                alt = self._mirror_split(spec, prepped, masks, n_feat)
                if alt is not None:
                    parts[p] = {"alternation": alt}
                    continue
            pca = PCA(min(self.max_components, *xp.shape), random_state=self.seed)
            z = pca.fit_transform(xp)
            parts[p] = {"pca": pca, "kmeans": consensus_kmeans(z, n_sub, spec.n_init, self.seed)}
        return {"parts": parts, "n_sub": n_sub, "n_codes": n_sub * n_parent, "n_feat": n_feat}

    def _mirror_split(
        self, spec: LevelSpec, prepped: Sequence[np.ndarray], masks: Sequence[np.ndarray], d: int
    ) -> Alternation | None:
        """The antisymmetric part's alternation if it beats the symmetric part's, else None."""
        lo, hi = spec.half_cycle_s
        lags = range(max(1, round(lo * self.fps)), max(1, round(hi * self.fps)) + 1)
        anti = alternation([f[:, d : 2 * d] for f in prepped], masks, lags, centered=False)
        sym = alternation([f[:, 2 * d :] for f in prepped], masks, lags, centered=True)
        logger.info(
            "%s: alternation of the antisymmetric part %.2f (lag %d), symmetric %.2f (lag %d)",
            spec.name, anti.strength, anti.lag, sym.strength, sym.lag,
        )  # fmt: skip
        return anti if anti.strength < sym.strength else None

    def _usage(self, spec: LevelSpec, model: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ok, features): PCA scores, or motif usage in a window when the level has motifs."""
        ok = np.isfinite(x).all(axis=1)
        z = np.full((x.shape[0], model["pca"].n_components_), np.nan)
        if ok.any():
            z[ok] = model["pca"].transform(x[ok])
        if "motifs" not in model:
            return ok, z
        codes = np.full(x.shape[0], -1)
        if ok.any():
            codes[ok] = model["motifs"].predict(z[ok])
        return ok, segment_usage(codes, spec.usage_k, round(spec.usage_window_s * self.fps))

    def _within_codes(
        self, model: dict, features: np.ndarray, parent: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ok, codes) of a level that splits each cluster of its parent level."""
        ok = np.isfinite(features).all(axis=1) & (parent >= 0)
        codes = np.full(features.shape[0], -1, dtype=np.int16)
        codes[ok] = parent[ok] * model["n_sub"]
        d = model.get("n_feat", features.shape[1])
        for p, part in model["parts"].items():
            m = ok & (parent == p)
            if not m.any():
                continue
            if "alternation" in part:
                codes[m] += part["alternation"].project(features[m, d : 2 * d]) > 0
            else:
                codes[m] += part["kmeans"].predict(part["pca"].transform(features[m, :d]))
        return ok, codes

    def _codes(self, spec: LevelSpec, features: np.ndarray, done: Mapping) -> np.ndarray:
        """Cluster codes of one session's frames, short bouts absorbed, -1 without features.

        ``done`` holds the codes of the levels already segmented (a ``within`` parent).
        """
        model = self.models_[spec.name]
        if spec.within is not None:
            ok, codes = self._within_codes(model, features, np.asarray(done[spec.within]))
        else:
            ok, z = self._usage(spec, model, features)
            codes = np.full(z.shape[0], -1, dtype=np.int16)
            if ok.any():
                codes[ok] = model["kmeans"].predict(z[ok])
        n_min = int(round(spec.min_duration_s * self.fps))
        for c in range(model["n_codes"]):
            codes = absorb_short_bouts(codes, c, n_min)
        codes[~ok] = -1
        return codes

    def predict(self, embeddings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-frame cluster codes of each level (-1 where the embedding is NaN)."""
        out: dict[str, np.ndarray] = {}
        for spec in _fit_order(self.specs):
            out[spec.name] = self._codes(spec, self._features(spec, embeddings, out), out)
        return {spec.name: out[spec.name] for spec in self.specs}

    def labels(self, embeddings: Mapping[str, np.ndarray], attrs: Mapping | None = None):
        """Labels dataset (contract of :mod:`.labels`, source ``mae``)."""
        codes = self.predict(embeddings)
        levels = {
            spec.name: (
                [f"c{i}" for i in range(self.models_[spec.name]["n_codes"])],
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
