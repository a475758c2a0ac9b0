"""Hybrid and generative models, losses and metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainbehave.errors import InputDataError
from brainbehave.latents import HybridEmbedding, PoissonVAE, losses, metrics


def test_hybrid_reconstructs_rates_and_reports_each_term(data):
    x, y = data
    model = HybridEmbedding(
        steps=80, batch_size=64, behaviour_weight=1.0, device="cpu", learning_rate=3e-3
    ).fit(x, y)
    first, last = model.solver_.history[0], model.solver_.history[-1]
    assert {"reconstruction", "behaviour", "align", "uniform"} <= set(last)
    assert last["reconstruction"] < first["reconstruction"]
    rates = model.predict_rates(x)
    assert rates.shape == x.shape and np.all(rates > 0)


def test_pivae_uses_the_label_prior_and_round_trips(data, tmp_path):
    x, y = data
    model = PoissonVAE(steps=80, batch_size=64, device="cpu").fit(x, y)
    with_labels, without = model.transform(x, y), model.transform(x)
    assert with_labels.shape == (len(x), 8) and not np.allclose(with_labels, without)
    again = PoissonVAE.from_state(model.to_state())
    np.testing.assert_array_equal(again.transform(x, y), with_labels)


def test_gaussian_likelihood_for_traces(data):
    x, _ = data
    model = PoissonVAE(steps=5, batch_size=64, likelihood="gaussian", device="cpu").fit(x)
    assert np.isfinite(model.loss_history_).all()


def test_infonce_prefers_aligned_positives():
    torch.manual_seed(0)
    ref = torch.nn.functional.normalize(torch.randn(64, 3), dim=1)
    neg = torch.nn.functional.normalize(torch.randn(64, 3), dim=1)
    for kind in ("cosine", "euclidean"):
        good = losses.infonce(ref, ref, neg, 0.5, kind)[0]
        bad = losses.infonce(ref, -ref, neg, 0.5, kind)[0]
        assert good < bad


def test_poisson_nll_is_smallest_at_the_true_rate():
    counts = torch.poisson(torch.full((2000,), 3.0))
    nll = [float(losses.poisson_nll(torch.full((2000,), np.log(r)), counts)) for r in (1, 3, 9)]
    assert nll[1] < nll[0] and nll[1] < nll[2]


def test_similarity_measures_see_rotations_as_identical_and_noise_as_different():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 3))
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    same = metrics.similarity(a, 2 * a @ rot)
    other = metrics.similarity(a, rng.normal(size=(400, 3)))
    assert same["cka"] == pytest.approx(1) and same["procrustes"] == pytest.approx(0, abs=1e-6)
    assert same["cca"] == pytest.approx(1) and same["rsa"] == pytest.approx(1)
    assert other["cka"] < 0.1 and other["procrustes"] > 0.9
    assert metrics.consistency(a, a @ rot + 1) == pytest.approx(1)


def test_decode_reports_accuracy_for_labels_and_refuses_a_split_without_test(split):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 1200)
    emb = np.eye(3)[labels] + 0.01 * rng.normal(size=(1200, 3))
    assert metrics.decode(emb, labels, split)["accuracy"] == 1.0
    with pytest.raises(InputDataError, match="got 1200 train and 0 test"):
        metrics.decode(emb, labels, np.zeros(1200))


def test_decode_reports_the_chance_of_predicting_the_training_mean(split):
    # held-out blocks away from the training bins' mean: chance R2 is below zero
    rng = np.random.default_rng(1)
    target = np.where(split == 1, 1.0, 0.0)[:, None] + 0.1 * rng.normal(size=(len(split), 1))
    good = metrics.decode(target + 0.01 * rng.normal(size=target.shape), target, split, "linear")
    noise = metrics.decode(rng.normal(size=(len(split), 2)), target, split, "knn")
    test = target[split == 1, 0]
    expected = 1 - np.sum((test - target[split == 0, 0].mean()) ** 2) / np.sum(
        (test - test.mean()) ** 2
    )
    assert good["chance_r2"] == pytest.approx(expected) and expected < -10
    assert good["r2"] > 0.9 and noise["r2"] < 0
    assert noise["chance_r2"] == pytest.approx(expected)  # chance does not depend on the input
    # one target column: the linear decoder's errors are per bin (not an n x n broadcast)
    assert good["chance_median_error"] > 0.8 > 0.1 > good["median_error"]


def test_infonce_with_the_batch_as_negatives_leaves_each_reference_out():
    ref = torch.nn.functional.normalize(torch.randn(6, 3), dim=1)
    pos = ref.clone()
    loss, align, uniform = losses.infonce(ref, pos, ref, exclude_self=True)
    others = torch.stack([torch.cat([ref[:i], ref[i + 1 :]]) for i in range(6)])
    expected = torch.logsumexp((ref[:, None] * others).sum(-1), dim=1).mean()
    assert torch.isclose(uniform, expected) and torch.isclose(align, torch.tensor(-1.0))
