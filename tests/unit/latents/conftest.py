"""Small synthetic data for the latent-model tests: place cells on a random walk."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def place_cells(n: int = 1200, units: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    pos = np.abs((np.cumsum(rng.normal(size=(n, 2)) * 0.05, 0) + 1) % 2 - 1)
    centres = rng.random((units, 2))
    rates = 0.1 + 2.0 * np.exp(-((pos[:, None] - centres[None]) ** 2).sum(-1) / (2 * 0.1**2))
    x = rng.poisson(rates).astype(np.float32)
    x[0] += 1  # no silent unit, even by chance
    return x, pos


@pytest.fixture
def data():
    """(1200, 30) counts and (1200, 2) positions in [0, 1]."""
    return place_cells()


@pytest.fixture
def split():
    """Train/test blocks for 1200 bins (two test blocks)."""
    s = np.zeros(1200, dtype=int)
    s[200:320] = 1
    s[800:920] = 1
    return s


@pytest.fixture
def make_cells():
    """The generator itself, for tests that need several sessions."""
    return place_cells


@pytest.fixture
def force_pass(monkeypatch):
    """force_pass("whole" | "input" | "windows"): make `Encoder.embed_bins` always take that
    path (`Encoder.choose_pass`)."""
    from brainbehave.latents.models import Encoder

    def force(path: str) -> None:
        assert path in ("whole", "input", "windows")
        monkeypatch.setattr(Encoder, "choose_pass", lambda self, length, n, session=0: path)

    return force
