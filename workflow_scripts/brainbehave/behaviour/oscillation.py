"""The most alternating direction of an embedding: splitting mirror-image half-cycles.

Some motion primitives come in mirror pairs (the left and the right half of a stride, a
head sweep to the left and back to the right): one is the other's mirror image, and they
alternate every half-cycle. The left-right antisymmetric part of the embedding,
``0.5 * (x - x_mirrored)``, then flips sign every half-cycle, and the direction along which
it flips most regularly (the most negative lag-autocorrelation at some lag within the
cycle's range: a generalised eigenproblem of the lagged covariance against the covariance)
carries the primitive in its sign. Other primitives are time-reversal pairs (breathing in
and out, rising and descending: the same poses in opposite order), where the symmetric
part alternates more; :func:`alternation` measures both so a segmenter can tell which kind
a cluster holds without any labels.

The lagged covariance is averaged over three neighbouring lags around the best one: on the
virtual lab's sniffs the best single lag (7 vs 8 frames) was a near tie whose direction
changed the split's ARI from 0.77 to 0.40; averaged, the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg


@dataclass(frozen=True)
class Alternation:
    """The most alternating direction of a set of frames.

    Attributes
    ----------
    strength
        The most negative lag-autocorrelation of any direction, at ``lag`` (-1: flips sign
        exactly every ``lag`` frames).
    lag
        The lag (frames) with the most negative autocorrelation.
    direction
        Unit-variance direction (D,), sign fixed so its largest component is positive.
    center
        Subtracted from the frames before projecting.
    """

    strength: float
    lag: int
    direction: np.ndarray
    center: np.ndarray

    def project(self, x: np.ndarray) -> np.ndarray:
        """(T,) coordinate of each frame along the direction (NaN stays NaN)."""
        return (np.asarray(x, dtype=np.float64) - self.center) @ self.direction


def _covariances(
    xs: Sequence[np.ndarray], masks: Sequence[np.ndarray], lags: Sequence[int], center
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Covariance and symmetrised lagged covariances over frame pairs both in the mask."""
    d = xs[0].shape[1]
    c0, lagged = np.zeros((d, d)), {lag: np.zeros((d, d)) for lag in lags}
    for x, mask in zip(xs, masks, strict=True):
        x = np.asarray(x, dtype=np.float64) - center
        ok = np.asarray(mask, dtype=bool) & np.isfinite(x).all(axis=1)
        x = np.where(ok[:, None], x, 0.0)
        c0 += x.T @ x
        for lag in lags:
            if lag >= x.shape[0]:
                continue
            pair = ok[:-lag] & ok[lag:]
            a, b = x[:-lag][pair], x[lag:][pair]
            lagged[lag] += 0.5 * (a.T @ b + b.T @ a)
    c0 += 1e-6 * max(np.trace(c0), 1e-12) / d * np.eye(d)
    return c0, lagged


def alternation(
    xs: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    lags: Sequence[int],
    centered: bool = True,
) -> Alternation:
    """The direction whose coordinate flips sign most regularly, over the masked frames.

    Parameters
    ----------
    xs
        Per session, (T, D) features.
    masks
        Per session, (T,) frames to use (pairs of frames count when both are in it).
    lags
        Candidate lags (frames), e.g. the half-cycle durations the movements may have.
    centered
        Subtract the mean of the masked frames; False keeps zero as the centre (an
        antisymmetric part, whose mirror image is its negative, is centred on zero).
    """
    lags = sorted({int(lag) for lag in lags if lag >= 1})
    pairs = zip(xs, masks, strict=True)
    frames = np.concatenate([np.asarray(x)[np.asarray(m, bool)] for x, m in pairs])
    frames = frames[np.isfinite(frames).all(axis=1)]
    center = frames.mean(axis=0) if centered and frames.size else np.zeros(xs[0].shape[1])
    c0, lagged = _covariances(xs, masks, lags, center)
    strength = {lag: scipy.linalg.eigh(lagged[lag], c0, eigvals_only=True)[0] for lag in lags}
    best = min(strength, key=strength.get)
    near = [lag for lag in (best - 1, best, best + 1) if lag in lagged]
    values, vectors = scipy.linalg.eigh(sum(lagged[lag] for lag in near) / len(near), c0)
    direction = vectors[:, 0]
    direction = direction * np.sign(direction[np.argmax(np.abs(direction))])
    return Alternation(float(strength[best]), best, direction, center)
