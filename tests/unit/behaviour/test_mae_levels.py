"""MAE level embeddings: pooling per level and the measures of what a level carries."""

from __future__ import annotations

import numpy as np
import torch

from brainbehave.behaviour.evaluation import autocorrelation_time, variance_explained
from brainbehave.behaviour.mae import _pool


def test_pooling_averages_over_the_requested_units_either_side() -> None:
    # 4 units of 2 tokens; token value = its unit index
    tokens = torch.arange(4.0).repeat_interleave(2)[None, :, None]
    assert torch.equal(_pool(tokens, 4, None), tokens)
    assert torch.equal(_pool(tokens, 4, 0), tokens)
    box = _pool(tokens, 4, 1)[0, ::2, 0].tolist()  # units 0-1, 0-2, 1-3, 2-3
    assert box == [0.5, 1.0, 2.0, 2.5]
    assert torch.allclose(_pool(tokens, 4, -1), torch.full_like(tokens, 1.5))


def test_variance_explained_is_one_for_class_means_and_near_zero_for_noise() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.array(["a", "b", "c"]), 300)
    means = {"a": [0.0, 1.0], "b": [3.0, -2.0], "c": [-1.0, 5.0]}
    exact = np.array([means[k] for k in labels])
    assert abs(variance_explained([exact], [labels]) - 1.0) < 1e-9
    noise = rng.normal(size=(900, 2))
    assert variance_explained([noise], [labels]) < 0.02
    mixed = exact + rng.normal(0, 1.0, exact.shape)
    assert 0.5 < variance_explained([mixed[:450], mixed[450:]], [labels[:450], labels[450:]]) < 1


def test_autocorrelation_time_grows_with_the_time_scale_of_the_signal() -> None:
    rng = np.random.default_rng(1)
    white = rng.normal(size=(3000, 4))
    kernel = np.ones(60) / 60  # 2 s boxcar at 30 fps: correlation halves after ~1 s
    slow = np.stack([np.convolve(w, kernel, mode="same") for w in white.T], axis=1)
    fast_s, slow_s = autocorrelation_time([white], 30.0), autocorrelation_time([slow], 30.0)
    assert fast_s <= 1 / 30 and 0.8 < slow_s < 1.2
