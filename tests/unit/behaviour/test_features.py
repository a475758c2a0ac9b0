"""Features: values a user can check by hand, NaN handling and name checks."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.behaviour.features import (
    FEATURES,
    egocentric,
    evaluate,
    parse_expression,
    pose_view,
    session_features,
)
from brainbehave.errors import ConfigError, InputDataError
from brainbehave.pose import pose_dataset
from brainbehave.synth.skeleton import KEYPOINTS, REST_POSE_MM


def _moving_rat(n: int = 60, speed_mm_s: float = 120.0, pitch_deg: float = 0.0):
    """The rest pose translated along +y at a constant speed (heading +y), optionally pitched."""
    pose = REST_POSE_MM.copy()
    if pitch_deg:
        a = np.deg2rad(pitch_deg)
        x, z = pose[:, 0] + 38.0, pose[:, 2]
        pose[:, 0], pose[:, 2] = x * np.cos(a) - z * np.sin(a) - 38.0, x * np.sin(a) + z * np.cos(a)
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # heading +y
    xyz = np.repeat((pose @ rot.T)[None], n, axis=0)
    xyz[..., 1] += speed_mm_s * np.arange(n)[:, None] / 30.0
    return pose_dataset(xyz, None, KEYPOINTS, 30.0, source_software="test", units="mm")


def test_speed_heading_and_pitch_of_a_known_motion() -> None:
    view = pose_view(_moving_rat(pitch_deg=0.0), smooth_s=0.0)
    assert np.allclose(evaluate(parse_expression("speed"), view)[5:-5], 120.0, atol=1e-6)
    assert np.allclose(evaluate(parse_expression("heading"), view), np.pi / 2)
    rest_pitch = evaluate(parse_expression("body_pitch"), view)
    pitched = evaluate(parse_expression("body_pitch"), pose_view(_moving_rat(pitch_deg=40.0)))
    assert np.allclose(pitched - rest_pitch, 40.0, atol=0.5)
    assert np.allclose(evaluate(parse_expression("height(nose)"), view), 30.0)


def test_egocentric_pose_faces_plus_x_wherever_the_animal_is() -> None:
    ego = egocentric(pose_view(_moving_rat(), smooth_s=0.0))
    nose = ego[:, KEYPOINTS.index("nose")]
    assert np.allclose(nose[:, :2], REST_POSE_MM[0, :2], atol=1e-6)


def test_missing_keypoint_gives_nan_only_where_missing() -> None:
    ds = _moving_rat()
    ds["position"][10:20, :, KEYPOINTS.index("nose")] = np.nan
    feats = session_features(pose_view(ds, smooth_s=0.0))
    nose_height = feats["features"].sel(feature="nose_height").values
    assert np.isnan(nose_height[10:20]).all() and np.isfinite(nose_height[:10]).all()
    assert feats.attrs["frames_missing"] == 10


def test_unknown_feature_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown feature 'sped'.*Valid features: \[.*'speed'"):
        parse_expression("sped")


def test_unknown_keypoint_is_refused_with_the_valid_keypoints() -> None:
    with pytest.raises(ConfigError, match=r"unknown keypoint\(s\) \['snout'\].*'nose'"):
        parse_expression("height(snout)", KEYPOINTS)
    with pytest.raises(ConfigError, match="takes 2 keypoint name"):
        parse_expression("distance(nose)", KEYPOINTS)


def test_heights_need_3d_pose() -> None:
    ds = pose_dataset(np.zeros((10, 12, 2)), None, KEYPOINTS, 30.0, source_software="t", units="px")
    with pytest.raises(InputDataError, match="needs 3D pose"):
        evaluate(parse_expression("nose_height"), pose_view(ds))
    assert "nose_height" not in session_features(pose_view(ds))["feature"].values


def test_registry_holds_the_documented_features() -> None:
    for name in ("speed", "yaw_rate", "body_pitch", "head_yaw", "distance", "angle"):
        assert name in FEATURES


def test_mirror_view_swaps_sides_flips_lateral_and_undoes_itself() -> None:
    from brainbehave.behaviour.features import mirror_partner, mirror_view

    view = pose_view(_moving_rat(), smooth_s=0.0)
    mirrored = mirror_view(view)
    left, right = KEYPOINTS.index("left_forepaw"), KEYPOINTS.index("right_forepaw")
    assert np.allclose(mirrored.xyz[:, left, 1], -view.xyz[:, right, 1])
    assert np.allclose(mirror_view(mirrored).xyz, view.xyz)
    # in the body frame a mirror image is the same pose with lateral offsets negated
    ego, ego_m = egocentric(view), egocentric(mirrored)
    assert np.allclose(ego_m[:, left, 1], -ego[:, right, 1], atol=1e-9)
    assert mirror_partner("right_ear") == "left_ear" and mirror_partner("nose") == "nose"
