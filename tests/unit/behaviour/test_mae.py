"""Hierarchical MAE: estimator contract, seeds, checkpoint resume, embeddings, bad input."""

from __future__ import annotations

import copy
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import torch
from behaviour_lab import lab_session

from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.mae import (
    BehaviourMAE,
    Solver,
    _patches,
    mae_inputs,
    random_mask,
)
from brainbehave.behaviour.mae_config import MAEConfig
from brainbehave.behaviour.mae_model import HierarchicalMAE
from brainbehave.errors import InputDataError
from brainbehave.torch_device import side_by_side

TINY = MAEConfig(
    window=96,
    dims=(8, 16, 16),
    depths=(1, 1, 1),
    heads=(2, 2, 2),
    decoder_dim=8,
    batch_size=4,
    steps=6,
)


@pytest.fixture(scope="module")
def inputs():
    return [mae_inputs(pose_view(lab_session(8.0, key=k)[0])) for k in range(2)]


def test_fit_returns_self_with_fitted_attributes_and_a_finite_loss(inputs) -> None:
    est = BehaviourMAE(TINY)
    assert est.fit(inputs, 30.0) is est
    assert est.n_steps_ == 6 and len(est.history_) == 6 and np.isfinite(est.history_).all()
    assert est.mean_.shape == (inputs[0].x.shape[1],) and est.sequences_per_s_ > 0


def test_missing_keypoints_do_not_blank_the_normalisation(inputs) -> None:
    # triangulated pose misses points here and there: every channel must keep its scale
    rng = np.random.default_rng(0)
    holed = []
    for inp in inputs:
        x = inp.x.copy()
        x[rng.random(x.shape) < 0.05] = np.nan
        holed.append(type(inp)(**{**vars(inp), "x": x}))
    est = BehaviourMAE(TINY).fit(holed, 30.0)
    assert np.isfinite(est.mean_).all() and np.isfinite(est.std_).all()
    assert (est.std_ > 0).all()
    z = est._normalise(holed[0].x)
    assert np.isfinite(z).all() and np.abs(z).mean() > 0.3  # not imputed to 0 everywhere
    assert min(est.history_) > 1e-3  # reconstructing real inputs, not zeros


def test_a_checkpoint_of_other_data_is_not_resumed(inputs, tmp_path: Path) -> None:
    ckpt = tmp_path / "checkpoint.pt"
    BehaviourMAE(TINY).fit(inputs, 30.0, checkpoint=ckpt, checkpoint_every=TINY.steps)
    assert ckpt.is_file()  # a finished training's checkpoint, at its last step
    moved = [type(inp)(**{**vars(inp), "x": inp.x[::-1].copy()}) for inp in inputs]
    fresh = BehaviourMAE(TINY).fit(moved, 30.0).history_
    assert BehaviourMAE(TINY).fit(moved, 30.0, checkpoint=ckpt).history_ == fresh


def test_same_seed_same_training(inputs) -> None:
    a = BehaviourMAE(TINY).fit(inputs, 30.0).history_
    b = BehaviourMAE(TINY).fit(inputs, 30.0).history_
    assert a == b


@pytest.mark.parametrize("threads", [2, 3])
def test_batch_slices_in_threads_give_the_whole_batchs_loss_and_gradients(threads) -> None:
    # 4 windows in 2 or 3 slices (sizes 2+2, 1+2+1): size-weighted losses, summed gradients
    torch.manual_seed(0)
    model = HierarchicalMAE(MAEConfig(**{**TINY.__dict__, "window": 192}), [6, 3])
    x, groups = torch.randn(4, 192, 9), GROUPS
    mask = random_mask(model.cfg, 4, torch.Generator().manual_seed(1))
    twin = copy.deepcopy(model)
    whole = model(_patches(x, groups, model.cfg.patch), mask)
    whole.backward()
    before = torch.get_num_threads()
    with side_by_side(threads, "mae-slice") as pool:
        assert torch.get_num_threads() == 1  # one intra-op thread per slice
        sliced = Solver(twin, groups, pool, threads)._parts_backward(x, mask, threads)
    assert torch.get_num_threads() == before  # the intra-op threads are restored
    torch.testing.assert_close(sliced, whole.detach(), rtol=1e-6, atol=0)
    for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(
            q.grad, p.grad, rtol=1e-4, atol=1e-7, msg=lambda m, name=name: f"{name}: {m}"
        )


def test_device_auto_trains_where_torch_finds_a_device_and_embeds(inputs, tmp_path) -> None:
    est = BehaviourMAE(TINY, device="auto").fit(inputs, 30.0)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert est.device_.type == expected and est._device().type == expected
    emb = est.embed(inputs[0], 30.0)
    assert set(emb) == {"level1", "level2", "level3"} and np.isfinite(emb["level1"]).any()
    with pytest.raises(InputDataError, match="no CUDA GPU") if expected == "cpu" else nullcontext():
        BehaviourMAE(TINY, device="cuda").fit(inputs, 30.0)


@pytest.mark.gpu
def test_training_on_the_gpu_follows_the_cpu(inputs, tmp_path) -> None:
    # the same masks and windows (drawn on the CPU); float differences only
    cpu = BehaviourMAE(TINY).fit(inputs, 30.0)
    gpu = BehaviourMAE(TINY, device="cuda").fit(inputs, 30.0)
    np.testing.assert_allclose(gpu.history_, cpu.history_, rtol=1e-3)
    gpu.save(tmp_path / "m.pt")
    loaded = BehaviourMAE.load(tmp_path / "m.pt")  # a GPU-trained model embeds on the CPU
    np.testing.assert_allclose(
        loaded.embed(inputs[0], 30.0)["level3"], cpu.embed(inputs[0], 30.0)["level3"], atol=1e-3
    )


def test_training_in_batch_slices_follows_the_whole_batch(inputs) -> None:
    whole = BehaviourMAE(TINY).fit(inputs, 30.0)
    sliced = BehaviourMAE(TINY).fit(inputs, 30.0, threads=2)
    np.testing.assert_allclose(sliced.history_, whole.history_, rtol=1e-5)


def test_checkpoint_resumes_where_training_stopped(inputs, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt.pt"
    BehaviourMAE(TINY).fit(inputs, 30.0, checkpoint=ckpt)
    longer = MAEConfig(**{**TINY.__dict__, "steps": 9})
    # another config hash: the old checkpoint is not used, training starts from step 0
    fresh = BehaviourMAE(longer).fit(inputs, 30.0, checkpoint=tmp_path / "other.pt")
    assert len(fresh.history_) == 9
    state = torch.load(ckpt, weights_only=False)
    assert state["step"] == 6 and "optimizer" in state and state["version"]


def test_resume_gives_the_same_model_as_an_uninterrupted_run(inputs, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt.pt"
    full = BehaviourMAE(TINY).fit(inputs, 30.0)
    BehaviourMAE(TINY).fit(inputs, 30.0, checkpoint=ckpt, checkpoint_every=3)
    state = torch.load(ckpt, weights_only=False)
    # pretend the job was killed after step 3: rewrite the checkpoint of step 3
    part = BehaviourMAE(MAEConfig(**{**TINY.__dict__, "steps": 3}))
    part.fit(inputs, 30.0, checkpoint=tmp_path / "p.pt")
    state3 = torch.load(tmp_path / "p.pt", weights_only=False)
    state3["config_hash"] = state["config_hash"]
    torch.save(state3, ckpt)
    resumed = BehaviourMAE(TINY).fit(inputs, 30.0, checkpoint=ckpt)
    assert resumed.n_steps_ == 6
    assert np.allclose(resumed.history_, full.history_, atol=1e-5)


def test_embeddings_per_level_and_nan_where_pose_is_missing(inputs, tmp_path: Path) -> None:
    est = BehaviourMAE(TINY).fit(inputs, 30.0)
    est.save(tmp_path / "m.pt")
    loaded = BehaviourMAE.load(tmp_path / "m.pt")
    ds = lab_session(8.0, key=0)[0]
    ds["position"][30:40] = np.nan
    emb = loaded.embed(mae_inputs(pose_view(ds)), 30.0)
    assert [emb[k].shape for k in ("level1", "level2", "level3")] == [
        (240, 40),
        (240, 16),
        (240, 16),
    ]
    assert np.isnan(emb["level2"][30:40]).all()
    # speeds need both neighbours: one frame either side of the gap is NaN too
    assert np.isfinite(emb["level2"][:29]).all() and np.isfinite(emb["level2"][41:]).all()


def test_session_shorter_than_the_window_is_refused_by_name(inputs) -> None:
    est = BehaviourMAE(TINY).fit(inputs, 30.0)
    short = mae_inputs(pose_view(lab_session(1.0)[0]))
    with pytest.raises(
        InputDataError, match=r"rat01/ses01: 30 frames .* shorter than the MAE window of 96"
    ):
        est.embed(short, 30.0)


def test_long_all_nan_stretch_is_refused_with_where_and_what_to_do(inputs) -> None:
    ds = lab_session(8.0)[0]
    ds["position"][10:200] = np.nan
    with pytest.raises(
        InputDataError, match=r"rat01/ses01: pose missing for 6.3 s from 0.3 s .*max_gap_s"
    ):
        BehaviourMAE(TINY, max_gap_s=2.0).fit([mae_inputs(pose_view(ds))], 30.0)


def test_mask_drops_the_requested_share_of_whole_units_and_keeps_one() -> None:
    mask = random_mask(MAEConfig(), 8, torch.Generator().manual_seed(0))
    assert mask.shape == (8, 16) and (mask.sum(1) == 12).all()
    # two units per window: 0.75 would mask both, one must stay visible
    tiny = random_mask(MAEConfig(window=48), 8, torch.Generator().manual_seed(0))
    assert (tiny.sum(1) == 1).all()


GROUPS = (tuple(range(0, 6)), tuple(range(6, 9)))


def _model(**kw) -> tuple[HierarchicalMAE, list[torch.Tensor]]:
    torch.manual_seed(0)
    cfg = MAEConfig(**{**TINY.__dict__, "window": 192, **kw})
    x = torch.randn(2, cfg.window, 9)
    return HierarchicalMAE(cfg, [len(g) for g in GROUPS]).eval(), _patches(x, GROUPS, cfg.patch)


def test_encoder_drops_masked_units_and_visible_units_match_the_full_encoding() -> None:
    model, patches = _model()
    keep = torch.tensor([[1, 5], [0, 7]])
    with torch.no_grad():
        s1, s2, s3 = model.encoder(patches, keep)
        full = model.encoder(patches)
    # only the visible units are computed, at every level (4 % of the window's tokens)
    assert s1.shape == (2, 2, 6, 2, 8) and s2.shape == (2, 2, 3, 16) and s3.shape == (2, 2, 16)
    # level 1 attends inside its unit only: dropping the others changes nothing there
    assert torch.allclose(s1[0], full[0][0, [1, 5]], atol=1e-6)
    assert torch.allclose(s1[1], full[0][1, [0, 7]], atol=1e-6)


def test_receptive_fields_grow_with_the_level() -> None:
    model, patches = _model(depths=(1, 1, 1), attn_radius=(0, 1, -1))
    changed = [p.clone() for p in patches]
    for p in changed:
        p[:, 30:36] += 3.0  # unit 5 (time patches 30-35) of a 192-frame window: 8 units
    with torch.no_grad():
        before = model.encoder.levels_in_time(patches)
        after = model.encoder.levels_in_time(changed)
    diff = [(a - b).abs().amax(dim=(0, 2)) > 1e-6 for a, b in zip(after, before, strict=True)]
    units = [d.reshape(8, -1).any(1).nonzero().flatten().tolist() for d in diff]
    assert units == [[5], [4, 5, 6], list(range(8))]


def test_a_masked_unit_is_never_seen_by_the_model_that_reconstructs_it() -> None:
    model, patches = _model()
    keep = torch.tensor([[1, 5], [1, 5]])
    changed = [p.clone() for p in patches]
    for p in changed:
        p[:, 0:6] += 5.0  # unit 0 is masked: its frames are targets, never inputs
    with torch.no_grad():
        pred = model.decoder(model.encoder(patches, keep), keep)
        pred_changed = model.decoder(model.encoder(changed, keep), keep)
    assert [p.shape for p in pred] == [p.shape for p in patches]
    assert all(torch.equal(a, b) for a, b in zip(pred, pred_changed, strict=True))
    masked = torch.ones(2, 8, dtype=torch.bool)
    masked[:, [1, 5]] = False
    with torch.no_grad():  # ... but the loss of unit 0 sees the new targets
        assert model(changed, masked).item() > model(patches, masked).item()


def test_training_names_the_one_session_shorter_than_the_window(inputs) -> None:
    short = mae_inputs(pose_view(lab_session(2.0, key=3)[0]))
    with pytest.raises(InputDataError, match=r"rat01/ses04: 60 frames \(2.0 s\), shorter .*96"):
        BehaviourMAE(TINY).fit([*inputs, short], 30.0)


def test_embedding_refuses_a_long_all_nan_stretch_by_session_and_time(inputs) -> None:
    est = BehaviourMAE(TINY, max_gap_s=1.0).fit(inputs, 30.0)
    ds = lab_session(8.0, key=1)[0]
    ds["position"][90:150] = np.nan
    with pytest.raises(
        InputDataError,
        match=r"rat01/ses02: pose missing for 2.0 s from 3.0 s \(frames 90-150\).*max_gap_s=1.0",
    ):
        est.embed(mae_inputs(pose_view(ds)), 30.0)


def test_a_session_with_no_pose_at_all_is_refused_by_name() -> None:
    ds = lab_session(8.0)[0]
    ds["position"][:] = np.nan
    with pytest.raises(
        InputDataError, match=r"rat01/ses01: no frame has at least 50% .* missing throughout"
    ):
        BehaviourMAE(TINY).fit([mae_inputs(pose_view(ds))], 30.0)


def test_no_complete_window_names_the_sessions_and_the_setting() -> None:
    ds = lab_session(8.0)[0]
    for start in range(20, 240, 60):  # 1-s holes every 2 s: no 96-frame window is whole
        ds["position"][start : start + 30] = np.nan
    with pytest.raises(InputDataError, match=r"rat01/ses01\).*window_frames smaller"):
        BehaviourMAE(TINY, max_gap_s=5.0).fit([mae_inputs(pose_view(ds))], 30.0)
