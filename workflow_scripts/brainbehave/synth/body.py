"""3D body kinematics of the virtual rat, driven frame by frame by its behaviour labels.

The model, in three steps:

1. **Controls.** Each frame's action, primitive, phase, turn sign and vigour
   (:class:`~.behaviour.BehaviourTruth`) set targets for the slow control variables:
   forward speed (walk 100-160, trot 250-350, turn 25-50 mm/s, otherwise 0), yaw rate
   (turns 90-180 deg/s, a slow wander while walking), body pitch (rear up to ~60 deg about
   the hips, face groom ~35 deg), head yaw and pitch relative to the body (turn ~30 deg
   towards the turn, sniff sweeps +-25 deg, body groom ~90 deg to the flank) and a spine
   bend. The targets are smoothed with a zero-lag Gaussian low-pass (~0.1-0.25 s wide), so
   nothing teleports. Fast motions (paw strides, groom strokes, licks, whisking, breathing)
   come from the primitive phase and are faded in and out by smoothed envelopes.
2. **Trajectory.** Free mode integrates heading and position; when the point the animal is
   heading for leaves ``arena.inside(xy, margin_mm=STEER_MARGIN_MM)`` (walls and the object)
   it turns towards the nearest free direction, and it never steps outside a slightly
   smaller margin, so every keypoint stays on the floor and outside the object. Path mode
   (``path_mm``, e.g. from :func:`load_real_path`) moves the body centre along a real rat's
   polyline by arc length at the speed the action dictates, heading along the smoothed
   tangent; the yaw rate of turns then comes from the path's curvature only, and the path
   may cross the object (it is ignored).
3. **Pose.** :data:`~.skeleton.REST_POSE_MM` is deformed in the body frame (paw swing and
   lift, head rotation about the neck, spine bend about the back, pitch about the hips,
   forepaws tucked under the chest or brought to the nose), rotated by the heading,
   translated to the body centre, jittered by ~0.3 mm and kept at z >= 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from brainbehave.errors import ConfigError, InputDataError
from brainbehave.synth import skeleton
from brainbehave.synth.arena import Arena
from brainbehave.synth.behaviour import ACTIONS, PRIMITIVES, BehaviourTruth, bouts

logger = logging.getLogger(__name__)

STEER_MARGIN_MM = 90.0  # the animal turns away before its centre comes this close to walls/object
HARD_MARGIN_MM = 86.0  # it never steps closer; > the farthest keypoint from the centre (~82 mm)
REAL_PATHS: tuple[str, ...] = ("sargolini", "tanni")
_REAL_PATH_README = "/work/shared/data/ratinabox_trajectories/README.md"

# Low-pass widths (Gaussian sigma, s): translation, posture, and the 2 Hz sniff sweep.
_SIGMA_MOVE_S = 0.06
_SIGMA_POSTURE_S = 0.1
_SIGMA_SWEEP_S = 0.04
_SPEED_MM_S = {"walk": (100.0, 160.0), "trot": (250.0, 350.0), "turn": (25.0, 50.0)}
_TURN_RATE_DEG_S = (90.0, 180.0)
_WANDER_DEG_S = 25.0  # std of the slow yaw-rate wander while walking or trotting
_REAR_PITCH_DEG = (52.0, 65.0)
_FACE_GROOM_PITCH_DEG = 35.0
# Head pitch (deg, + = nose up) and spine bend / head yaw towards the turn sign (deg).
_HEAD_PITCH_DEG = {"rear": 25.0, "sniff": -15.0, "face_groom": -30.0, "body_groom": -25.0}
_HEAD_PITCH_DEFAULT_DEG = -5.0
_BEND_DEG = {"turn": 10.0, "body_groom": 35.0}
_HEAD_YAW_DEG = {"turn": 20.0, "body_groom": 55.0}
_SNIFF_SWEEP_DEG = 28.0  # before the low-pass, which takes off a few degrees
# Paw stride: (half amplitude along x, swing lift) in mm.
_GAIT_MM = {"walk": (15.0, 5.0), "trot": (18.0, 8.0), "turn": (8.0, 4.0)}
_STROKE_MM = 12.0
_BREATH_MM = 1.0
_JITTER_MM = 0.3
_LOOKAHEAD_S = 0.6
_STEER_RATE_DEG_S = 240.0
_RAY = np.linspace(0.25, 1.0, 4)  # fractions of the look-ahead checked along a ray
_STEER_OFFSETS_DEG = np.array([10, 20, 35, 50, 70, 90, 115, 140, 165, 180], dtype=float)

_KP = {name: i for i, name in enumerate(skeleton.KEYPOINTS)}
_HEAD = [_KP["nose"], _KP["left_ear"], _KP["right_ear"]]
_FRONT = [_KP["neck"], *_HEAD]
_TRUNK = [_KP["back"], _KP["left_hip"], _KP["right_hip"], _KP["neck"]]
_FOREPAWS = [_KP["left_forepaw"], _KP["right_forepaw"]]
# Paws of diagonal pair A (swing during stride_left) and pair B.
_PAIR_A = [_KP["left_forepaw"], _KP["right_hindpaw"]]
_PAIR_B = [_KP["right_forepaw"], _KP["left_hindpaw"]]
_HIP_PIVOT_XZ = np.array([-38.0, 34.0])


@dataclass(frozen=True)
class BodyTruth:
    """Ground-truth 3D kinematics of one session (world frame, mm, rad).

    Attributes
    ----------
    keypoints
        (T, K, 3) keypoints in the order of ``skeleton.KEYPOINTS``.
    position
        (T, 2) body centre: the floor projection of the 'back' keypoint (before jitter).
    heading
        (T,) body yaw (direction of the body x axis), unwrapped.
    head_direction
        (T,) yaw of the neck -> nose direction on the floor, in (-pi, pi].
    speed
        (T,) planar speed of the body centre, mm/s.
    pitch
        (T,) body pitch about the hips (rearing), rad, + = nose up.
    """

    keypoints: np.ndarray
    position: np.ndarray
    heading: np.ndarray
    head_direction: np.ndarray
    speed: np.ndarray
    pitch: np.ndarray


def simulate_body(
    behaviour: BehaviourTruth,
    fps: float,
    arena: Arena,
    rng: np.random.Generator,
    path_mm: np.ndarray | None = None,
) -> BodyTruth:
    """Kinematics of the virtual rat for a behaviour sequence.

    Parameters
    ----------
    behaviour
        Per-frame labels from :func:`~.behaviour.simulate_behaviour`.
    fps
        Frame rate in Hz (> 0), the one the behaviour was sampled at.
    arena
        The floor, walls and object the animal moves in.
    rng
        The only source of randomness (start pose, wander, jitter).
    path_mm
        Optional (M, 2) polyline in mm (e.g. :func:`load_real_path`): the body centre then
        follows it by arc length instead of the free random walk, and the object is ignored.
        A polyline whose last point equals its first is a loop and is followed round and
        round; an open one is followed to its end, where the animal stops.

    Returns
    -------
    BodyTruth
    """
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"Expected fps > 0 (frames per second), but got {fps!r}.")
    controls = _controls(behaviour, float(fps), rng)
    if path_mm is None:
        xy, heading = _integrate_free(controls, float(fps), arena, rng)
    else:
        xy, heading = _follow_path(_check_path(path_mm), controls["speed"], float(fps))
    pose = _pose_body_frame(behaviour, controls, float(fps))
    keypoints = _to_world(pose, xy, heading)
    keypoints += rng.normal(0.0, _JITTER_MM, size=keypoints.shape)
    np.maximum(keypoints[..., 2], 0.0, out=keypoints[..., 2])
    head = keypoints[:, _KP["nose"], :2] - keypoints[:, _KP["neck"], :2]
    if xy.shape[0] > 1:
        speed = np.linalg.norm(np.gradient(xy, axis=0), axis=1) * fps
    else:
        speed = np.zeros(1)
    return BodyTruth(
        keypoints=keypoints,
        position=xy,
        heading=heading,
        head_direction=np.arctan2(head[:, 1], head[:, 0]),
        speed=speed,
        pitch=controls["pitch"],
    )


def _smooth(x: np.ndarray, sigma_s: float, fps: float) -> np.ndarray:
    """Zero-lag Gaussian low-pass of a per-frame signal."""
    return gaussian_filter1d(np.asarray(x, dtype=float), sigma_s * fps, mode="nearest")


def _smoothstep(u: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero slope at both ends (u in [0, 1])."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))


def _is(labels: np.ndarray, names: tuple[str, ...], *wanted: str) -> np.ndarray:
    """Frames whose label is one of ``wanted``."""
    return np.isin(labels, [names.index(w) for w in wanted])


def _per_action(behaviour: BehaviourTruth, table: dict, default: float = 0.0) -> np.ndarray:
    """Per-frame value of a per-action constant."""
    out = np.full(behaviour.n_frames, default)
    for name, value in table.items():
        out[behaviour.action == ACTIONS.index(name)] = value
    return out


def _controls(behaviour: BehaviourTruth, fps: float, rng: np.random.Generator) -> dict:
    """Smoothed slow control variables and fast-motion envelopes, per frame."""
    t_n = behaviour.n_frames
    vigour = np.full(t_n, 0.5) if behaviour.vigour is None else behaviour.vigour.astype(float)
    sign = behaviour.turn_sign.astype(float)
    act, prim, phase = behaviour.action, behaviour.primitive, behaviour.phase.astype(float)
    wobble = gaussian_filter1d(rng.standard_normal((2, t_n)), 0.4 * fps, axis=1, mode="wrap")
    wobble /= np.maximum(wobble.std(axis=1, keepdims=True), 1e-9)

    speed = np.zeros(t_n)
    for name, (lo, hi) in _SPEED_MM_S.items():
        m = act == ACTIONS.index(name)
        speed[m] = (lo + (hi - lo) * vigour[m]) * (1.0 + 0.06 * wobble[0, m])
    lo, hi = np.deg2rad(_TURN_RATE_DEG_S)
    turning = act == ACTIONS.index("turn")
    yaw_rate = np.where(turning, sign * (lo + (hi - lo) * vigour), 0.0)
    wander = _is(act, ACTIONS, "walk", "trot")
    yaw_rate[wander] = np.deg2rad(_WANDER_DEG_S) * wobble[1, wander]

    pitch = _rear_pitch(prim, phase, vigour)
    pitch[act == ACTIONS.index("face_groom")] = np.deg2rad(_FACE_GROOM_PITCH_DEG)
    head_pitch = np.deg2rad(_per_action(behaviour, _HEAD_PITCH_DEG, _HEAD_PITCH_DEFAULT_DEG))
    sweep = np.where(
        act == ACTIONS.index("sniff"), -sign * np.cos(np.pi * phase) * _SNIFF_SWEEP_DEG, 0.0
    )
    return {
        "speed": _smooth(speed, _SIGMA_MOVE_S, fps),
        "yaw_rate": _smooth(yaw_rate, _SIGMA_MOVE_S, fps),
        "pitch": _smooth(pitch, _SIGMA_POSTURE_S, fps),
        "head_pitch": _smooth(head_pitch, _SIGMA_POSTURE_S, fps),
        "head_yaw": _smooth(np.deg2rad(sign * _per_action(behaviour, _HEAD_YAW_DEG)), 0.1, fps)
        + _smooth(np.deg2rad(sweep), _SIGMA_SWEEP_S, fps),
        "bend": _smooth(np.deg2rad(sign * _per_action(behaviour, _BEND_DEG)), 0.1, fps),
        "face_groom": _smooth(act == ACTIONS.index("face_groom"), _SIGMA_POSTURE_S, fps),
        "body_groom": _smooth(act == ACTIONS.index("body_groom"), _SIGMA_POSTURE_S, fps),
        "sniff": _smooth(act == ACTIONS.index("sniff"), _SIGMA_POSTURE_S, fps),
        "rear_hold": _smooth(prim == PRIMITIVES.index("hold_up"), _SIGMA_POSTURE_S, fps),
    }


def _rear_pitch(prim: np.ndarray, phase: np.ndarray, vigour: np.ndarray) -> np.ndarray:
    """Pitch target of a rear: rise -> hold_up -> descend, peak set by the vigour."""
    peak = np.deg2rad(_REAR_PITCH_DEG[0] + (_REAR_PITCH_DEG[1] - _REAR_PITCH_DEG[0]) * vigour)
    pitch = np.zeros(prim.shape[0])
    rise = prim == PRIMITIVES.index("rise")
    hold = prim == PRIMITIVES.index("hold_up")
    descend = prim == PRIMITIVES.index("descend")
    pitch[rise] = peak[rise] * _smoothstep(phase[rise])
    pitch[hold] = peak[hold]
    pitch[descend] = peak[descend] * (1.0 - _smoothstep(phase[descend]))
    return pitch


def _integrate_free(
    controls: dict, fps: float, arena: Arena, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Heading and body-centre track of the free random walk, steering clear of obstacles."""
    speed, yaw_rate = controls["speed"], controls["yaw_rate"]
    dt = 1.0 / fps
    p = _random_start(arena, rng)
    h = float(rng.uniform(-np.pi, np.pi))
    max_turn = np.deg2rad(_STEER_RATE_DEG_S) * dt
    offsets = np.deg2rad(np.repeat(_STEER_OFFSETS_DEG, 2) * np.tile([1.0, -1.0], 10))
    xy = np.empty((speed.shape[0], 2))
    heading = np.empty(speed.shape[0])
    for t in range(speed.shape[0]):
        v = speed[t]
        h += yaw_rate[t] * dt
        if v > 1.0:
            reach = (30.0 + v * _LOOKAHEAD_S) * _RAY
            if not np.all(arena.inside(p + reach[:, None] * _unit(h), STEER_MARGIN_MM)):
                h += np.clip(_free_direction(p, h, reach, arena, offsets), -max_turn, max_turn)
            step = p + v * dt * _unit(h)
            if arena.inside(step, HARD_MARGIN_MM):
                p = step
        xy[t] = p
        heading[t] = h
    return xy, heading


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _free_direction(
    p: np.ndarray, h: float, reach: np.ndarray, arena: Arena, offsets: np.ndarray
) -> float:
    """Smallest heading change whose ray (points ``reach`` mm ahead) runs over free floor.

    Ties between left and right go to the side of the arena centre, so the animal turns
    back into the open field rather than along the wall.
    """
    # z of (heading direction x direction to the centre): > 0 when the centre is to the left.
    to_centre = -np.cos(h) * p[1] + np.sin(h) * p[0]
    candidates = offsets if to_centre >= 0 else -offsets
    directions = np.stack([np.cos(h + candidates), np.sin(h + candidates)], axis=1)
    rays = p + reach[None, :, None] * directions[:, None, :]
    ok = np.all(arena.inside(rays, STEER_MARGIN_MM), axis=1)
    return float(candidates[np.argmax(ok)]) if ok.any() else np.pi


def _random_start(arena: Arena, rng: np.random.Generator) -> np.ndarray:
    """A random body-centre position well inside the free floor."""
    for _ in range(1000):
        p = rng.uniform(-arena.half, arena.half, size=2)
        if arena.inside(p, STEER_MARGIN_MM + 20.0):
            return p
    raise ConfigError(
        f"The arena ({arena}) leaves no floor at least {STEER_MARGIN_MM + 20.0} mm from the "
        "walls and the object for the virtual rat; make it larger or the object smaller."
    )


def _check_path(path_mm: np.ndarray) -> np.ndarray:
    """Validate a polyline and drop repeated points."""
    path = np.asarray(path_mm, dtype=float)
    if path.ndim != 2 or path.shape[1] != 2 or not np.all(np.isfinite(path)):
        raise ValueError(
            f"Expected 'path_mm' to be a finite (M, 2) array in mm, but got shape {path.shape}."
        )
    keep = np.append(True, np.linalg.norm(np.diff(path, axis=0), axis=1) > 1e-9)
    path = path[keep]
    if path.shape[0] < 2:
        raise ValueError("Expected 'path_mm' to hold at least 2 distinct points.")
    return path


def _follow_path(path: np.ndarray, speed: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Body-centre track and heading when moving along a polyline by arc length."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    s = np.concatenate([[0.0], np.cumsum(speed[:-1])]) / fps
    closed = np.linalg.norm(path[-1] - path[0]) < 1e-6
    if closed:
        s = np.mod(s, arc[-1])
    elif s[-1] > arc[-1]:
        logger.warning(
            "The %.0f mm path ends after %.1f s of the %.1f s session; the animal stops there.",
            arc[-1],
            np.searchsorted(s, arc[-1]) / fps,
            speed.shape[0] / fps,
        )
        s = np.minimum(s, arc[-1])
    xy = np.stack([np.interp(s, arc, path[:, 0]), np.interp(s, arc, path[:, 1])], axis=1)
    # Tangent at the vertices, smoothed over ~40 mm of path so tracking jitter does not spin
    # the body; interpolated as a vector so the loop seam is no problem.
    seg = np.diff(path, axis=0)
    seg /= np.linalg.norm(seg, axis=1, keepdims=True)
    vertex = np.concatenate([seg[:1], 0.5 * (seg[:-1] + seg[1:]), seg[-1:]])
    width = 20.0 / max(float(np.median(np.diff(arc))), 1e-6)
    vertex = gaussian_filter1d(vertex, width, axis=0, mode="wrap" if closed else "nearest")
    tx, ty = np.interp(s, arc, vertex[:, 0]), np.interp(s, arc, vertex[:, 1])
    heading = _smooth(np.unwrap(np.arctan2(ty, tx)), _SIGMA_POSTURE_S, fps)
    return xy, heading


def _gait(behaviour: BehaviourTruth, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame paw offsets along x and z in the body frame, (T, 4) each (paws in
    _PAIR_A + _PAIR_B order)."""
    t_n = behaviour.n_frames
    prim, phase = behaviour.primitive, behaviour.phase.astype(float)
    swing_a = np.zeros(t_n, dtype=bool)
    gait = np.zeros(t_n, dtype=bool)
    last_a, last_stop = False, -1
    for start, stop in zip(*bouts(prim, phase), strict=True):
        name = PRIMITIVES[prim[start]]
        if name.startswith("stride"):
            a = name == "stride_left"
        elif name.startswith("turn_step"):
            # Turn steps carry on alternating the diagonal pairs from the last step.
            a = not last_a if last_stop == start else True
        else:
            continue
        swing_a[start:stop], gait[start:stop] = a, True
        last_a, last_stop = a, stop
    amp = _smooth(_per_action(behaviour, {k: v[0] for k, v in _GAIT_MM.items()}), 0.05, fps)
    lift = _smooth(_per_action(behaviour, {k: v[1] for k, v in _GAIT_MM.items()}), 0.05, fps)
    # Swing: -A -> +A with a lift; stance: +A -> -A on the floor. Outside a gait bout the
    # paws rest where the last stride left them while the envelope fades out.
    swing_x = -np.cos(np.pi * phase)
    stance_x = 1.0 - 2.0 * phase
    swing_z = np.sin(np.pi * phase) * gait
    xa = np.where(swing_a, swing_x, stance_x)
    xb = np.where(swing_a, stance_x, swing_x)
    za, zb = swing_z * swing_a, swing_z * ~swing_a
    held_a, held_b = _hold_last(xa, gait), _hold_last(xb, gait)
    dx = np.stack([held_a, held_a, held_b, held_b], axis=1) * amp[:, None]
    dz = np.stack([za, za, zb, zb], axis=1) * lift[:, None]
    return dx, dz


def _hold_last(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``x`` where ``valid``, else the last valid value (0 before the first)."""
    idx = np.where(valid, np.arange(x.shape[0]), -1)
    idx = np.maximum.accumulate(idx)
    return np.where(idx >= 0, x[np.maximum(idx, 0)], 0.0)


def _fast_offsets(behaviour: BehaviourTruth, controls: dict, fps: float) -> dict:
    """Breathing, whisking, groom strokes and licks from the primitive phase."""
    prim, phase = behaviour.primitive, behaviour.phase.astype(float)
    rising = _smoothstep(phase)
    # Each pair of primitives traces 0 -> 1 then 1 -> 0, continuous across instances.
    breath = np.where(_is(prim, PRIMITIVES, "breathe_in"), rising, 0.0)
    breath += np.where(_is(prim, PRIMITIVES, "breathe_out"), 1.0 - rising, 0.0)
    stroke = np.where(_is(prim, PRIMITIVES, "stroke_up"), rising, 0.0)
    stroke += np.where(_is(prim, PRIMITIVES, "stroke_down"), 1.0 - rising, 0.0)
    lick = np.where(_is(prim, PRIMITIVES, "lick_down"), rising, 0.0)
    lick += np.where(_is(prim, PRIMITIVES, "lick_up"), 1.0 - rising, 0.0)
    t = np.arange(behaviour.n_frames) / fps
    hold = np.where(_is(prim, PRIMITIVES, "hold_up"), np.sin(2 * np.pi * phase), 0.0)
    return {
        "breath": _BREATH_MM * breath,
        "whisk": 1.5 * np.sin(2 * np.pi * 8.0 * t) * controls["sniff"],
        "stroke": _STROKE_MM * (2.0 * stroke - 1.0) * controls["face_groom"],
        "lick": lick * controls["body_groom"],
        "hold_nod": np.deg2rad(4.0) * hold * controls["rear_hold"],
    }


def _pose_body_frame(behaviour: BehaviourTruth, controls: dict, fps: float) -> np.ndarray:
    """(T, K, 3) keypoints in the body frame (origin below the back, x forward)."""
    t_n = behaviour.n_frames
    fast = _fast_offsets(behaviour, controls, fps)
    pose = np.broadcast_to(skeleton.REST_POSE_MM, (t_n, *skeleton.REST_POSE_MM.shape)).copy()
    pose[:, _TRUNK, 2] += fast["breath"][:, None]
    dx, dz = _gait(behaviour, fps)
    paws = _PAIR_A + _PAIR_B
    pose[:, paws, 0] += dx
    pose[:, paws, 2] += dz
    floor_forepaws = pose[:, _FOREPAWS].copy()

    sign = behaviour.turn_sign.astype(float)
    head_pitch = controls["head_pitch"] + fast["hold_nod"] - np.deg2rad(10.0) * fast["lick"]
    head_yaw = controls["head_yaw"] + sign * np.deg2rad(6.0) * fast["lick"]
    neck = pose[:, _KP["neck"]].copy()
    pose[:, _HEAD] = _rotate(pose[:, _HEAD], neck, head_pitch, axis="y")
    pose[:, _HEAD] = _rotate(pose[:, _HEAD], neck, head_yaw, axis="z")
    pose[:, _KP["nose"], 2] += fast["whisk"]
    back = pose[:, _KP["back"]].copy()
    pose[:, _FRONT] = _rotate(pose[:, _FRONT], back, controls["bend"], axis="z")

    pitch = controls["pitch"]
    pivot = np.zeros((t_n, 3))
    pivot[:, [0, 2]] = _HIP_PIVOT_XZ
    upper = [i for i in range(len(skeleton.KEYPOINTS)) if i not in (*paws, _KP["tail_base"])]
    pose[:, upper] = _rotate(pose[:, upper], pivot, pitch, axis="y")
    tail = [_KP["tail_base"]]
    pose[:, tail] = _rotate(pose[:, tail], pivot, 0.5 * pitch, axis="y")
    # Keep the back above the body centre: the hips slide forward over the planted hindpaws.
    shift = -pose[:, _KP["back"], 0]
    pose[:, [*upper, *tail], 0] += shift[:, None]
    pose[:, _FOREPAWS] = _forepaws(pose, floor_forepaws, pitch, controls, fast)
    return pose


def _forepaws(
    pose: np.ndarray, floor: np.ndarray, pitch: np.ndarray, controls: dict, fast: dict
) -> np.ndarray:
    """Forepaws: on the floor, tucked under the chest when rearing, at the nose when
    face grooming; blended by the pitch so they lift off smoothly."""
    side = np.array([1.0, -1.0])[None, :, None] * np.array([0.0, 1.0, 0.0])
    chest = pose[:, [_KP["neck"]]] + np.array([12.0, 0.0, -30.0]) + 12.0 * side
    face = pose[:, [_KP["nose"]]] + np.array([-6.0, 0.0, -12.0]) + 9.0 * side
    face = face + np.stack([np.zeros_like(pitch)] * 2 + [fast["stroke"]], axis=1)[:, None]
    g = controls["face_groom"][:, None, None]
    tucked = (1.0 - g) * chest + g * face
    w = _smoothstep(pitch / np.deg2rad(30.0))[:, None, None]
    return (1.0 - w) * floor + w * tucked


def _rotate(points: np.ndarray, origin: np.ndarray, angle: np.ndarray, axis: str) -> np.ndarray:
    """Rotate (T, n, 3) points about a per-frame origin (T, 3) by per-frame angles (T,).

    axis "z": yaw, + = to the left; axis "y": pitch, + = front end up.
    """
    rel = points - origin[:, None]
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    out = rel.copy()
    i, j = (0, 1) if axis == "z" else (0, 2)
    out[..., i] = c * rel[..., i] - s * rel[..., j]
    out[..., j] = s * rel[..., i] + c * rel[..., j]
    return out + origin[:, None]


def _to_world(pose: np.ndarray, xy: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """Body frame -> world frame: yaw by the heading, then translate to the body centre."""
    origin = np.zeros((xy.shape[0], 3))
    world = _rotate(pose, origin, heading, axis="z")
    world[..., :2] += xy[:, None]
    return world


def load_real_path(
    name: str,
    data_dir: str | Path,
    arena: Arena,
    rng: np.random.Generator,
    margin_mm: float = 100.0,
    spacing_mm: float = 2.0,
) -> np.ndarray:
    """A real rat's trajectory (RatInABox datasets) fitted into the arena floor.

    Loads ``<data_dir>/<name>.npz`` (``t`` (N,) s, ``pos`` (N, 2) m), starts it at a random
    sample, smooths it over ~0.2 s, scales it isotropically so its bounding box fits the
    floor ``margin_mm`` from the walls (the room's aspect ratio is kept: a 2.5 m x 3.5 m room
    leaves a band free), centres it, resamples it every ``spacing_mm`` by arc length and
    smooths it over ~10 mm of path. The recording's end is joined back to its start by a
    straight segment, so the result is a closed loop (last point == first point) that
    :func:`simulate_body` follows round and round for a session of any length. The object
    is not avoided.

    Parameters
    ----------
    name
        One of REAL_PATHS.
    data_dir
        Folder holding ``<name>.npz`` (read only).
    arena
        The arena whose floor the path must fit.
    rng
        Picks the start sample.
    margin_mm
        Distance kept from the walls; >= STEER_MARGIN_MM keeps every keypoint on the floor.
    spacing_mm
        Distance between successive points of the returned polyline.

    Returns
    -------
    np.ndarray
        (M, 2) polyline in mm.
    """
    if name not in REAL_PATHS:
        raise ConfigError(
            f"Unknown real trajectory {name!r}; expected one of {list(REAL_PATHS)} "
            f"(RatInABox datasets, see {_REAL_PATH_README})."
        )
    if margin_mm * 2 >= arena.size_mm:
        raise ValueError(f"margin_mm={margin_mm} leaves no floor in a {arena.size_mm} mm arena.")
    pos, t = _read_trajectory(Path(data_dir) / f"{name}.npz")
    start = int(rng.integers(pos.shape[0]))
    pos, t = np.roll(pos, -start, axis=0), np.roll(t, -start)
    dt = float(np.median(np.abs(np.diff(t)))) if t.shape[0] > 1 else 1.0
    pos = gaussian_filter1d(pos, max(0.2 / max(dt, 1e-6), 1e-3), axis=0, mode="wrap")
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    scale = (arena.size_mm - 2.0 * margin_mm) / max(float((hi - lo).max()), 1e-12)
    loop = np.vstack([pos, pos[:1]]) - 0.5 * (lo + hi)
    loop *= scale
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(loop, axis=0), axis=1))])
    grid = np.arange(0.0, arc[-1], spacing_mm)
    path = np.stack([np.interp(grid, arc, loop[:, 0]), np.interp(grid, arc, loop[:, 1])], axis=1)
    # Tracking jitter while the real rat sat still becomes tiny loops once time is dropped;
    # smoothing over ~10 mm of path irons them out (and stays inside the bounding box).
    path = gaussian_filter1d(path, 10.0 / spacing_mm, axis=0, mode="wrap")
    return np.vstack([path, path[:1]])


def _read_trajectory(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """Positions (N, 2) and times (N,) of a RatInABox trajectory file, checked."""
    if not file.is_file():
        raise FileNotFoundError(
            f"Real trajectory file {file} not found. Copy the RatInABox dataset "
            f"'{file.name}' there or point the config's data directory at the folder that "
            f"holds it (see {_REAL_PATH_README}), or use the free random walk (no path)."
        )
    with np.load(file) as data:
        missing = {"t", "pos"} - set(data.files)
        if missing:
            raise InputDataError(
                f"{file} lacks the key(s) {sorted(missing)}; a RatInABox trajectory holds "
                "'t' (N,) in s and 'pos' (N, 2) in m."
            )
        pos, t = np.asarray(data["pos"], dtype=float), np.asarray(data["t"], dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 2 or pos.shape[0] < 2 or t.shape != pos.shape[:1]:
        raise InputDataError(
            f"Expected 'pos' in {file} to have shape (N, 2) with N >= 2 and 't' shape (N,), "
            f"but got {pos.shape} and {t.shape}."
        )
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(t))):
        raise InputDataError(f"{file} holds NaN or infinite positions or times; clean it first.")
    return pos, t
