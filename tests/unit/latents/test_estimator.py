"""The contrastive estimator: fit/transform, seeds, checkpoints, multi-session, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainbehave.errors import InputDataError
from brainbehave.latents import ContrastiveEmbedding, metrics
from brainbehave.latents.models import (
    INPUT_GEMM_SPEEDUP,
    MODELS,
    get_model,
    init_generator,
    init_weights,
)


def small(**kw):
    return ContrastiveEmbedding(**{"steps": 60, "batch_size": 64, "device": "cpu", **kw})


def test_same_seed_gives_the_same_embedding_and_another_seed_does_not(data):
    x, y = data
    a = small(conditional="behaviour", seed=3, steps=20).fit(x, y).transform(x)
    b = small(conditional="behaviour", seed=3, steps=20).fit(x, y).transform(x)
    c = small(conditional="behaviour", seed=4, steps=20).fit(x, y).transform(x)
    assert a.shape == (len(x), 3)
    assert np.array_equal(a, b) and not np.allclose(a, c)


@pytest.mark.parametrize("negatives", ["sampled", "batch"])
def test_behaviour_embedding_decodes_position_and_beats_the_time_shifted_null(
    data, split, negatives
):
    x, y = data
    fast = {"conditional": "behaviour", "steps": 150, "learning_rate": 1e-2}
    fast["negatives"] = negatives
    train = split == 0  # fit on the training blocks only, decode the held-out ones
    emb = small(**fast).fit(x[train], y[train]).transform(x)
    null = small(**fast).fit(metrics.time_shift(x)[train], y[train])
    real = metrics.decode(emb, y, split)["r2"]
    shifted = metrics.decode(null.transform(metrics.time_shift(x)), y, split)["r2"]
    assert real > 0.1 and real > shifted + 0.5


def test_checkpoint_resume_equals_an_uninterrupted_fit(data, tmp_path, caplog):
    x, _ = data
    whole = small(steps=40).fit(x).transform(x)
    ckpt = tmp_path / "fit.pt"
    first = small(steps=20, checkpoint=ckpt, checkpoint_every=10).fit(x)
    with caplog.at_level("INFO", logger="brainbehave.latents.solver"):
        resumed = small(steps=40, checkpoint=ckpt, checkpoint_every=10).fit(x)
    assert "at step 20" in caplog.text and "starting afresh" not in caplog.text
    assert resumed.loss_history_[:20].tolist() == first.loss_history_.tolist()
    assert len(resumed.loss_history_) == 40
    np.testing.assert_allclose(resumed.transform(x), whole, atol=1e-5)


def test_save_and_load_give_the_same_embedding(data, tmp_path):
    x, _ = data
    model = small(similarity="euclidean", model="offset5").fit(x)
    model.save(tmp_path / "m.pt")
    again = ContrastiveEmbedding.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(again.transform(x), model.transform(x))


def test_a_model_saved_with_another_layout_says_to_refit(data):
    x, _ = data
    state = small(steps=2).fit(x).to_state()
    # a model saved by the earlier offset10 (four blocks, 1x1 head) has other weights
    state["state_dict"]["trunk.3.conv.weight"] = state["state_dict"]["trunk.2.conv.weight"]
    with pytest.raises(InputDataError, match="do not fit this version's encoder.*refit"):
        ContrastiveEmbedding.from_state(state)


def test_initial_weights_are_pytorchs_default_draws_from_a_mixed_seed():
    def drawn(seed):
        enc = get_model("offset10")([20], 3)
        init_weights(enc, init_generator(seed))
        return enc

    a, b, c = drawn(0), drawn(0), drawn(1)
    for module in (m for m in a.modules() if isinstance(m, torch.nn.Conv1d)):
        bound = 1 / module.weight[0].numel() ** 0.5
        for p in (module.weight, module.bias):
            assert float(p.abs().max()) <= bound and float(p.std()) > bound / 4
    same = all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert same and not torch.equal(a.head.weight, c.head.weight)
    # seed 0 is not used as it is: the weights are not those of manual_seed(0)
    straight = get_model("offset10")([20], 3)
    init_weights(straight, torch.Generator().manual_seed(0))
    assert not torch.equal(a.inputs[0].weight, straight.inputs[0].weight)


def test_multi_session_takes_different_neuron_counts(data):
    x, y = data
    model = small(conditional="behaviour", multi_session=True).fit([x, x[:, :20]], [y, y])
    assert model.transform(x[:, :20], session=1).shape == (len(x), 3)
    with pytest.raises(InputDataError, match=r"shape \(time, 20\) for session 1"):
        model.transform(x, session=1)


def test_single_session_model_refuses_sessions_with_different_units(data):
    x, _ = data
    with pytest.raises(InputDataError, match="different numbers of units \\[30, 20\\]"):
        small().fit([x, x[:, :20]])


def test_unknown_conditional_and_model_are_named(data):
    x, _ = data
    with pytest.raises(InputDataError, match="conditional must be one of"):
        small(conditional="space").fit(x)
    with pytest.raises(KeyError, match="known: \\['offset1', 'offset10', 'offset20', 'offset5'\\]"):
        small(model="resnet").fit(x)
    assert MODELS["offset10"]([4], 3).receptive_field == 10


def test_transform_leaves_the_model_in_train_mode(data):
    x, _ = data
    model = small(steps=2).fit(x)
    model.transform(x)
    assert model.model_.training


@pytest.mark.parametrize("conditional", ["time", "behaviour"])
def test_every_encoding_pass_trains_the_same(data, force_pass, conditional):
    """The three ways `Encoder.embed_bins` encodes a batch give the same fit (float rounding)."""
    x, y = data
    kw = {"conditional": conditional, "steps": 15, "seed": 2, "learning_rate": 1e-2}
    fits = {}
    for path in ("windows", "whole", "input"):
        force_pass(path)
        model = small(**kw).fit(x, y if conditional != "time" else None)
        fits[path] = (model.loss_history_, model.transform(x))
    for path in ("whole", "input"):
        np.testing.assert_allclose(fits[path][0], fits["windows"][0], atol=1e-4)
        np.testing.assert_allclose(fits[path][1], fits["windows"][1], atol=1e-3)


@pytest.mark.parametrize("model", ["offset10", "offset5", "offset1"])
def test_the_three_passes_give_the_same_embeddings_and_gradients(model):
    torch.manual_seed(0)
    enc = get_model(model)([7], 3, hidden=8)
    padded = torch.poisson(torch.full((60 + enc.receptive_field - 1, 7), 0.5))
    index = torch.tensor([0, 5, 5, 31, 59])  # both ends, a repeat
    out = {}
    for way in ("whole", "input", "windows"):
        enc.zero_grad()
        enc.choose_pass = lambda length, n, session=0, way=way: way
        z = enc.embed_bins(padded, index)
        (z * torch.arange(z.numel()).view_as(z)).sum().backward()
        out[way] = (z.detach(), [p.grad.clone() for p in enc.parameters()])
    for way in ("whole", "input"):
        torch.testing.assert_close(out[way][0], out["windows"][0], atol=1e-5, rtol=1e-5)
        for a, b in zip(out[way][1], out["windows"][1], strict=True):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_the_cheaper_pass_is_chosen_by_multiply_accumulates():
    enc = get_model("offset10")([100], 3, hidden=32)
    # kernel-2 input layer on 9 bins, three kernel-3 blocks on 7, 5, 3 bins, kernel-3 head
    window = 9 * 100 * 32 * 2 + (7 + 5 + 3) * 32 * 32 * 3 + 1 * 32 * 3 * 3
    assert enc.macs(enc.receptive_field) == window
    # 1,536 windows (batch 512: reference, positive, negative): a short session is encoded
    # whole; 16,000 bins (the benchmark's 20k frames, less the held-out 20 %) take the input
    # layer over the session; a long session the windows
    assert enc.choose_pass(2000 + 9, 1536) == "whole"
    assert enc.choose_pass(16000 + 9, 1536) == "input"
    assert enc.choose_pass(40000 + 9, 1536) == "windows"
    costs = enc.pass_costs(40000 + 9, 1536)
    assert costs["windows"] == 1536 * window
    # the input layer's 40,008 output bins over the session, the rest over the windows
    assert costs["input"] == 40008 * 100 * 32 * 2 / INPUT_GEMM_SPEEDUP + 1536 * (
        window - 9 * 100 * 32 * 2
    )
