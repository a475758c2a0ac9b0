"""Scores of behaviour labels and embeddings against the virtual lab's ground truth.

- :func:`frame_f1`: per-frame macro F1 of named labels (rules vs truth);
- :func:`cluster_scores`: NMI and ARI of unsupervised codes vs truth;
- :func:`variance_explained`, :func:`autocorrelation_time`: what an embedding level carries
  and on which time scale it varies;
- :func:`linear_probe`: accuracy of a logistic regression predicting a truth level from an
  embedding, trained on the first part of each session and tested on the rest (no frame of a
  test block is seen in training, so temporal autocorrelation does not leak).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score
from sklearn.preprocessing import StandardScaler

from brainbehave.pose import pose_dataset
from brainbehave.truth import SessionTruth

TRUTH_LEVELS = ("activity", "action", "primitive")


def truth_pose(truth: SessionTruth, noise_mm: float = 0.0, seed: int = 0):
    """The session's true 3D pose at the video frames as a pose dataset (+ Gaussian noise)."""
    xyz = truth.pose3d[truth.video_exposure_index]
    if noise_mm > 0:
        xyz = xyz + np.random.default_rng(seed).normal(0.0, noise_mm, xyz.shape)
    return pose_dataset(
        xyz,
        None,
        truth.keypoints,
        truth.fps,
        source_software="virtual lab truth",
        units="mm",
        subject=truth.subject,
        session=truth.session,
    )


def truth_labels(truth: SessionTruth) -> dict[str, np.ndarray]:
    """Per video frame: the true label name of each level."""
    idx = truth.video_exposure_index
    return {
        level: np.asarray(truth.level_names[level])[truth.labels[level][idx]]
        for level in TRUTH_LEVELS
    }


def frame_f1(true: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Macro F1 over ``labels`` and each label's F1 (frames with pred -1/'' count as wrong)."""
    per = f1_score(true, pred, labels=list(labels), average=None, zero_division=0)
    return {"macro": float(np.mean(per)), **{k: float(v) for k, v in zip(labels, per, strict=True)}}


def cluster_scores(true: np.ndarray, codes: np.ndarray) -> dict[str, float]:
    """NMI and ARI of codes vs truth on the frames that have a code."""
    ok = np.asarray(codes) >= 0
    return {
        "nmi": float(normalized_mutual_info_score(true[ok], codes[ok])),
        "ari": float(adjusted_rand_score(true[ok], codes[ok])),
    }


def linear_probe(
    embeddings: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    train_fraction: float = 0.7,
    max_train: int = 20000,
    seed: int = 0,
) -> float:
    """Test accuracy of a linear read-out of ``targets`` from ``embeddings`` (per session
    the first ``train_fraction`` of frames train, the rest test)."""
    xs, ys, xt, yt = [], [], [], []
    for emb, y in zip(embeddings, targets, strict=True):
        ok = np.isfinite(emb).all(axis=1)
        cut = int(train_fraction * emb.shape[0])
        first = np.arange(emb.shape[0]) < cut
        xs.append(emb[ok & first]), ys.append(y[ok & first])
        xt.append(emb[ok & ~first]), yt.append(y[ok & ~first])
    x_train, y_train = np.concatenate(xs), np.concatenate(ys)
    rng = np.random.default_rng(seed)
    if x_train.shape[0] > max_train:
        keep = rng.choice(x_train.shape[0], max_train, replace=False)
        x_train, y_train = x_train[keep], y_train[keep]
    scaler = StandardScaler().fit(x_train)
    clf = LogisticRegression(max_iter=300).fit(scaler.transform(x_train), y_train)
    return float(clf.score(scaler.transform(np.concatenate(xt)), np.concatenate(yt)))


def variance_explained(embeddings: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> float:
    """Share of an embedding's variance explained by a label (between-class / total).

    Each dimension is standardised first, so every dimension weighs the same; frames with a
    NaN embedding are left out. 1 means the embedding is constant within each label, 0 that
    its class means coincide. Nested labels (primitives refine actions) explain at least as
    much as their parents, so compare one label across embedding levels.
    """
    x, y = np.concatenate(embeddings), np.concatenate(targets)
    ok = np.isfinite(x).all(axis=1)
    x, y = x[ok], y[ok]
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-12)
    between = sum((y == c).sum() * np.square(x[y == c].mean(axis=0)).sum() for c in np.unique(y))
    return float(between / np.square(x).sum())


def autocorrelation_time(embeddings: Sequence[np.ndarray], fps: float, level: float = 0.5) -> float:
    """Seconds until the embedding's autocorrelation falls below ``level``.

    The autocorrelation of each standardised dimension, averaged over dimensions and
    sessions (NaN frames set to 0): a measure of the time scale an embedding level varies on.
    """
    curves = []
    for emb in embeddings:
        x = np.nan_to_num((emb - np.nanmean(emb, axis=0)) / np.maximum(np.nanstd(emb, 0), 1e-12))
        n = x.shape[0]
        spec = np.fft.rfft(x, n=2 * n, axis=0)
        acf = np.fft.irfft(np.abs(spec) ** 2, axis=0)[:n].mean(axis=1)
        curves.append(acf / acf[0])
    n_min = min(c.size for c in curves)
    mean = np.mean([c[:n_min] for c in curves], axis=0)
    below = np.flatnonzero(mean < level)
    return float((below[0] if below.size else n_min) / fps)
