"""The most alternating direction: found where the largest-variance one is not."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from brainbehave.behaviour.oscillation import alternation


def _alternating(n: int = 3000, half: int = 6, seed: int = 0):
    """Frames whose small first coordinate flips sign every ``half`` frames under big drift."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    side = (t // half) % 2
    x = np.zeros((n, 5))
    x[:, 1:] = gaussian_filter1d(rng.normal(0, 1, (n, 4)), 20.0, axis=0) * 30.0  # slow, large
    x[:, 0] = np.where(side == 1, 1.0, -1.0) + rng.normal(0, 0.2, n)
    x += rng.normal(0, 0.1, x.shape)
    mix = np.linalg.qr(rng.normal(0, 1, (5, 5)))[0]
    return x @ mix, side


def test_finds_the_direction_that_flips_each_half_cycle_and_its_lag() -> None:
    x, side = _alternating()
    alt = alternation([x], [np.ones(len(x), bool)], range(2, 13))
    assert alt.lag == 6 and alt.strength < -0.8
    assert adjusted_rand_score(side, alt.project(x) > 0) > 0.9
    # k-means splits along the large slow drift instead
    assert adjusted_rand_score(side, KMeans(2, n_init=4, random_state=0).fit_predict(x)) < 0.1


def test_only_masked_frames_count_and_nan_frames_project_to_nan() -> None:
    x, side = _alternating()
    mask = np.zeros(len(x), bool)
    mask[:1500] = True
    x[1500:] = np.random.default_rng(1).normal(0, 50, x[1500:].shape)  # noise outside it
    x[10] = np.nan
    alt = alternation([x[:2000], x[2000:]], [mask[:2000], mask[2000:]], range(2, 13))
    assert adjusted_rand_score(side[:1500][11:], alt.project(x[:1500])[11:] > 0) > 0.9
    assert np.isnan(alt.project(x[10:11])).all()
