"""Tests for the 3D body kinematics of the virtual rat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainbehave.synth import skeleton
from brainbehave.synth.arena import Arena
from brainbehave.synth.behaviour import ACTIONS, PRIMITIVES, BehaviourTruth, simulate_behaviour
from brainbehave.synth.body import (
    HARD_MARGIN_MM,
    STEER_MARGIN_MM,
    BodyTruth,
    load_real_path,
    simulate_body,
)

FPS = 30.0
REAL_DATA = Path("/work/shared/data/ratinabox_trajectories")
NOSE = skeleton.keypoint_index("nose")
FOREPAWS = [skeleton.keypoint_index(n) for n in ("left_forepaw", "right_forepaw")]


@pytest.fixture(scope="module")
def session() -> tuple[BehaviourTruth, BodyTruth]:
    """Two minutes in the default arena; seed chosen so that every action occurs."""
    rng = np.random.default_rng(11)
    behaviour = simulate_behaviour(int(120 * FPS), FPS, rng)
    assert len(np.unique(behaviour.action)) == len(ACTIONS)
    return behaviour, simulate_body(behaviour, FPS, Arena(), rng)


def _median(values: np.ndarray, behaviour: BehaviourTruth, action: str) -> float:
    return float(np.median(values[behaviour.action == ACTIONS.index(action)]))


def _head_relative(body: BodyTruth) -> np.ndarray:
    """Head yaw relative to the body, wrapped to (-pi, pi]."""
    return np.angle(np.exp(1j * (body.head_direction - body.heading)))


def test_same_rng_state_gives_same_body() -> None:
    def run(seed: int) -> BodyTruth:
        rng = np.random.default_rng(seed)
        return simulate_body(simulate_behaviour(300, FPS, rng), FPS, Arena(), rng)

    a, b, c = run(1), run(1), run(2)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.speed, b.speed)
    assert not np.allclose(a.position, c.position)


def test_outputs_have_the_contract_shapes(session) -> None:
    behaviour, body = session
    t_n, k = behaviour.n_frames, len(skeleton.KEYPOINTS)
    assert body.keypoints.shape == (t_n, k, 3) and body.keypoints.dtype == np.float64
    assert body.position.shape == (t_n, 2)
    for name in ("heading", "head_direction", "speed", "pitch"):
        assert getattr(body, name).shape == (t_n,)
        assert np.all(np.isfinite(getattr(body, name)))


def test_animal_stays_in_the_arena_and_above_the_floor(session) -> None:
    _, body = session
    arena = Arena()
    assert np.all(arena.inside(body.keypoints[..., :2]))
    assert np.all(arena.inside(body.position, margin_mm=HARD_MARGIN_MM))
    assert body.keypoints[..., 2].min() >= 0.0
    back = body.keypoints[:, skeleton.keypoint_index("back"), :2]
    assert np.abs(back - body.position).max() < 3.0


def test_animal_is_not_stuck_against_walls_or_object(session) -> None:
    behaviour, body = session
    moving = np.isin(behaviour.action, [ACTIONS.index("walk"), ACTIONS.index("trot")])
    assert np.mean(body.speed[moving] < 20.0) < 0.05


def test_speed_orders_trot_walk_still(session) -> None:
    behaviour, body = session
    trot, walk = _median(body.speed, behaviour, "trot"), _median(body.speed, behaviour, "walk")
    still = _median(body.speed, behaviour, "still")
    assert 220.0 < trot <= 360.0
    assert 90.0 < walk <= 170.0
    assert still < 5.0


def test_turns_rotate_the_body_and_bend_the_head(session) -> None:
    behaviour, body = session
    yaw_rate = np.abs(np.gradient(body.heading)) * FPS
    turn = np.rad2deg(_median(yaw_rate, behaviour, "turn"))
    assert 60.0 < turn < 200.0
    assert np.rad2deg(_median(yaw_rate, behaviour, "still")) < 5.0
    frames = behaviour.action == ACTIONS.index("turn")
    towards = np.sign(_head_relative(body)[frames]) == behaviour.turn_sign[frames]
    assert towards.mean() > 0.8


def test_rearing_pitches_the_body_and_lifts_the_nose_highest(session) -> None:
    behaviour, body = session
    rear_pitch = _median(body.pitch, behaviour, "rear")
    nose_z = body.keypoints[:, NOSE, 2]
    rear_nose = _median(nose_z, behaviour, "rear")
    assert np.deg2rad(40.0) < rear_pitch < np.deg2rad(70.0)
    assert 110.0 < nose_z.max() < 170.0
    for action in ACTIONS:
        if action != "rear":
            assert _median(body.pitch, behaviour, action) < rear_pitch - np.deg2rad(10.0)
            assert _median(nose_z, behaviour, action) < rear_nose - 30.0
    hold = behaviour.primitive == PRIMITIVES.index("hold_up")
    assert body.keypoints[hold][:, FOREPAWS, 2].min() > 30.0


def test_grooming_postures(session) -> None:
    behaviour, body = session
    face = behaviour.action == ACTIONS.index("face_groom")
    assert np.deg2rad(25.0) < _median(body.pitch, behaviour, "face_groom") < np.deg2rad(45.0)
    forepaws = body.keypoints[face][:, FOREPAWS]
    nose = body.keypoints[face][:, [NOSE]]
    assert np.median(np.linalg.norm(forepaws - nose, axis=-1)) < 30.0
    bent = np.abs(_head_relative(body))[behaviour.action == ACTIONS.index("body_groom")]
    assert np.deg2rad(70.0) < np.median(bent) < np.deg2rad(110.0)


def test_sniffing_sweeps_the_head_without_moving(session) -> None:
    behaviour, body = session
    sniff = behaviour.action == ACTIONS.index("sniff")
    head = np.rad2deg(np.abs(_head_relative(body)[sniff]))
    assert 15.0 < np.percentile(head, 95) < 40.0
    assert np.median(body.speed[sniff]) < 5.0


def test_walking_paws_swing_and_lift(session) -> None:
    behaviour, body = session
    walk = behaviour.action == ACTIONS.index("walk")
    paw = skeleton.keypoint_index("left_hindpaw")
    lift = body.keypoints[walk, paw, 2]
    assert np.percentile(lift, 95) > 2.0 and lift.max() < 15.0
    still = behaviour.action == ACTIONS.index("still")
    assert np.percentile(body.keypoints[still, paw, 2], 95) < 2.0


def test_no_keypoint_teleports(session) -> None:
    _, body = session
    step = np.linalg.norm(np.diff(body.keypoints, axis=0), axis=-1)
    assert step.max() * FPS < 1500.0  # mm/s, a fast paw swing
    centre = np.linalg.norm(np.diff(body.position, axis=0), axis=-1)
    assert centre.max() * FPS < 400.0
    assert np.abs(np.diff(body.pitch)).max() * FPS < np.deg2rad(600.0)


@pytest.mark.parametrize("name", ["sargolini", "tanni"])
def test_real_path_fits_the_arena(name: str) -> None:
    if not (REAL_DATA / f"{name}.npz").is_file():
        pytest.skip(f"{REAL_DATA / name}.npz not available here")
    arena = Arena(object_xy_mm=None)
    path = load_real_path(name, REAL_DATA, arena, np.random.default_rng(0))
    assert path.ndim == 2 and path.shape[1] == 2 and path.shape[0] > 1000
    assert np.all(arena.inside(path, margin_mm=STEER_MARGIN_MM))
    np.testing.assert_allclose(path[-1], path[0])
    assert np.linalg.norm(np.diff(path, axis=0), axis=1).max() < 5.0
    other = load_real_path(name, REAL_DATA, arena, np.random.default_rng(1))
    assert not np.allclose(path[:100], other[:100])


def test_body_follows_a_real_path() -> None:
    if not (REAL_DATA / "sargolini.npz").is_file():
        pytest.skip("sargolini.npz not available here")
    arena = Arena()
    rng = np.random.default_rng(3)
    path = load_real_path("sargolini", REAL_DATA, arena, rng)
    behaviour = simulate_behaviour(int(60 * FPS), FPS, rng)
    body = simulate_body(behaviour, FPS, arena, rng, path_mm=path)
    nearest = np.min(np.linalg.norm(body.position[::10, None] - path[None], axis=-1), axis=1)
    assert nearest.max() < 2.0
    assert np.all(np.abs(body.keypoints[..., :2]) <= arena.half)
    assert body.keypoints[..., 2].min() >= 0.0
    travelled = np.linalg.norm(np.diff(body.position, axis=0), axis=1)
    moving = np.isin(behaviour.action[1:], [ACTIONS.index(a) for a in ("walk", "trot")])
    assert travelled[moving].mean() > travelled[~moving].mean() + 2.0


def test_loop_path_is_followed_round_and_round() -> None:
    angle = np.linspace(0.0, 2 * np.pi, 200)
    loop = 100.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    rng = np.random.default_rng(0)
    behaviour = simulate_behaviour(600, FPS, rng)
    body = simulate_body(behaviour, FPS, Arena(object_xy_mm=None), rng, path_mm=loop)
    radius = np.linalg.norm(body.position, axis=1)
    assert np.all((radius > 99.0) & (radius < 100.5))


def test_missing_trajectory_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"sargolini\.npz"):
        load_real_path("sargolini", tmp_path, Arena(), np.random.default_rng(0))


def test_unknown_trajectory_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'moser'.*sargolini"):
        load_real_path("moser", tmp_path, Arena(), np.random.default_rng(0))


def test_trajectory_file_without_positions_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "tanni.npz", t=np.arange(10.0))
    with pytest.raises(ValueError, match="pos"):
        load_real_path("tanni", tmp_path, Arena(), np.random.default_rng(0))


def test_bad_inputs_are_refused() -> None:
    rng = np.random.default_rng(0)
    behaviour = simulate_behaviour(30, FPS, rng)
    with pytest.raises(ValueError, match="fps"):
        simulate_body(behaviour, 0.0, Arena(), rng)
    with pytest.raises(ValueError, match="path_mm"):
        simulate_body(behaviour, FPS, Arena(), rng, path_mm=np.zeros((5, 3)))
