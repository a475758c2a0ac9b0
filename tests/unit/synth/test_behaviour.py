"""Tests for the hierarchical behaviour process of the virtual lab."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.synth.behaviour import (
    ACTION_ACTIVITY,
    ACTION_PRIMITIVES,
    ACTIONS,
    ACTIVITIES,
    PRIMITIVES,
    BehaviourTruth,
    bouts,
    simulate_behaviour,
)

FPS = 30.0


@pytest.fixture(scope="module")
def long_session() -> BehaviourTruth:
    """20 minutes of behaviour: enough bouts at every level for stable statistics."""
    return simulate_behaviour(int(20 * 60 * FPS), FPS, np.random.default_rng(7))


def _mean_bout_s(labels: np.ndarray, phase: np.ndarray | None = None) -> float:
    starts, stops = bouts(labels, phase)
    return float(np.mean(stops - starts)) / FPS


def test_vocabularies_are_consistent() -> None:
    assert set(ACTION_ACTIVITY) == set(ACTIONS)
    assert set(ACTION_ACTIVITY.values()) == set(ACTIVITIES)
    assert set(ACTION_PRIMITIVES) == set(ACTIONS)
    used = {p for prims in ACTION_PRIMITIVES.values() for p in prims}
    assert used == set(PRIMITIVES)
    assert len(PRIMITIVES) >= 8


def test_same_rng_state_gives_same_behaviour() -> None:
    a = simulate_behaviour(900, FPS, np.random.default_rng(3))
    b = simulate_behaviour(900, FPS, np.random.default_rng(3))
    c = simulate_behaviour(900, FPS, np.random.default_rng(4))
    for name in ("activity", "action", "primitive", "phase", "turn_sign", "vigour"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.primitive, c.primitive)


def test_labels_have_the_contract_shapes_dtypes_and_ranges() -> None:
    truth = simulate_behaviour(1800, FPS, np.random.default_rng(0))
    expected = {
        "activity": (np.int16, len(ACTIVITIES)),
        "action": (np.int16, len(ACTIONS)),
        "primitive": (np.int16, len(PRIMITIVES)),
    }
    for name, (dtype, n) in expected.items():
        labels = getattr(truth, name)
        assert labels.shape == (1800,) and labels.dtype == dtype
        assert labels.min() >= 0 and labels.max() < n
    assert truth.phase.dtype == np.float32 and truth.phase.shape == (1800,)
    assert truth.phase.min() >= 0.0 and truth.phase.max() < 1.0
    assert truth.turn_sign.dtype == np.int8 and set(np.unique(truth.turn_sign)) <= {-1, 0, 1}
    assert truth.vigour.min() >= 0.0 and truth.vigour.max() <= 1.0
    assert truth.n_frames == 1800


def test_every_frame_is_consistent_across_levels(long_session: BehaviourTruth) -> None:
    for a, name in enumerate(ACTIONS):
        frames = long_session.action == a
        assert frames.any(), f"action {name} never drawn in 20 min"
        activity = ACTIVITIES.index(ACTION_ACTIVITY[name])
        assert np.all(long_session.activity[frames] == activity)
        allowed = [PRIMITIVES.index(p) for p in ACTION_PRIMITIVES[name]]
        assert np.all(np.isin(long_session.primitive[frames], allowed))


def test_levels_have_distinct_time_scales(long_session: BehaviourTruth) -> None:
    activity = _mean_bout_s(long_session.activity)
    action = _mean_bout_s(long_session.action)
    primitive = _mean_bout_s(long_session.primitive, long_session.phase)
    assert 10.0 <= activity <= 30.0
    assert 0.7 <= action <= 4.0
    assert 0.08 <= primitive <= 0.5
    assert activity > 4 * action > 4 * 4 * primitive


def test_cadences_follow_the_action(long_session: BehaviourTruth) -> None:
    """Strides of a trot are shorter than those of a walk; groom strokes are fastest."""

    def primitive_s(action: str) -> float:
        starts, stops = bouts(long_session.primitive, long_session.phase)
        keep = long_session.action[starts] == ACTIONS.index(action)
        return float(np.median(stops[keep] - starts[keep])) / FPS

    assert primitive_s("trot") < 0.8 * primitive_s("walk")
    assert primitive_s("face_groom") < primitive_s("walk") < primitive_s("sniff")


def test_rears_rise_then_hold_then_descend(long_session: BehaviourTruth) -> None:
    rear = ACTIONS.index("rear")
    starts, stops = bouts(long_session.action)
    durations = []
    for start, stop in zip(starts, stops, strict=True):
        if long_session.action[start] != rear or start == 0 or stop == long_session.n_frames:
            continue
        names = [PRIMITIVES[p] for p in long_session.primitive[start:stop]]
        assert names[0] == "rise" and names[-1] == "descend"
        assert set(names[1:-1]) <= {"rise", "hold_up", "descend"}
        durations.append((stop - start) / FPS)
    assert durations and 0.9 <= min(durations) and max(durations) <= 2.1


def test_a_small_cohort_sees_all_activities_and_most_actions() -> None:
    rng = np.random.default_rng(2024)
    sessions = [simulate_behaviour(int(60 * FPS), FPS, rng) for _ in range(4)]
    seen = set().union(*(set(s.activity.tolist()) for s in sessions))
    assert seen == set(range(len(ACTIVITIES)))
    n_actions = [len(np.unique(s.action)) for s in sessions]
    assert np.mean(n_actions) >= 5
    assert all(len(bouts(s.activity)[0]) >= 3 for s in sessions)


def test_turn_sign_marks_turn_direction_and_sweeps(long_session: BehaviourTruth) -> None:
    turn = long_session.action == ACTIONS.index("turn")
    assert set(np.unique(long_session.turn_sign[turn])) == {-1, 1}
    left = long_session.primitive == PRIMITIVES.index("turn_step_left")
    assert np.all(long_session.turn_sign[left] == 1)
    sweep_right = long_session.primitive == PRIMITIVES.index("head_sweep_right")
    assert np.all(long_session.turn_sign[sweep_right] == -1)
    still = long_session.action == ACTIONS.index("still")
    assert np.all(long_session.turn_sign[still] == 0)


def test_sampling_rate_does_not_change_the_process() -> None:
    """Same rng, different fps: the same behaviour, sampled more or less densely."""
    slow = simulate_behaviour(600, 10.0, np.random.default_rng(5))
    fast = simulate_behaviour(1800, 30.0, np.random.default_rng(5))
    np.testing.assert_array_equal(slow.action, fast.action[::3])


@pytest.mark.parametrize(
    ("n_frames", "fps", "match"),
    [
        (0, 30.0, "n_frames"),
        (-5, 30.0, "n_frames"),
        (10.5, 30.0, "n_frames"),
        (100, 0.0, "fps"),
        (100, -30.0, "fps"),
        (100, float("nan"), "fps"),
    ],
)
def test_bad_arguments_are_refused(n_frames, fps, match) -> None:
    with pytest.raises(ValueError, match=match):
        simulate_behaviour(n_frames, fps, np.random.default_rng(0))


def test_one_frame_session_works() -> None:
    truth = simulate_behaviour(1, FPS, np.random.default_rng(0))
    assert truth.action.shape == (1,)


def test_truth_refuses_mismatched_lengths() -> None:
    ok = np.zeros(5, dtype=np.int16)
    with pytest.raises(ValueError, match="phase"):
        BehaviourTruth(ok, ok, ok, np.zeros(4, dtype=np.float32), ok.astype(np.int8))
