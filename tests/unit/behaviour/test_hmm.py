"""Sticky HSMM: minimum bouts, hard EM beats per-frame clustering, AR states by dynamics."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from brainbehave.behaviour.hmm import (
    HSMM,
    AREmissions,
    Durations,
    GaussianEmissions,
    run_lengths,
    viterbi,
)


def _sticky(n_bouts: int = 150, n_states: int = 3, noise: float = 1.2, seed: int = 0):
    """States in bouts of 8-40 frames, Gaussian features that overlap frame by frame."""
    rng = np.random.default_rng(seed)
    states = rng.integers(0, n_states, n_bouts)
    states[1:][states[1:] == states[:-1]] = (states[:-1][states[1:] == states[:-1]] + 1) % n_states
    truth = np.repeat(states, rng.integers(8, 40, n_bouts))
    centres = rng.normal(0.0, 1.5, (n_states, 4))
    return centres[truth] + rng.normal(0.0, noise, (truth.size, 4)), truth


def test_viterbi_keeps_every_inner_bout_at_least_min_frames() -> None:
    x, truth = _sticky()
    em = GaussianEmissions(3).fit([x], [truth])
    for n_min in (1, 6):
        path = viterbi(em.loglik(x), Durations.estimate([truth], 3, n_min))
        _, lengths = run_lengths(path)
        assert lengths[1:-1].min() >= n_min
        assert adjusted_rand_score(truth, path) > 0.9


def test_hard_em_from_kmeans_beats_kmeans_and_learns_bout_lengths() -> None:
    x, truth = _sticky(noise=2.5, seed=1)
    init = KMeans(3, n_init=4, random_state=0).fit_predict(x)
    model = HSMM(GaussianEmissions(3), min_frames=6).fit([x], [init])
    codes = model.predict(x)
    assert adjusted_rand_score(truth, init) < 0.6 < 0.9 < adjusted_rand_score(truth, codes)
    mean_bout = 6 + model.durations_.stay / (1 - model.durations_.stay)
    assert np.all((mean_bout > 12) & (mean_bout < 40))  # true bouts: 8-40 frames, mean 24


def test_ar_states_differ_by_dynamics_that_a_gaussian_cannot_see() -> None:
    """Rotation one way or the other: same positions, opposite motion."""
    rng = np.random.default_rng(2)
    truth = np.repeat(np.arange(40) % 2, rng.integers(30, 60, 40))
    x = np.zeros((truth.size, 2))
    x[0] = (1.0, 0.0)
    for t in range(1, truth.size):
        a = 0.3 if truth[t] else -0.3
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        x[t] = rot @ x[t - 1] + rng.normal(0.0, 0.02, 2)
    flip = rng.random(truth.size) < 0.3  # a start that has 30 % of the frames wrong
    init = np.where(flip, 1 - truth, truth)
    ar = HSMM(AREmissions(2), min_frames=5).fit([x], [init])
    assert adjusted_rand_score(truth, ar.predict(x)) > 0.9
    gauss = HSMM(GaussianEmissions(2), min_frames=5).fit([x], [init])
    assert adjusted_rand_score(truth, gauss.predict(x)) < 0.5


def test_frames_without_features_get_no_state() -> None:
    x, truth = _sticky()
    model = HSMM(GaussianEmissions(3), min_frames=4).fit([x], [truth])
    x[50:60] = np.nan
    codes = model.predict(x)
    assert (codes[50:60] == -1).all() and (codes[:50] >= 0).all()
