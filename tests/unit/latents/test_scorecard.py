"""The scorecard's identifiability: reported beside its chance level."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from brainbehave.latents import metrics
from brainbehave.latents.scorecard import score_session


def test_identifiability_comes_with_its_chance_level():
    # slow latents in a short session: the held-out blocks' mean lies elsewhere, so an
    # embedding that knows nothing of them scores below zero, as the demo's did (-1.2)
    rng = np.random.default_rng(0)
    n = 600
    split = np.zeros(n, dtype=np.int8)
    split[120:240] = split[420:540] = 1
    latents = np.cumsum(rng.normal(size=(n, 3)), axis=0) * 0.1
    unrelated = rng.normal(size=(n, 3))
    emb = np.stack([latents @ rng.normal(size=(3, 3)), unrelated])  # seeds: carries / not
    ds = xr.Dataset(
        {
            "embedding": (("seed", "time", "dim"), emb),
            "split": ("time", split),
            "behaviour_latents": (("time", "latent"), latents),
            "behaviour_position": (("time", "xy"), rng.random((n, 2))),
        }
    )
    card = score_session(ds, "position")
    chance = card["identifiability_chance_r2"]
    assert chance == pytest.approx(metrics.chance_r2(latents, split)) and chance < 0
    carries, unrelated_r2 = card["identifiability_r2"]
    assert carries == pytest.approx(1.0) and unrelated_r2 < 0.2
