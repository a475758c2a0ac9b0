"""Segmentation: recovers known clusters, selects k, smooths, writes the labels contract."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from brainbehave.behaviour.labels import intervals
from brainbehave.behaviour.segment import Segmenter
from brainbehave.behaviour.segment_spec import LevelSpec, level_specs
from brainbehave.errors import ConfigError, InputDataError


def _blobs(n_per: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(3), n_per)
    centres = rng.normal(0, 10, (3, 6))
    x = centres[truth] + rng.normal(0, 0.5, (truth.size, 6))
    return {"level1": x, "level2": x, "level3": x}, truth


def test_recovers_clusters_and_selects_k(tmp_path: Path) -> None:
    emb, truth = _blobs()
    specs = (
        LevelSpec("level3", "activity", None, 0.0, 0.0, (2, 6)),
        LevelSpec("level1", "primitive", 3, 0.0, 0.0),
    )
    seg = Segmenter(specs, 30.0).fit([emb])
    assert seg.models_["activity"]["kmeans"].n_clusters == 3
    codes = seg.predict(emb)
    assert normalized_mutual_info_score(truth, codes["primitive"]) > 0.99
    seg.save(tmp_path / "s.pkl")
    labels = Segmenter.load(tmp_path / "s.pkl").labels(emb)
    table = intervals(labels)
    assert set(table["source"]) == {"mae"} and set(table["level"]) == {"activity", "primitive"}


def test_short_bouts_are_smoothed_away_and_nan_frames_get_no_label() -> None:
    emb, truth = _blobs()
    noisy = {k: v.copy() for k, v in emb.items()}
    noisy["level1"][100] = noisy["level1"][300]  # one frame of another cluster
    noisy["level1"][50:55] = np.nan
    spec = (LevelSpec("level1", "primitive", 3, 0.0, 0.2),)
    codes = Segmenter(spec, 30.0).fit([emb]).predict(noisy)["primitive"]
    assert codes[100] == codes[99] and (codes[50:55] == -1).all()


def test_mirror_invariant_level_labels_a_behaviour_and_its_mirror_image_alike() -> None:
    emb, truth = _blobs()
    # blobs 1 and 2 are mirror images (a left and a right turn); blob 0 is its own mirror
    mirror_of = np.array([0, 2, 1])[truth]
    centres = np.stack([emb["level1"][truth == k].mean(axis=0) for k in range(3)])
    noise = emb["level1"] - centres[truth]
    mirrored = centres[mirror_of] + noise
    session = {"level1": emb["level1"], "level1_mirrored": mirrored}
    spec = (LevelSpec("level1", "action", 2, 0.0, 0.0, mirror_invariant=True),)
    seg = Segmenter(spec, 30.0).fit([session])
    codes = seg.predict(session)["action"]
    assert normalized_mutual_info_score(np.minimum(truth, 1), codes) > 0.99
    flipped = {"level1": mirrored, "level1_mirrored": emb["level1"]}
    assert (seg.predict(flipped)["action"] == codes).all()
    with pytest.raises(InputDataError, match=r"needs 'level1_mirrored'.*Rerun it"):
        seg.predict(emb)


def test_coarse_level_from_the_usage_of_finer_segments() -> None:
    """Two slow states, each a different mix of three fast motifs, switch every 300 frames."""
    rng = np.random.default_rng(0)
    slow = np.repeat(np.arange(8) % 2, 300)
    mixes = np.array([[0.5, 0.5, 0.0], [0.0, 0.3, 0.7]])
    fast = np.concatenate([rng.choice(3, p=mixes[s]) * np.ones(6, int) for s in slow[::6]])
    centres = rng.normal(0, 10, (3, 5))
    x = centres[fast] + rng.normal(0, 0.5, (fast.size, 5))
    specs = (
        LevelSpec("level3", "activity", 2, 0.0, 1.0, usage_of="action", usage_window_s=2.0),
        LevelSpec("level1", "action", 3, 0.0, 0.0),
    )
    codes = Segmenter(specs, 30.0).fit([{"level1": x}]).predict({"level1": x})
    assert normalized_mutual_info_score(fast, codes["action"]) > 0.95
    assert normalized_mutual_info_score(slow, codes["activity"]) > 0.8


def test_usage_of_an_unknown_level_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"segment.activity.usage_of is 'gait'"):
        level_specs({"activity": {"usage_of": "gait"}})
    assert level_specs({"action": {"n_clusters": "auto"}})[1].n_clusters is None


def _strokes(seed: int = 0):
    """Two movements, each a back-and-forth stroke along its own path; per frame: which
    movement, which half-cycle (out / back) and the embedding (a point on the path)."""
    rng = np.random.default_rng(seed)
    movement = np.repeat(np.arange(12) % 2, 120)
    phase = np.arange(movement.size) / 5.0  # a half-cycle every 5 frames
    half = np.floor(phase).astype(int) % 2
    along = -np.cos(np.pi * phase)  # the same positions out and back
    paths = rng.normal(0, 1, (2, 2, 6))  # per movement: its centre and its direction
    centre = gaussian_filter1d(paths[movement, 0] * 3.0, 5.0, axis=0)  # gradual changes
    x = centre + along[:, None] * paths[movement, 1]
    x += rng.normal(0, 0.02, x.shape)
    return {"level1": x}, movement, half


def test_within_splits_each_parent_cluster_and_motion_tells_half_cycles_apart() -> None:
    emb, movement, half = _strokes()
    primitive = 2 * movement + half
    specs = (
        LevelSpec("level1", "action", 2, 0.0, 0.0),
        LevelSpec("level1", "primitive", 2, 0.0, 0.0, within="action", motion=True),
    )
    seg = Segmenter(specs, 30.0).fit([emb])
    codes = seg.predict(emb)
    assert normalized_mutual_info_score(movement, codes["action"]) > 0.99
    # each primitive lies inside its action's cluster: codes action * 2 + 0/1
    assert (codes["primitive"] // 2 == codes["action"]).all()
    assert normalized_mutual_info_score(primitive, codes["primitive"]) > 0.75
    assert json.loads(seg.labels(emb).attrs["names_primitive"]) == ["c0", "c1", "c2", "c3"]
    # by position alone the out and back strokes look alike
    still = (specs[0], replace(specs[1], motion=False))
    by_pose = Segmenter(still, 30.0).fit([emb]).predict(emb)["primitive"]
    assert normalized_mutual_info_score(primitive, by_pose) < 0.6


def test_within_a_level_that_depends_back_on_it_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"segment.action.within is 'primitive'"):
        level_specs(
            {
                "activity": {"usage_of": None},
                "action": {"within": "primitive"},
                "primitive": {"within": "action"},
            }
        )


def _mirror_and_reversal_pairs(n: int = 3000, half: int = 6, seed: int = 0):
    """Two movements: half-cycles that are mirror images, and out-and-back strokes.

    The mirror pair flips the sign of the embedding's left-right antisymmetric part every
    half-cycle (its rate of change peaks mid-way, so the rate of change does not tell the
    halves apart); the strokes are their own mirror images.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    movement = (t // 300) % 2
    phase = (t + 0.5) / half
    halves = np.floor(phase).astype(int) % 2
    paths = rng.normal(0, 1, (2, 3, 8))  # per movement: centre, direction, drift direction
    drift = gaussian_filter1d(rng.normal(0, 1, n), 15.0) * 5.0
    centre = gaussian_filter1d(paths[movement, 0] * 10.0, 3.0, axis=0)  # gradual changes
    sym = centre + drift[:, None] * paths[movement, 2]
    side = np.sin(np.pi * phase)[:, None] * paths[0, 1]  # + on one half, - on the other
    stroke = -np.cos(np.pi * phase)[:, None] * paths[1, 1]  # same positions out and back
    is_mirror = (movement == 0)[:, None]
    x = sym + np.where(is_mirror, side, stroke)
    x_mirrored = sym + np.where(is_mirror, -side, stroke)
    noise = rng.normal(0, 0.02, (2, n, 8))
    emb = {"level1": x + noise[0], "level1_mirrored": x_mirrored + noise[1]}
    return emb, movement, 2 * movement + halves


def test_mirror_pairs_split_mirror_image_half_cycles_by_their_alternation() -> None:
    emb, movement, primitive = _mirror_and_reversal_pairs()
    specs = (
        LevelSpec("level1", "action", 2, 0.0, 0.0, mirror_invariant=True),
        LevelSpec("level1", "primitive", 2, 0.0, 0.0, within="action", motion=True),
    )
    paired = (specs[0], replace(specs[1], mirror_pairs=True))
    seg = Segmenter(paired, 30.0).fit([emb])
    codes = seg.predict(emb)
    assert normalized_mutual_info_score(movement, codes["action"]) > 0.99
    assert (codes["primitive"] // 2 == codes["action"]).all()
    mirror, strokes = movement == 0, movement == 1
    assert adjusted_rand_score(primitive[mirror], codes["primitive"][mirror]) > 0.9
    # the strokes are their own mirror images: still split by their rate of change
    assert adjusted_rand_score(primitive[strokes], codes["primitive"][strokes]) > 0.8
    kinds = [set(part) for part in seg.models_["primitive"]["parts"].values()]
    assert sorted(len(k & {"alternation"}) for k in kinds) == [0, 1]
    # without it, the rate of change misses the mirror pair's halves
    motion_only = Segmenter(specs, 30.0).fit([emb]).predict(emb)["primitive"]
    assert adjusted_rand_score(primitive[mirror], motion_only[mirror]) < 0.3
    plain_action = (replace(specs[0], mirror_invariant=False), paired[1])
    seg = Segmenter(plain_action, 30.0).fit([emb])
    with pytest.raises(InputDataError, match=r"mirror_pairs needs 'level1_mirrored'.*Rerun"):
        seg.predict({"level1": emb["level1"]})


def test_mirror_pairs_are_the_primitive_default_and_read_from_the_config() -> None:
    default = {s.name: s for s in level_specs({})}["primitive"]
    assert default.mirror_pairs and default.within == "action"
    given = level_specs({"primitive": {"mirror_pairs": False, "half_cycle_s": [0.1, 0.3]}})
    assert not given[-1].mirror_pairs and given[-1].half_cycle_s == (0.1, 0.3)
