"""Hierarchical ground-truth behaviour of the virtual rat (activities > actions > primitives).

The model is a three-level semi-Markov process in continuous time, sampled at the frame
times ``i / fps`` (the Shot7M2 idea of hBehaveMAE: every level is known at every frame):

* **Activities** (``explore``, ``rest``, ``groom``) last ~10-30 s: gamma-distributed
  durations (mean ~15 s) and a transition matrix without self-transitions.
* **Actions** (~0.7-4 s) are drawn inside an activity from an activity-specific transition
  matrix (again without self-transitions) with gamma durations; an activity bout ends with
  the action that crosses its sampled duration, so no action (a rear, say) is cut short.
* **Primitives** (~0.1-0.5 s) are the motion units of an action: alternating stride
  half-cycles (walk ~3 Hz, trot ~5 Hz), turn steps, rise -> hold_up -> descend for a rear,
  breaths, head sweeps (~2 Hz), groom strokes and licks (~4-6 Hz). ``phase`` runs from 0
  to 1 through each primitive instance and drives the body kinematics (:mod:`.body`).

Each action bout also draws a ``vigour`` in [0, 1] that sets its cadence here and its
speed / turn rate / rear height in the kinematics, so the two stay consistent.
Everything is drawn from the ``numpy.random.Generator`` passed in: same generator state,
same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVITIES: tuple[str, ...] = ("explore", "rest", "groom")
ACTIONS: tuple[str, ...] = (
    "walk",
    "trot",
    "turn",
    "rear",
    "still",
    "sniff",
    "face_groom",
    "body_groom",
)
ACTION_ACTIVITY: dict[str, str] = {
    "walk": "explore",
    "trot": "explore",
    "turn": "explore",
    "rear": "explore",
    "still": "rest",
    "sniff": "rest",
    "face_groom": "groom",
    "body_groom": "groom",
}
PRIMITIVES: tuple[str, ...] = (
    "stride_left",  # half stride cycle: left forepaw + right hindpaw swing
    "stride_right",  # half stride cycle: right forepaw + left hindpaw swing
    "turn_step_left",  # one step of a turn to the left
    "turn_step_right",  # one step of a turn to the right
    "rise",
    "hold_up",
    "descend",
    "breathe_in",
    "breathe_out",
    "head_sweep_left",  # head yaw moving from right to left
    "head_sweep_right",
    "stroke_up",  # forepaws moving up over the face
    "stroke_down",
    "lick_down",  # head moving down along the flank
    "lick_up",
)
ACTION_PRIMITIVES: dict[str, tuple[str, ...]] = {
    "walk": ("stride_left", "stride_right"),
    "trot": ("stride_left", "stride_right"),
    "turn": ("turn_step_left", "turn_step_right"),
    "rear": ("rise", "hold_up", "descend"),
    "still": ("breathe_in", "breathe_out"),
    "sniff": ("head_sweep_left", "head_sweep_right"),
    "face_groom": ("stroke_up", "stroke_down"),
    "body_groom": ("lick_down", "lick_up"),
}

# Activity level: (mean duration s, gamma shape), start distribution, transitions (rows: from).
_ACTIVITY_DURATION: dict[str, tuple[float, float]] = {
    "explore": (16.0, 6.0),
    "rest": (14.0, 6.0),
    "groom": (14.0, 6.0),
}
_ACTIVITY_CLIP_S = (6.0, 40.0)
_ACTIVITY_START = np.array([0.5, 0.25, 0.25])
_ACTIVITY_TRANSITIONS = np.array(
    [
        [0.0, 0.5, 0.5],
        [0.65, 0.0, 0.35],
        [0.55, 0.45, 0.0],
    ]
)

# Action level: (mean duration s, gamma shape, min s, max s); rears are short.
_ACTION_DURATION: dict[str, tuple[float, float, float, float]] = {
    "walk": (2.0, 6.0, 0.7, 4.0),
    "trot": (1.4, 6.0, 0.7, 3.0),
    "turn": (1.0, 8.0, 0.7, 2.0),
    "rear": (1.5, 10.0, 1.0, 2.0),
    "still": (2.5, 5.0, 0.8, 4.0),
    "sniff": (2.0, 6.0, 0.8, 4.0),
    "face_groom": (2.5, 6.0, 0.8, 4.0),
    "body_groom": (2.5, 6.0, 0.8, 4.0),
}
# Per activity: its actions, their start distribution, transitions between them (rows: from).
_ACTION_CHAINS: dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = {
    "explore": (
        ("walk", "trot", "turn", "rear"),
        np.array([0.5, 0.15, 0.2, 0.15]),
        np.array(
            [
                [0.0, 0.3, 0.45, 0.25],
                [0.5, 0.0, 0.35, 0.15],
                [0.6, 0.25, 0.0, 0.15],
                [0.45, 0.1, 0.45, 0.0],
            ]
        ),
    ),
    "rest": (("still", "sniff"), np.array([0.5, 0.5]), np.array([[0.0, 1.0], [1.0, 0.0]])),
    "groom": (
        ("face_groom", "body_groom"),
        np.array([0.6, 0.4]),
        np.array([[0.0, 1.0], [1.0, 0.0]]),
    ),
}

# Primitive level: cycle frequency range (Hz) of the alternating primitives, mapped from the
# bout's vigour; each primitive is half a cycle. Durations jitter by this fraction.
_CYCLE_HZ: dict[str, tuple[float, float]] = {
    "walk": (2.6, 3.4),
    "trot": (4.5, 5.5),
    "turn": (2.0, 2.8),
    "still": (1.2, 1.8),
    "sniff": (1.7, 2.3),
    "face_groom": (4.0, 6.0),
    "body_groom": (4.5, 6.0),
}
_PRIMITIVE_JITTER = 0.08
_REAR_RISE_S = (0.3, 0.4)
_REAR_HOLD_UNIT_S = 0.4


@dataclass(frozen=True)
class BehaviourTruth:
    """Per-frame ground truth of the three behaviour levels.

    Attributes
    ----------
    activity, action, primitive
        (T,) int16 indices into ACTIVITIES, ACTIONS and PRIMITIVES.
    phase
        (T,) float32 in [0, 1): position within the current primitive instance.
    turn_sign
        (T,) int8: +1 left / -1 right for the direction of a turn, the side of a
        body groom and the direction of a sniffing head sweep; 0 otherwise.
    vigour
        (T,) float32 in [0, 1], constant over an action bout: scales cadence, speed,
        turn rate and rear height. None means 0.5 everywhere.
    """

    activity: np.ndarray
    action: np.ndarray
    primitive: np.ndarray
    phase: np.ndarray
    turn_sign: np.ndarray
    vigour: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = np.shape(self.activity)
        for name in ("activity", "action", "primitive", "phase", "turn_sign", "vigour"):
            value = getattr(self, name)
            if value is not None and (np.ndim(value) != 1 or np.shape(value) != n):
                raise ValueError(
                    f"Expected BehaviourTruth.{name} to have shape {n} like 'activity', "
                    f"but got {np.shape(value)}."
                )

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.activity.shape[0])


def bouts(labels: np.ndarray, phase: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) frame indices of the bouts in a label sequence.

    A bout is a run of equal labels; with ``phase`` given (primitives), a drop in phase
    also starts a new bout, so repeated instances of one primitive count separately.
    """
    labels = np.asarray(labels)
    new = np.zeros(labels.shape[0], dtype=bool)
    new[0] = True
    new[1:] = labels[1:] != labels[:-1]
    if phase is not None:
        new[1:] |= np.diff(np.asarray(phase)) < 0
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], labels.shape[0])
    return starts, stops


def simulate_behaviour(n_frames: int, fps: float, rng: np.random.Generator) -> BehaviourTruth:
    """Draw one session's hierarchical behaviour, sampled at ``n_frames`` frames.

    Parameters
    ----------
    n_frames
        Number of frames T (>= 1).
    fps
        Frame rate in Hz (> 0); frame i is sampled at time i / fps.
    rng
        The only source of randomness.

    Returns
    -------
    BehaviourTruth
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, int | np.integer) or n_frames < 1:
        raise ValueError(f"Expected n_frames to be an integer >= 1, but got {n_frames!r}.")
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"Expected fps > 0 (frames per second), but got {fps!r}.")
    duration = n_frames / float(fps)
    segments = _simulate_segments(duration, rng)
    return _sample_frames(segments, n_frames, float(fps))


def _simulate_segments(duration: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Primitive segments (start/stop in s and their labels) covering [0, duration]."""
    parts: list[dict[str, np.ndarray]] = []
    t = 0.0
    activity = int(rng.choice(len(ACTIVITIES), p=_ACTIVITY_START))
    first = True
    while t < duration:
        name = ACTIVITIES[activity]
        mean, shape = _ACTIVITY_DURATION[name]
        length = float(np.clip(rng.gamma(shape, mean / shape), *_ACTIVITY_CLIP_S))
        if first:
            # The session starts in the middle of a bout, not at its onset.
            length *= rng.uniform(0.3, 1.0)
            first = False
        t = _simulate_activity_bout(activity, t, t + length, duration, rng, parts)
        activity = int(rng.choice(len(ACTIVITIES), p=_ACTIVITY_TRANSITIONS[activity]))
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _simulate_activity_bout(
    activity: int,
    start: float,
    target_stop: float,
    duration: float,
    rng: np.random.Generator,
    parts: list[dict[str, np.ndarray]],
) -> float:
    """Append the actions of one activity bout to ``parts``; return when the bout ends."""
    names, start_p, transitions = _ACTION_CHAINS[ACTIVITIES[activity]]
    local = int(rng.choice(len(names), p=start_p))
    t = start
    while t < target_stop and t < duration:
        action = names[local]
        mean, shape, lo, hi = _ACTION_DURATION[action]
        length = float(np.clip(rng.gamma(shape, mean / shape), lo, hi))
        vigour = float(rng.uniform())
        sign = int(rng.choice((-1, 1))) if action in ("turn", "body_groom") else 0
        previous = PRIMITIVES[parts[-1]["primitive"][-1]] if parts else None
        prim, sign_p, lengths = _primitive_sequence(action, length, vigour, sign, previous, rng)
        stops = t + np.cumsum(lengths)
        n = stops.shape[0]
        parts.append(
            {
                "start": np.append(t, stops[:-1]),
                "stop": stops,
                "activity": np.full(n, activity),
                "action": np.full(n, ACTIONS.index(action)),
                "primitive": prim,
                "turn_sign": sign_p,
                "vigour": np.full(n, vigour),
            }
        )
        t = float(stops[-1])
        local = int(rng.choice(len(names), p=transitions[local]))
    return t


def _primitive_sequence(
    action: str,
    length: float,
    vigour: float,
    sign: int,
    previous: str | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Primitive indices, per-primitive turn signs and durations (about ``length`` in all).

    ``previous`` is the primitive just before this bout (None at a session start).
    """
    names = ACTION_PRIMITIVES[action]
    if action == "rear":
        rise, descend = rng.uniform(*_REAR_RISE_S, size=2)
        hold = length - rise - descend
        n_hold = max(1, int(round(hold / _REAR_HOLD_UNIT_S)))
        lengths = np.concatenate([[rise], np.full(n_hold, hold / n_hold), [descend]])
        prim = np.array([PRIMITIVES.index(n) for n in ("rise", *["hold_up"] * n_hold, "descend")])
        return prim, np.zeros(prim.shape[0], dtype=int), lengths
    lo, hi = _CYCLE_HZ[action]
    half = 0.5 / (lo + (hi - lo) * vigour)
    # Whole primitives only: a bout ends at a cycle boundary, so paws and strokes carry on
    # smoothly into the next bout.
    n = max(2, int(round(length / half)))
    lengths = half * np.clip(1.0 + _PRIMITIVE_JITTER * rng.standard_normal(n), 0.6, 1.4)
    if action == "turn":
        # A turn's steps all go one way: the primitive names the turn direction.
        prim_names = [names[0] if sign > 0 else names[1]] * n
        signs = np.full(n, sign)
    else:
        # Carry on the alternation (walk -> trot keeps the stride order), else start anywhere.
        offset = int(rng.integers(2)) if previous not in names else 1 - names.index(previous)
        prim_names = [names[(offset + i) % 2] for i in range(n)]
        if action == "sniff":
            signs = np.array([1 if p == "head_sweep_left" else -1 for p in prim_names])
        else:
            signs = np.full(n, sign)
    prim = np.array([PRIMITIVES.index(p) for p in prim_names])
    return prim, signs, lengths


def _sample_frames(segments: dict[str, np.ndarray], n_frames: int, fps: float) -> BehaviourTruth:
    """Labels and phase of the segment active at each frame time."""
    t = np.arange(n_frames) / fps
    idx = np.searchsorted(segments["stop"], t, side="right")
    idx = np.minimum(idx, segments["stop"].shape[0] - 1)
    start, stop = segments["start"][idx], segments["stop"][idx]
    phase = ((t - start) / np.maximum(stop - start, 1e-9)).astype(np.float32)
    phase = np.clip(phase, 0.0, np.nextafter(np.float32(1.0), np.float32(0.0)))
    return BehaviourTruth(
        activity=segments["activity"][idx].astype(np.int16),
        action=segments["action"][idx].astype(np.int16),
        primitive=segments["primitive"][idx].astype(np.int16),
        phase=phase,
        turn_sign=segments["turn_sign"][idx].astype(np.int8),
        vigour=segments["vigour"][idx].astype(np.float32),
    )
