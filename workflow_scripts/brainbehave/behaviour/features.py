"""Per-frame features of one session's pose (2D or 3D), in a registry of named features.

A feature is a function of a :class:`PoseView` (and optionally of keypoint names) that returns
one value per frame, NaN where its keypoints are missing. Features are registered by name with
the :func:`feature` decorator; a rule set refers to them as expressions::

    speed                          # a named body feature
    height(nose)                   # a parametric feature of one keypoint
    distance(nose, left_forepaw)   # ... of two keypoints

:func:`parse_expression` checks an expression against the registry and the pose's keypoints
and says which names are valid. Body features use a :class:`BodyParts` mapping (which keypoint
is the nose, the neck, the body centre, ...); its defaults are the virtual lab's names.
Planar quantities use ``x, y`` (the floor in 3D); heights (``z``) need 3D pose.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from brainbehave.errors import ConfigError, InputDataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyParts:
    """Which keypoints play which role in the body features (names in the pose file)."""

    nose: str = "nose"
    neck: str = "neck"
    centre: str = "back"
    tail_base: str = "tail_base"
    forepaws: tuple[str, ...] = ("left_forepaw", "right_forepaw")

    def names(self) -> list[str]:
        """Every keypoint named here."""
        return [self.nose, self.neck, self.centre, self.tail_base, *self.forepaws]


@dataclass
class PoseView:
    """One individual's pose as arrays, with cached derived quantities.

    Attributes
    ----------
    xyz
        (T, K, S) positions, lightly smoothed (NaN-aware); S is 2 or 3.
    keypoints
        K names.
    fps
        Frames per second.
    body
        Roles of keypoints in the body features.
    where
        Named in messages (``"rat01/ses01"``).
    """

    xyz: np.ndarray
    keypoints: list[str]
    fps: float
    body: BodyParts = field(default_factory=BodyParts)
    where: str = "pose"

    @property
    def is_3d(self) -> bool:
        """True for 3D pose."""
        return self.xyz.shape[-1] == 3

    def point(self, name: str) -> np.ndarray:
        """(T, S) trajectory of a keypoint (or the mean of the forepaws for ``"forepaws"``)."""
        if name == "forepaws":
            return _nanmean_stack([self.point(p) for p in self.body.forepaws])
        try:
            return self.xyz[:, self.keypoints.index(name)]
        except ValueError:
            raise InputDataError(
                f"{self.where}: no keypoint {name!r} in the pose; it has {self.keypoints}."
            ) from None


def _nanmean_stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
    stack = np.stack(arrays)
    count = np.isfinite(stack).sum(axis=0)
    total = np.nansum(stack, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass(frozen=True)
class Feature:
    """A registered feature: its function, how many keypoint arguments, and its unit."""

    name: str
    func: Callable[..., np.ndarray]
    n_keypoints: int
    units: str
    needs_3d: bool
    description: str


FEATURES: dict[str, Feature] = {}


def feature(
    name: str, *, units: str, n_keypoints: int = 0, needs_3d: bool = False
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Register a feature function under ``name`` (the name rule sets use)."""

    def register(func: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        if name in FEATURES:
            raise ValueError(f"Feature {name!r} is registered twice.")
        doc = (func.__doc__ or "").strip().splitlines()
        FEATURES[name] = Feature(name, func, n_keypoints, units, needs_3d, doc[0] if doc else "")
        return func

    return register


# -- geometry helpers -----------------------------------------------------------------------
def _planar_angle(vec: np.ndarray) -> np.ndarray:
    return np.arctan2(vec[..., 1], vec[..., 0])


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _derivative(x: np.ndarray, fps: float) -> np.ndarray:
    if x.shape[0] < 2:
        return np.full_like(x, np.nan)
    return np.gradient(x, axis=0) * fps


def _unwrap_nan(angle: np.ndarray) -> np.ndarray:
    out = angle.copy()
    ok = np.isfinite(angle)
    out[ok] = np.unwrap(angle[ok])
    return out


# -- named body features --------------------------------------------------------------------
@feature("speed", units="mm/s|px/s")
def speed(view: PoseView) -> np.ndarray:
    """Planar speed of the body centre (movement's compute_speed on x, y)."""
    centre = view.point(view.body.centre)[:, :2]
    data = xr.DataArray(
        centre,
        dims=("time", "space"),
        coords={"time": np.arange(centre.shape[0]) / view.fps, "space": ["x", "y"]},
    )
    if centre.shape[0] < 2:
        return np.full(centre.shape[0], np.nan)
    # imported here: movement.kinematics pulls in scipy.spatial (~0.5 s), and this module is
    # imported whenever the workflow is parsed (brainbehave.behaviour.plan)
    from movement.kinematics import compute_speed

    return compute_speed(data).values


@feature("heading", units="rad")
def heading(view: PoseView) -> np.ndarray:
    """Yaw of the tail-base -> neck direction on the floor."""
    return _planar_angle(view.point(view.body.neck) - view.point(view.body.tail_base))


@feature("yaw_rate", units="deg/s")
def yaw_rate(view: PoseView) -> np.ndarray:
    """Rate of change of the heading (+ = turning left)."""
    return np.rad2deg(_derivative(_unwrap_nan(heading(view)), view.fps))


@feature("body_length", units="mm|px")
def body_length(view: PoseView) -> np.ndarray:
    """Nose to tail-base distance (3D in 3D pose)."""
    return np.linalg.norm(view.point(view.body.nose) - view.point(view.body.tail_base), axis=-1)


@feature("body_pitch", units="deg", needs_3d=True)
def body_pitch(view: PoseView) -> np.ndarray:
    """Elevation of the tail-base -> neck vector above the floor (+ = front up, rearing)."""
    vec = view.point(view.body.neck) - view.point(view.body.tail_base)
    return np.rad2deg(np.arctan2(vec[:, 2], np.linalg.norm(vec[:, :2], axis=-1)))


@feature("head_yaw", units="deg")
def head_yaw(view: PoseView) -> np.ndarray:
    """Yaw of the neck -> nose direction relative to the heading (+ = head to the left)."""
    head = _planar_angle(view.point(view.body.nose) - view.point(view.body.neck))
    return np.rad2deg(_wrap(head - heading(view)))


@feature("head_pitch", units="deg", needs_3d=True)
def head_pitch(view: PoseView) -> np.ndarray:
    """Elevation of the neck -> nose vector (+ = nose up)."""
    vec = view.point(view.body.nose) - view.point(view.body.neck)
    return np.rad2deg(np.arctan2(vec[:, 2], np.linalg.norm(vec[:, :2], axis=-1)))


@feature("nose_height", units="mm", needs_3d=True)
def nose_height(view: PoseView) -> np.ndarray:
    """Height of the nose above the floor."""
    return view.point(view.body.nose)[:, 2]


@feature("forepaw_height", units="mm", needs_3d=True)
def forepaw_height(view: PoseView) -> np.ndarray:
    """Mean height of the forepaws above the floor."""
    return view.point("forepaws")[:, 2]


@feature("forepaw_nose_distance", units="mm|px")
def forepaw_nose_distance(view: PoseView) -> np.ndarray:
    """Distance from the forepaws' midpoint to the nose (small when face grooming)."""
    return np.linalg.norm(view.point("forepaws") - view.point(view.body.nose), axis=-1)


# -- parametric features (keypoint arguments) -----------------------------------------------
@feature("height", units="mm", n_keypoints=1, needs_3d=True)
def height(view: PoseView, a: str) -> np.ndarray:
    """Height of a keypoint above the floor."""
    return view.point(a)[:, 2]


@feature("point_speed", units="mm/s|px/s", n_keypoints=1)
def point_speed(view: PoseView, a: str) -> np.ndarray:
    """Speed of a keypoint (all space axes)."""
    return np.linalg.norm(_derivative(view.point(a), view.fps), axis=-1)


@feature("distance", units="mm|px", n_keypoints=2)
def distance(view: PoseView, a: str, b: str) -> np.ndarray:
    """Distance between two keypoints."""
    return np.linalg.norm(view.point(a) - view.point(b), axis=-1)


@feature("angle", units="deg", n_keypoints=3)
def angle(view: PoseView, a: str, b: str, c: str) -> np.ndarray:
    """Angle a-b-c at keypoint b."""
    u, v = view.point(a) - view.point(b), view.point(c) - view.point(b)
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.rad2deg(np.arccos(np.clip(cos, -1.0, 1.0)))


# -- expressions ----------------------------------------------------------------------------
_EXPR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


@dataclass(frozen=True)
class Expression:
    """A parsed feature expression: a registered name and its keypoint arguments."""

    name: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.args)})" if self.args else self.name


def parse_expression(
    text: str, keypoints: Sequence[str] | None = None, where: str = "rule set"
) -> Expression:
    """Parse and check a feature expression such as ``distance(nose, left_forepaw)``.

    Raises
    ------
    ConfigError
        Unknown feature (with the list of registered features), wrong number of keypoint
        arguments, or (when ``keypoints`` is given) a keypoint the pose does not have.
    """
    match = _EXPR.match(str(text))
    if not match:
        raise ConfigError(f"{where}: {text!r} is not a feature expression like 'height(nose)'.")
    name, raw = match.group(1), match.group(2)
    args = tuple(a.strip() for a in raw.split(",")) if raw and raw.strip() else ()
    if name not in FEATURES:
        raise ConfigError(
            f"{where}: unknown feature {name!r} in {text!r}. Valid features: {sorted(FEATURES)}."
        )
    spec = FEATURES[name]
    if len(args) != spec.n_keypoints:
        raise ConfigError(
            f"{where}: feature {name!r} takes {spec.n_keypoints} keypoint name(s), "
            f"got {len(args)} in {text!r}."
        )
    if keypoints is not None:
        valid = [*keypoints, "forepaws"]
        if bad := [a for a in args if a not in valid]:
            raise ConfigError(
                f"{where}: unknown keypoint(s) {bad} in {text!r}. Valid keypoints: {valid}."
            )
    return Expression(name, args)


def evaluate(expr: Expression, view: PoseView) -> np.ndarray:
    """Per-frame values of a parsed expression (NaN where its keypoints are missing)."""
    spec = FEATURES[expr.name]
    if spec.needs_3d and not view.is_3d:
        raise InputDataError(
            f"{view.where}: feature {str(expr)!r} needs 3D pose (a height or pitch) but the "
            "pose is 2D. Use 3D pose, or a rule set without heights and pitches."
        )
    return np.asarray(spec.func(view, *expr.args), dtype=np.float64)


# -- sessions -------------------------------------------------------------------------------
def smooth_nan(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian low-pass along time that ignores NaN and keeps NaN where the input had it."""
    if sigma_frames <= 0:
        return x.copy()
    ok = np.isfinite(x)
    num = gaussian_filter1d(np.where(ok, x, 0.0), sigma_frames, axis=0, mode="nearest")
    den = gaussian_filter1d(ok.astype(float), sigma_frames, axis=0, mode="nearest")
    return np.where(ok, num / np.maximum(den, 1e-12), np.nan)


def nan_runs(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) of the runs of True in a boolean sequence."""
    padded = np.concatenate([[False], np.asarray(missing, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[0::2], edges[1::2]


def pose_view(
    ds: xr.Dataset,
    body: BodyParts | None = None,
    smooth_s: float = 0.05,
    individual: str | None = None,
) -> PoseView:
    """A :class:`PoseView` of one individual of a pose dataset (the pose data model).

    Parameters
    ----------
    ds
        Pose dataset (:func:`brainbehave.pose.pose_dataset`).
    body
        Keypoint roles; defaults to the virtual lab's names.
    smooth_s
        Width (Gaussian sigma, s) of the NaN-aware low-pass applied before derivatives.
    individual
        Which individual; default the first.
    """
    where = "/".join(str(ds.attrs[k]) for k in ("subject", "session") if k in ds.attrs) or "pose"
    pos = ds["position"]
    pos = pos.sel(individuals=individual) if individual else pos.isel(individuals=0)
    xyz = pos.transpose("time", "keypoints", "space").values.astype(np.float64)
    fps = float(ds.attrs["fps"])
    view = PoseView(smooth_nan(xyz, smooth_s * fps), list(ds["keypoints"].values), fps, where=where)
    if body is not None:
        view.body = body
    return view


def mirror_partner(name: str) -> str:
    """The bilateral partner of a keypoint name (``left_x`` <-> ``right_x``), else itself."""
    for a, b in (("left_", "right_"), ("right_", "left_"), ("l_", "r_"), ("r_", "l_")):
        if name.startswith(a):
            return b + name[len(a) :]
    return name


def mirror_view(view: PoseView) -> PoseView:
    """The pose reflected left-right: y negated, each ``left_``/``right_`` keypoint swapped
    with its partner (when the pose has it). Mirroring twice gives the pose back, so
    ``f(view) + f(mirror_view(view))`` is the same for a behaviour and its mirror image."""
    order = [
        view.keypoints.index(p) if (p := mirror_partner(k)) in view.keypoints else i
        for i, k in enumerate(view.keypoints)
    ]
    xyz = view.xyz[:, order].copy()
    xyz[..., 1] *= -1.0
    return PoseView(xyz, list(view.keypoints), view.fps, view.body, view.where)


def check_body_parts(body: BodyParts, keypoints: Sequence[str], where: str) -> None:
    """Refuse body roles naming keypoints the pose does not have."""
    if bad := [k for k in body.names() if k not in keypoints]:
        raise ConfigError(
            f"{where}: behaviour.body names keypoint(s) {bad} that the pose does not have. "
            f"Valid keypoints: {list(keypoints)}. Set behaviour.body to your skeleton's names."
        )


def egocentric(view: PoseView) -> np.ndarray:
    """(T, K, S) keypoints in the body frame: centre at the origin, heading along +x."""
    centre = view.point(view.body.centre)
    rel = view.xyz - centre[:, None, :]
    h = heading(view)
    c, s = np.cos(-h)[:, None], np.sin(-h)[:, None]
    out = rel.copy()
    out[..., 0] = c * rel[..., 0] - s * rel[..., 1]
    out[..., 1] = s * rel[..., 0] + c * rel[..., 1]
    if view.is_3d:
        out[..., 2] = view.xyz[..., 2]  # heights stay heights above the floor
    return out


def session_features(view: PoseView) -> xr.Dataset:
    """Every named (argument-free) feature that applies to the pose, plus egocentric pose.

    Returns
    -------
    xarray.Dataset
        ``features`` (time, feature) and ``egocentric`` (time, keypoints, space), with the
        units of each feature in ``attrs["feature_units"]`` and gap statistics in attrs.
    """
    names = [
        n for n, f in FEATURES.items() if f.n_keypoints == 0 and (view.is_3d or not f.needs_3d)
    ]
    values = np.stack([evaluate(Expression(n), view) for n in names], axis=1)
    missing = ~np.isfinite(view.xyz).all(axis=(1, 2))
    starts, stops = nan_runs(missing)
    longest = int((stops - starts).max()) if starts.size else 0
    if longest > view.fps:
        logger.warning(
            "%s: %d frames (%.1f%%) miss a keypoint; the longest gap is %d frames (%.1f s) "
            "from frame %d. Features there are NaN.",
            view.where,
            int(missing.sum()),
            100 * missing.mean(),
            longest,
            longest / view.fps,
            int(starts[np.argmax(stops - starts)]),
        )
    space = ["x", "y", "z"][: view.xyz.shape[-1]]
    return xr.Dataset(
        {
            "features": (("time", "feature"), values),
            "egocentric": (("time", "keypoints", "space"), egocentric(view)),
        },
        coords={
            "time": np.arange(values.shape[0]) / view.fps,
            "feature": names,
            "keypoints": view.keypoints,
            "space": space,
        },
        attrs={
            "fps": view.fps,
            "feature_units": ",".join(FEATURES[n].units for n in names),
            "frames_missing": int(missing.sum()),
            "longest_gap_frames": longest,
        },
    )
