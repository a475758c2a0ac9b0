"""The pi-VAE-like model: its label-free embedding carries the label it was conditioned on."""

from __future__ import annotations

import numpy as np
import torch

from brainbehave.latents import PoissonVAE, metrics
from brainbehave.latents.generative import product_of_gaussians


def test_label_free_embedding_decodes_the_conditioning_label(data, split):
    # Before the encoder-only ELBO the decoder read position from the label prior and the
    # label-free q(z|x) decoded held-out position below zero (R2 -0.75 on this seed).
    x, pos = data
    train = split == 0
    model = PoissonVAE(
        steps=150, batch_size=64, latent_dim=8, learning_rate=3e-3, device="cpu", seed=0
    ).fit(x[train], pos[train])
    score = metrics.decode(model.transform(x), pos, split)
    assert score["r2"] > 0.1 and score["r2"] - score["chance_r2"] > 1.0
    first, last = model.solver_.history[0], model.solver_.history[-1]
    for term in ("nll_free", "nll_joint"):  # both ELBOs trained, both improve
        assert last[term] < first[term]


def test_every_encoding_pass_trains_the_same(data, force_pass):
    """pi-VAE's batches go through `Encoder.embed_bins` too: all three paths, the same fit."""
    x, pos = data
    fits = {}
    for path in ("windows", "whole", "input"):
        force_pass(path)
        model = PoissonVAE(steps=15, batch_size=64, learning_rate=1e-2, seed=1).fit(x, pos)
        fits[path] = (model.loss_history_, model.transform(x))
    for path in ("whole", "input"):
        np.testing.assert_allclose(fits[path][0], fits["windows"][0], atol=1e-4)
        np.testing.assert_allclose(fits[path][1], fits["windows"][1], atol=1e-3)


def test_checkpoint_resume_equals_an_uninterrupted_fit(data, tmp_path):
    # the reparametrisation noise comes from the fit's own generator, saved in checkpoints
    x, pos = data
    kw = {"batch_size": 64, "seed": 3, "checkpoint_every": 5}
    whole = PoissonVAE(steps=10, **kw).fit(x, pos)
    ckpt = tmp_path / "vae.pt"
    PoissonVAE(steps=5, checkpoint=ckpt, **kw).fit(x, pos)
    resumed = PoissonVAE(steps=10, checkpoint=ckpt, **kw).fit(x, pos)
    assert resumed.loss_history_.tolist() == whole.loss_history_.tolist()
    np.testing.assert_array_equal(resumed.transform(x), whole.transform(x))


def test_without_labels_there_is_one_elbo(data):
    x, _ = data
    model = PoissonVAE(steps=3, batch_size=64, device="cpu").fit(x)
    assert set(model.solver_.history[-1]) == {"loss", "nll_free", "kl_free"}


def test_product_of_gaussians_is_precision_weighted():
    mu, logvar = product_of_gaussians(
        torch.tensor([0.0]),
        torch.tensor([0.0]),
        torch.tensor([3.0]),
        torch.log(torch.tensor([0.5])),
    )
    # precisions 1 and 2: mean (0 * 1 + 3 * 2) / 3, variance 1 / 3
    np.testing.assert_allclose([float(mu), float(logvar.exp())], [2.0, 1 / 3], rtol=1e-6)


def test_chance_r2_is_the_training_mean_predicted_on_held_out_blocks():
    split = np.repeat([0, 1], 50)
    drifting = np.linspace(0, 1, 100)  # a slow latent: the held-out half lies elsewhere
    assert metrics.chance_r2(drifting, split) < -2
    assert abs(metrics.chance_r2(np.tile([0.0, 1.0], 50), split)) < 1e-12
