"""Single-camera lifting: learns, gives an uncertainty, is reproducible, checkpoints round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pose3d_scenes import make_scene

from brainbehave.pose3d.lift import (
    Lifter,
    LiftSettings,
    features,
    mpjpe,
    pa_mpjpe,
    root_relative,
    targets,
    within_sd,
)

TINY = LiftSettings(channels=16, blocks=1, window=16, batch_size=8, steps=80, lr=3e-3)


@pytest.fixture(scope="module")
def data() -> list:
    torch.set_num_threads(1)
    scene = make_scene(n_cameras=2, seconds=3.0)
    return [(scene.uv[c], cam, scene.xyz) for c, cam in enumerate(scene.cameras)]


def test_fit_learns_and_predicts_mean_and_positive_sd(data: list) -> None:
    lifter = Lifter(TINY).fit(data)
    assert lifter.history_[-1]["loss"] < lifter.history_[0]["loss"]
    uv, cam, xyz = data[0]
    mean, sd = lifter.predict(uv, cam)
    assert mean.shape == sd.shape == xyz.shape and (sd > 0).all()
    true = targets(xyz, cam, TINY.root)
    assert mpjpe(root_relative(mean, TINY.root), true) < mpjpe(np.zeros_like(true), true)
    assert lifter.model_.training  # back in train mode after predicting
    # absolute camera-frame output: the root lies on its 2D ray, at about the right depth
    xc = cam.to_camera_frame(xyz)
    ray = cam.undistort_points(uv[:, TINY.root])
    np.testing.assert_allclose(mean[:, TINY.root, :2] / mean[:, TINY.root, 2:], ray, atol=1e-9)
    depth_err = np.abs(mean[:, TINY.root, 2] - xc[:, TINY.root, 2])
    assert np.median(depth_err) < 0.2 * np.median(xc[:, TINY.root, 2])
    assert 0.0 < within_sd(mean, sd, xc) <= 1.0


def test_same_seed_same_model_and_checkpoint_round_trip(data: list, tmp_path: Path) -> None:
    settings = LiftSettings(**{**TINY.__dict__, "steps": 5})
    a, b = Lifter(settings).fit(data), Lifter(settings).fit(data)
    uv, cam, _ = data[1]
    np.testing.assert_array_equal(a.predict(uv, cam)[0], b.predict(uv, cam)[0])
    a.save(tmp_path / "lift.pt")
    back = Lifter.load(tmp_path / "lift.pt")
    assert back.solver_.n_steps == 5
    np.testing.assert_allclose(back.predict(uv, cam)[0], a.predict(uv, cam)[0], atol=1e-3)
    assert back.depth_offset_ == a.depth_offset_


def test_features_flag_missing_views_and_pa_mpjpe_ignores_similarity(data: list) -> None:
    uv, cam, xyz = data[0]
    uv = uv.copy()
    uv[0, 3] = np.nan
    f = features(uv, cam, root=0)
    k = uv.shape[1]
    assert f.shape == (len(uv), 3 * k) and f[0, 2 * k + 3] == 0 and f[1, 2 * k + 3] == 1
    true = targets(xyz, cam, 0)
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert pa_mpjpe(2.0 * true @ rot + 5.0, true) < 1e-6


def test_short_sequences_are_refused(data: list) -> None:
    uv, cam, xyz = data[0]
    with pytest.raises(ValueError, match="Sequences must have >= 16 frames"):
        Lifter(TINY).fit([(uv[:10], cam, xyz[:10])])
