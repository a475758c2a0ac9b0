"""Hierarchical MAE: estimator contract, seeds, checkpoint resume, embeddings, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from behaviour_lab import lab_session

from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.mae import BehaviourMAE, mae_inputs, random_mask
from brainbehave.behaviour.mae_model import MAEConfig
from brainbehave.errors import InputDataError

TINY = MAEConfig(
    window=48,
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


def test_same_seed_same_training(inputs) -> None:
    a = BehaviourMAE(TINY).fit(inputs, 30.0).history_
    b = BehaviourMAE(TINY).fit(inputs, 30.0).history_
    assert a == b


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
        InputDataError, match=r"rat01/ses01: 30 frames .* shorter than the MAE window of 48"
    ):
        est.embed(short, 30.0)


def test_long_all_nan_stretch_is_refused_with_where_and_what_to_do(inputs) -> None:
    ds = lab_session(8.0)[0]
    ds["position"][10:200] = np.nan
    with pytest.raises(
        InputDataError, match=r"rat01/ses01: pose missing for 6.3 s from 0.3 s .*max_gap_s"
    ):
        BehaviourMAE(TINY, max_gap_s=2.0).fit([mae_inputs(pose_view(ds))], 30.0)


def test_mask_hides_the_requested_share_of_tokens() -> None:
    mask = random_mask(MAEConfig(), 8, 5, torch.Generator().manual_seed(0))
    assert mask.shape == (8, 24, 5) and abs(mask.float().mean().item() - 0.75) < 0.02
