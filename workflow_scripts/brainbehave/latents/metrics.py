"""The trust scorecard's measures: decoding, consistency, identifiability, similarity.

Every decoder is fitted on the training blocks and scored on held-out contiguous time blocks
(``split == 1``), so temporal autocorrelation cannot leak test data into the fit.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, r2_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from brainbehave.errors import InputDataError


def _split(split: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    split = np.asarray(split)
    if split.shape != (n,):
        raise InputDataError(f"Expected a split of shape ({n},), but got {split.shape}.")
    train, test = split == 0, split == 1
    if train.sum() < 2 or test.sum() < 1:
        raise InputDataError(
            f"Decoding needs train and test bins; got {int(train.sum())} train and "
            f"{int(test.sum())} test."
        )
    return train, test


def decode(
    embedding: np.ndarray, target: np.ndarray, split: np.ndarray, method: str = "knn", k: int = 25
) -> dict[str, float]:
    """Decode a behaviour variable from the embedding on held-out time blocks.

    Integer targets are classified (``accuracy``, macro ``f1``); float targets regressed
    (``r2`` over all columns, and ``median_error``: median Euclidean error in the target's
    units), with ``chance_r2`` and ``chance_median_error`` beside them: the same scores of
    predicting the training bins' mean everywhere. R² is taken against the test bins' own
    mean, so chance is below zero when the held-out blocks differ from the training ones
    (a short session's held-out places), and a decoder is only as good as its margin over it.
    """
    emb = np.asarray(embedding, dtype=float)
    y = np.asarray(target)
    train, test = _split(split, len(emb))
    discrete = np.issubdtype(y.dtype, np.integer)
    if discrete:
        model = (
            KNeighborsClassifier(n_neighbors=min(k, int(train.sum())))
            if method == "knn"
            else LogisticRegression(max_iter=500)
        )
        pred = model.fit(emb[train], y[train]).predict(emb[test])
        return {
            "accuracy": float(accuracy_score(y[test], pred)),
            "f1": float(f1_score(y[test], pred, average="macro")),
        }
    y2 = y.reshape(len(y), -1).astype(float)
    model = (
        KNeighborsRegressor(n_neighbors=min(k, int(train.sum())))
        if method == "knn"
        else Ridge(alpha=1e-3)
    )
    # Ridge returns (n,) for a one-column target: keep (n, columns) for the errors below
    pred = model.fit(emb[train], y2[train]).predict(emb[test]).reshape(int(test.sum()), -1)
    mean = np.broadcast_to(y2[train].mean(axis=0), y2[test].shape)
    return {
        "r2": float(r2_score(y2[test], pred)),
        "median_error": float(np.median(np.linalg.norm(pred - y2[test], axis=1))),
        "chance_r2": chance_r2(y2, split),
        "chance_median_error": float(np.median(np.linalg.norm(mean - y2[test], axis=1))),
    }


def linear_r2(source: np.ndarray, target: np.ndarray, split: np.ndarray | None = None) -> float:
    """R² of the best affine map from ``source`` to ``target`` (on held-out bins if split)."""
    a, b = np.asarray(source, float), np.asarray(target, float).reshape(len(target), -1)
    if split is None:
        return float(LinearRegression().fit(a, b).score(a, b))
    train, test = _split(split, len(a))
    return float(LinearRegression().fit(a[train], b[train]).score(a[test], b[test]))


def consistency(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of R²(a→b) and R²(b→a) after linear alignment (1: the same space up to a map)."""
    return 0.5 * (linear_r2(a, b) + linear_r2(b, a))


def identifiability(embedding: np.ndarray, latents: np.ndarray, split: np.ndarray) -> float:
    """R² of the true latents predicted linearly from the embedding, on held-out blocks."""
    return linear_r2(embedding, latents, split)


def chance_r2(target: np.ndarray, split: np.ndarray) -> float:
    """Held-out R² of predicting the training blocks' mean everywhere (the chance level).

    Below zero when the held-out blocks lie elsewhere (slow latents or short sessions): an
    identifiability or decoding R² means something only by its margin over this.
    """
    y = np.asarray(target, float).reshape(len(target), -1)
    train, test = _split(split, len(y))
    return float(r2_score(y[test], np.broadcast_to(y[train].mean(axis=0), y[test].shape)))


def _centre(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x - x.mean(axis=0)


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear centred kernel alignment (0 unrelated … 1 identical up to rotation/scale)."""
    a, b = _centre(a), _centre(b)
    num = np.linalg.norm(a.T @ b) ** 2
    return float(num / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)))


def cca(a: np.ndarray, b: np.ndarray) -> float:
    """Mean canonical correlation between two representations of the same time points."""
    qa, _ = np.linalg.qr(_centre(a))
    qb, _ = np.linalg.qr(_centre(b))
    s = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.clip(s, 0, 1)[: min(a.shape[1], b.shape[1])].mean())


def rsa(a: np.ndarray, b: np.ndarray, n: int = 300, seed: int = 0) -> float:
    """Spearman correlation of the two representational dissimilarity matrices (n samples)."""
    idx = np.random.default_rng(seed).choice(len(a), min(n, len(a)), replace=False)
    iu = np.triu_indices(len(idx), 1)

    def rdm(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)[idx]
        return np.linalg.norm(x[:, None] - x[None], axis=-1)[iu]

    return float(spearmanr(rdm(a), rdm(b)).statistic)


def procrustes_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Procrustes shape distance: residual after the best rotation and scale (0 = same shape).

    Both are centred and scaled to unit Frobenius norm; dimensions are zero-padded to match.
    """
    a, b = _centre(a), _centre(b)
    d = max(a.shape[1], b.shape[1])
    a, b = np.pad(a, ((0, 0), (0, d - a.shape[1]))), np.pad(b, ((0, 0), (0, d - b.shape[1])))
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    rotation, scale = orthogonal_procrustes(a, b)
    return float(np.sqrt(max(0.0, 1.0 - scale**2)))


def similarity(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """All similarity measures between two representations of the same time points."""
    return {
        "cka": linear_cka(a, b),
        "cca": cca(a, b),
        "rsa": rsa(a, b),
        "procrustes": procrustes_distance(a, b),
    }


def perturb(x: np.ndarray, kind: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """A damaged copy of (time, units) data for the robustness test.

    ``noise``: Poisson noise of ``level`` times the unit's mean rate added; ``drop_units``:
    that fraction of units silenced; ``missing_frames``: that fraction of bins zeroed (lost).
    """
    x = np.asarray(x, dtype=np.float32).copy()
    if kind == "noise":
        x += rng.poisson(level * x.mean(axis=0, keepdims=True), x.shape).astype(np.float32)
    elif kind == "drop_units":
        x[:, rng.random(x.shape[1]) < level] = 0
    elif kind == "missing_frames":
        x[rng.random(len(x)) < level] = 0
    else:
        raise ValueError(f"Unknown perturbation {kind!r}: noise, drop_units or missing_frames.")
    return x


def time_shift(x: np.ndarray, fraction: float = 0.5) -> np.ndarray:
    """Neural data rolled by ``fraction`` of the session (null control: breaks behaviour)."""
    return np.roll(x, int(round(fraction * len(x))), axis=0)


def block_shuffle(y: np.ndarray, rng: np.random.Generator, n_blocks: int = 20) -> np.ndarray:
    """Labels with their time blocks shuffled (null control that keeps autocorrelation)."""
    blocks = np.array_split(np.arange(len(y)), n_blocks)
    order = rng.permutation(len(blocks))
    return np.asarray(y)[np.concatenate([blocks[i] for i in order])]
