"""Render the virtual rat into per-camera videos with a sphere-splatting z-buffer renderer.

The static scene (textured floor, walls, a dark surround, the cylindrical object) is ray-cast
once per camera through the lens model into a `Background`: colour and depth per pixel. Each
frame then splats shaded spheres on top of it, depth-tested against the background and each
other:

- every keypoint is a marker sphere of its own colour (`KEYPOINT_COLOURS`); left-side markers
  are light and right-side markers dark, so the two sides differ in brightness as well as hue
  (video codecs keep brightness at full resolution but halve colour resolution);
- the body is a chain of larger overlapping spheres (snout, head, neck, back, hips, tail base)
  lying just under the dorsal markers, plus legs and a tail, all body-coloured.

A marker is *visible* when the pixel nearest its projected centre shows that marker in the
rendered frame (an id-buffer is kept with the z-buffer), so visibility matches the picture:
markers outside the image or behind the body, another marker, a wall or the object are not.

Images are RGB uint8 throughout this module; `render_session_videos` converts to BGR for
OpenCV's video writer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from brainbehave.calibration import Camera
from brainbehave.synth.arena import Arena
from brainbehave.synth.skeleton import KEYPOINTS

logger = logging.getLogger(__name__)

# RGB. Left parts light, right parts dark, midline saturated mid-brightness hues.
KEYPOINT_COLOURS: dict[str, tuple[int, int, int]] = {
    "nose": (230, 0, 0),
    "left_ear": (255, 255, 70),
    "right_ear": (0, 0, 150),
    "neck": (255, 120, 0),
    "back": (220, 0, 220),
    "left_hip": (120, 255, 255),
    "right_hip": (105, 70, 0),
    "tail_base": (250, 250, 250),
    "left_forepaw": (255, 170, 255),
    "right_forepaw": (0, 80, 0),
    "left_hindpaw": (170, 255, 150),
    "right_hindpaw": (75, 0, 115),
}
BODY_COLOUR = (185, 165, 140)
_FLOOR_COLOUR = np.array([112.0, 116.0, 122.0])
_WALL_COLOUR = np.array([205.0, 203.0, 196.0])
_OBJECT_COLOUR = np.array([70.0, 82.0, 98.0])
_SURROUND_COLOUR = np.array([42.0, 40.0, 38.0])
_SKY_COLOUR = np.array([18.0, 18.0, 20.0])
_LIGHT_DIR = np.array([0.35, 0.25, 1.0]) / np.linalg.norm([0.35, 0.25, 1.0])  # towards light
_BODY_ID = len(KEYPOINTS)
# Markers are painted over the body they sit on (a polygon offset): a body surface hides a
# marker only when it is this much nearer, so a marker shows as a whole disc, not the half
# that pokes out of the body, and its visible centre stays at the keypoint.
_DECAL_MM = 7.0
_NO_ID = -1

# Body chain radii (mm): snout, head, neck, back, hips, tail base. `_chain` places each centre
# below its keypoints so that the markers sit on the body surface, visible from above.
_CHAIN_RADII = np.array([8.0, 13.0, 15.0, 20.0, 19.0, 11.0])
_CHAIN_BETWEEN = 2  # interpolated spheres between consecutive chain spheres
_TAIL_RADII = np.array([4.5, 4.0, 3.5, 3.0])
_TAIL_LENGTH_MM = 90.0
_LEG_T = np.array([0.35, 0.6])
_LEG_RADIUS_MM = 5.5


@dataclass(frozen=True)
class RenderStyle:
    """Appearance parameters of the renderer.

    Parameters
    ----------
    marker_radius_mm
        Radius of the keypoint marker spheres.
    noise_sd
        Standard deviation of the per-pixel Gaussian noise, in grey levels.
    flicker_sd
        Standard deviation of the per-frame global brightness gain around 1.
    blur_sigma
        Gaussian blur (px) applied to each frame, a cheap stand-in for lens blur and
        anti-aliasing; 0 for none.
    noise_bank
        Number of precomputed noise images cycled through when rendering a video.
    """

    marker_radius_mm: float = 7.0
    noise_sd: float = 4.0
    flicker_sd: float = 0.05
    blur_sigma: float = 0.6
    noise_bank: int = 16


DEFAULT_STYLE = RenderStyle()


@dataclass(frozen=True)
class Background:
    """The static scene seen by one camera.

    Attributes
    ----------
    image
        RGB uint8 (H, W, 3), including the tint of the clear walls.
    depth
        Camera-frame z (mm) of the opaque surface seen at each pixel (floor, surround, object,
        wall rims) (H, W); inf where there is none.
    marker_depth
        As `depth` but inf where the surface is the ground: the floor never hides part of a
        marker (a paw marker on the floor shows whole, not as a half dome).
    glass
        Camera-frame z (mm) at which each pixel's ray crosses each of the four clear wall
        panes (H, W, 4); inf where it does not.
    """

    image: np.ndarray
    depth: np.ndarray
    marker_depth: np.ndarray
    glass: np.ndarray


# --------------------------------------------------------------------------- background
# The walls are clear acrylic panes with an opaque rim on top (as in multi-camera 3D rigs):
# opaque walls would hide a third of the floor from each camera.
_GLASS_ALPHA = 0.2
_RIM_MM = 6.0


def _floor_texture(arena: Arena, rng: np.random.Generator, mm_per_px: float = 2.0) -> np.ndarray:
    """Grey-level gain texture (float32, ~1) over the floor: blotches, tile seams, speckles."""
    n = int(np.ceil(arena.size_mm / mm_per_px)) + 1
    tex = np.ones((n, n), np.float32)
    for sigma, amp in ((12.0, 0.12), (3.0, 0.07), (0.7, 0.04)):
        noise = cv2.GaussianBlur(rng.normal(size=(n, n)).astype(np.float32), (0, 0), sigma)
        tex += amp * noise / max(float(noise.std()), 1e-6)
    seam = (np.arange(n) * mm_per_px) % 100.0 < 2.5
    tex[seam, :] *= 0.8
    tex[:, seam] *= 0.8
    speckles = rng.random((n, n)) < 0.01
    tex[speckles] *= rng.uniform(0.6, 1.4, int(speckles.sum())).astype(np.float32)
    return np.clip(tex, 0.4, 1.6)


def _wall_hits(origin, dirs, arena: Arena) -> tuple[np.ndarray, np.ndarray]:
    """Ray depths through the four glass panes (..., 4) and to the nearest opaque rim (...)."""
    half = arena.half
    glass, rim = [], np.full(dirs.shape[:-1], np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis, sign in ((0, 1), (0, -1), (1, 1), (1, -1)):
            t = (sign * half - origin[axis]) / dirs[..., axis]
            p = origin + t[..., None] * dirs
            pane = (t > 0) & (np.abs(p[..., 1 - axis]) <= half) & (p[..., 2] >= 0)
            on_rim = pane & (p[..., 2] <= arena.wall_height_mm)
            on_rim &= p[..., 2] > arena.wall_height_mm - _RIM_MM
            pane &= p[..., 2] <= arena.wall_height_mm - _RIM_MM
            glass.append(np.where(pane, t, np.inf))
            rim = np.where(on_rim, np.minimum(rim, t), rim)
    return np.stack(glass, axis=-1), rim


def _object_hit(origin, dirs, arena: Arena) -> tuple[np.ndarray, np.ndarray]:
    """Ray depth to the cylindrical object (side or top cap) and the normal there."""
    shape = dirs.shape[:-1]
    if arena.object_xy_mm is None:
        return np.full(shape, np.inf), np.zeros((*shape, 3))
    o = origin[:2] - np.asarray(arena.object_xy_mm)
    d = dirs[..., :2]
    a, b, c = np.sum(d * d, axis=-1), 2 * (d @ o), o @ o - arena.object_radius_mm**2
    with np.errstate(invalid="ignore", divide="ignore"):
        t_side = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
        z = origin[2] + t_side * dirs[..., 2]
        t_side = np.where((t_side > 0) & (z >= 0) & (z <= arena.object_height_mm), t_side, np.inf)
        t_top = (arena.object_height_mm - origin[2]) / dirs[..., 2]
        top_xy = o + t_top[..., None] * d
        on_top = (t_top > 0) & (np.sum(top_xy**2, axis=-1) <= arena.object_radius_mm**2)
        t_top = np.where(on_top, t_top, np.inf)
    side_normal = np.concatenate(
        [(o + t_side[..., None] * d) / arena.object_radius_mm, np.zeros((*shape, 1))], axis=-1
    )
    normal = np.where((t_top < t_side)[..., None], [0.0, 0.0, 1.0], side_normal)
    return np.minimum(t_side, t_top), normal


def _tint(colour: np.ndarray, panes: np.ndarray) -> np.ndarray:
    """Colours (..., 3) seen through `panes` (...) glass panes."""
    keep = (1.0 - _GLASS_ALPHA) ** panes[..., None]
    return colour * keep + _WALL_COLOUR * (1.0 - keep)


def _shade_ground(point: np.ndarray, arena: Arena, rng: np.random.Generator) -> np.ndarray:
    """Colour (..., 3) of ground points (..., 3): textured floor inside, dark surround outside."""
    texture = _floor_texture(arena, rng)
    scale = (texture.shape[0] - 1) / arena.size_mm
    map_x = ((point[..., 0] + arena.half) * scale).astype(np.float32)
    map_y = ((point[..., 1] + arena.half) * scale).astype(np.float32)
    gain = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderValue=1.0)
    on_floor = (np.abs(point[..., :2]) <= arena.half).all(-1)
    colour = np.where(on_floor[..., None], _FLOOR_COLOUR, _SURROUND_COLOUR)
    return colour * gain[..., None]


def render_background(camera: Camera, arena: Arena, rng: np.random.Generator) -> Background:
    """Ray-cast the static scene (floor, clear walls, surround, object) through the lens.

    Parameters
    ----------
    camera
        The camera; each pixel is undistorted with `Camera.undistort_points` and its ray
        intersected with the scene.
    arena
        The arena (floor square, walls, object).
    rng
        Draws the floor texture and static grain. Generators with the same seed give the
        cameras of one session the same floor.

    Returns
    -------
    Background
        RGB image, opaque depth and glass-pane depths of the static scene.
    """
    w, h = camera.size
    uv = np.stack(np.meshgrid(np.arange(w, dtype=float), np.arange(h, dtype=float)), axis=-1)
    rays = np.concatenate([camera.undistort_points(uv), np.ones((h, w, 1))], axis=-1)
    dirs = rays @ camera.rotation_matrix  # world directions with camera-frame z = 1: t = depth
    origin = camera.center
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = -origin[2] / dirs[..., 2]
    t_ground = np.where(t_ground > 0, t_ground, np.inf)
    glass, t_rim = _wall_hits(origin, dirs, arena)
    t_object, normal = _object_hit(origin, dirs, arena)
    ts = np.stack([t_ground, t_rim, t_object])
    depth, nearest = ts.min(axis=0), ts.argmin(axis=0)
    point = origin + np.where(np.isfinite(depth), depth, 0.0)[..., None] * dirs

    image = np.broadcast_to(_SKY_COLOUR, (h, w, 3)).copy()
    ground = (nearest == 0) & np.isfinite(depth)
    image[ground] = _shade_ground(point, arena, rng)[ground]
    image[(nearest == 1) & np.isfinite(depth)] = 0.9 * _WALL_COLOUR
    on_object = (nearest == 2) & np.isfinite(depth)
    lambert = np.clip(normal[on_object] @ _LIGHT_DIR, 0, 1)
    image[on_object] = _OBJECT_COLOUR * (0.45 + 0.55 * lambert)[:, None]
    image = _tint(image, (glass < depth[..., None]).sum(-1))
    image *= (1.0 + 0.03 * rng.normal(size=(h, w)))[..., None]
    return Background(
        image=np.clip(image, 0, 255).astype(np.uint8),
        depth=depth,
        marker_depth=np.where(ground, np.inf, depth),
        glass=glass.astype(np.float32),
    )


# --------------------------------------------------------------------------- scene geometry


def _marker_colours() -> np.ndarray:
    return np.array([KEYPOINT_COLOURS[name] for name in KEYPOINTS], dtype=float)


def _chain(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Body chain sphere centres (T, C, 3) and radii (C,) from keypoints (T, K, 3)."""
    idx = {name: i for i, name in enumerate(KEYPOINTS)}
    up = np.array([0.0, 0.0, 1.0])
    ear_mid = 0.5 * (kp[:, idx["left_ear"]] + kp[:, idx["right_ear"]])
    nose = kp[:, idx["nose"]]
    anchors = [
        ear_mid + 0.6 * (nose - ear_mid) - 6.0 * up,  # snout
        ear_mid + 0.2 * (nose - ear_mid) - 9.0 * up,  # head
        kp[:, idx["neck"]] - 16.0 * up,
        kp[:, idx["back"]] - 20.0 * up,
        0.5 * (kp[:, idx["left_hip"]] + kp[:, idx["right_hip"]]) - 9.0 * up,
        kp[:, idx["tail_base"]] - 11.0 * up,
    ]
    pts = np.stack(anchors, axis=1)  # (T, 6, 3)
    t = np.arange(_CHAIN_BETWEEN + 1) / (_CHAIN_BETWEEN + 1)
    centres = pts[:, :-1, None] + t[None, None, :, None] * (pts[:, 1:, None] - pts[:, :-1, None])
    radii = _CHAIN_RADII[:-1, None] + t[None] * (_CHAIN_RADII[1:, None] - _CHAIN_RADII[:-1, None])
    centres = np.concatenate([centres.reshape(len(kp), -1, 3), pts[:, -1:]], axis=1)
    return centres, np.concatenate([radii.ravel(), _CHAIN_RADII[-1:]])


def _limbs_and_tail(kp: np.ndarray, chain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leg and tail sphere centres (T, L, 3) and radii (L,)."""
    idx = {name: i for i, name in enumerate(KEYPOINTS)}
    neck_body = chain[:, 2 * (_CHAIN_BETWEEN + 1)]
    hips_body = chain[:, 4 * (_CHAIN_BETWEEN + 1)]
    legs = []
    for paw, top in (
        ("left_forepaw", neck_body),
        ("right_forepaw", neck_body),
        ("left_hindpaw", 0.5 * (hips_body + kp[:, idx["left_hip"]])),
        ("right_hindpaw", 0.5 * (hips_body + kp[:, idx["right_hip"]])),
    ):
        seg = kp[:, idx[paw]] - top
        legs.append(top[:, None] + _LEG_T[None, :, None] * seg[:, None])
    tail_base = kp[:, idx["tail_base"]]
    hips = 0.5 * (kp[:, idx["left_hip"]] + kp[:, idx["right_hip"]])
    direction = (tail_base - hips) * [1.0, 1.0, 0.0]
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
    s = np.arange(1, len(_TAIL_RADII) + 1) / len(_TAIL_RADII)
    tail = tail_base[:, None] + _TAIL_LENGTH_MM * s[None, :, None] * direction[:, None]
    tail[..., 2] = tail_base[:, None, 2] + s * (4.0 - tail_base[:, None, 2])
    centres = np.concatenate([*legs, tail], axis=1)
    radii = np.concatenate([np.full(4 * len(_LEG_T), _LEG_RADIUS_MM), _TAIL_RADII])
    return centres, radii


def scene_spheres(keypoints: np.ndarray, style: RenderStyle = DEFAULT_STYLE):
    """All spheres of the animal: centres (T, N, 3), radii (N,), RGB colours (N, 3), ids (N,).

    The first K spheres are the markers (id = keypoint index); the rest are body (id K).
    """
    kp = np.asarray(keypoints, dtype=float)
    if kp.ndim != 3 or kp.shape[1:] != (len(KEYPOINTS), 3):
        raise ValueError(
            f"Expected keypoints of shape (T, {len(KEYPOINTS)}, 3) in skeleton.KEYPOINTS order "
            f"(mm, world frame), but got {kp.shape}."
        )
    chain, chain_r = _chain(kp)
    extra, extra_r = _limbs_and_tail(kp, chain)
    k = len(KEYPOINTS)
    centres = np.concatenate([kp, chain, extra], axis=1)
    radii = np.concatenate([np.full(k, style.marker_radius_mm), chain_r, extra_r])
    n_body = len(radii) - k
    colours = np.concatenate([_marker_colours(), np.tile(BODY_COLOUR, (n_body, 1))]).astype(float)
    ids = np.concatenate([np.arange(k), np.full(n_body, _BODY_ID)])
    return centres, radii, colours, ids


# --------------------------------------------------------------------------- splatting


@dataclass(frozen=True)
class _Projected:
    """Spheres of T frames as one camera sees them."""

    uv: np.ndarray  # (T, N, 2) pixel centre
    depth: np.ndarray  # (T, N) camera-frame z of the centre
    radius_px: np.ndarray  # (T, N) apparent radius


def _project_spheres(camera: Camera, centres: np.ndarray, radii: np.ndarray) -> _Projected:
    uv = camera.project(centres)
    # Apparent radius from a point one radius along the camera's x axis: includes lens scale.
    side = camera.project(centres + radii[:, None] * camera.rotation_matrix[0])
    radius_px = np.linalg.norm(side - uv, axis=-1)
    return _Projected(uv=uv, depth=camera.depth(centres), radius_px=radius_px)


def _cover(uv: np.ndarray, radius_px: np.ndarray, w: int, h: int):
    """Pixels covered by discs: (disc index, flat pixel, dx, dy) with dx, dy in disc radii.

    The pixel nearest each centre is always covered, so even a tiny marker shows.
    """
    reach = int(np.ceil(radius_px.max()))
    off = np.arange(-reach, reach + 1)
    cu = np.rint(uv[:, 0]).astype(np.int64)
    cv_ = np.rint(uv[:, 1]).astype(np.int64)
    px = cu[:, None, None] + off[None, None, :]
    py = cv_[:, None, None] + off[None, :, None]
    dx = (px - uv[:, 0, None, None]) / radius_px[:, None, None]
    dy = (py - uv[:, 1, None, None]) / radius_px[:, None, None]
    centre = (off == 0)[None, :, None] & (off == 0)[None, None, :]
    mask = ((dx * dx + dy * dy) < 1.0) | centre
    mask &= (px >= 0) & (px < w) & (py >= 0) & (py < h)
    s, iy, ix = np.nonzero(mask)
    pix = (cv_[s] + off[iy]) * w + cu[s] + off[ix]
    return s, pix, dx[s, 0, ix], dy[s, iy, 0]


def _splat(
    background: Background,
    proj: _Projected,
    t: int,
    radii: np.ndarray,
    colours: np.ndarray,
    ids: np.ndarray,
    light_cam: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw frame t's spheres over the background; return RGB image and marker visibility."""
    h, w = background.depth.shape
    uv, depth, rad = proj.uv[t], proj.depth[t], np.maximum(proj.radius_px[t], 0.5)
    ok = np.isfinite(uv).all(-1) & np.isfinite(rad) & (depth > 0)
    parts = []
    for group in (ok & (ids < _BODY_ID), ok & (ids >= _BODY_ID)):
        sel = np.flatnonzero(group)
        if sel.size:
            s, pix, dx, dy = _cover(uv[sel], rad[sel], w, h)
            parts.append((sel[s], pix, dx, dy))
    image = background.image.copy()
    visible = np.zeros(_BODY_ID, dtype=bool)
    if not parts:
        return image, visible
    s, pix, dx, dy = (np.concatenate(p) for p in zip(*parts, strict=True))
    dz = np.sqrt(np.clip(1.0 - dx * dx - dy * dy, 0.0, 1.0))
    z = depth[s] - radii[s] * dz
    is_body = ids[s] == _BODY_ID
    scene = np.where(is_body, background.depth.ravel()[pix], background.marker_depth.ravel()[pix])
    rank = np.where(z < scene, z + _DECAL_MM * is_body, np.inf)
    zbuf = np.full(h * w, np.inf)
    np.minimum.at(zbuf, pix, rank)
    win = np.isfinite(rank) & (rank == zbuf[pix])
    s, pix, z = s[win], pix[win], z[win]
    lambert = np.clip(
        dx[win] * light_cam[0] + dy[win] * light_cam[1] - dz[win] * light_cam[2], 0, 1
    )
    shade = 0.55 + 0.5 * lambert
    flat = image.reshape(-1, 3)
    panes = (background.glass.reshape(-1, 4)[pix] < z[:, None]).sum(-1)
    flat[pix] = np.clip(_tint(colours[s] * shade[:, None], panes), 0, 255).astype(np.uint8)
    idbuf = np.full(h * w, _NO_ID, dtype=np.int64)
    idbuf[pix] = ids[s]
    cu, cv_ = np.rint(uv[:_BODY_ID, 0]), np.rint(uv[:_BODY_ID, 1])
    inside = ok[:_BODY_ID] & (cu >= 0) & (cu < w) & (cv_ >= 0) & (cv_ < h)
    centre = np.where(inside, cv_ * w + cu, 0).astype(np.int64)
    visible = inside & (idbuf[centre] == np.arange(_BODY_ID))
    return image, visible


def _finish(image: np.ndarray, gain: float, noise: np.ndarray, style: RenderStyle) -> np.ndarray:
    """Blur, global brightness gain and pixel noise; RGB uint8 out."""
    if style.blur_sigma > 0:
        image = cv2.GaussianBlur(image, (3, 3), style.blur_sigma)
    out = cv2.scaleAdd(image.astype(np.float32), gain, noise)
    return np.clip(out, 0, 255).astype(np.uint8)


def _noise(rng: np.random.Generator, shape: tuple[int, ...], style: RenderStyle) -> np.ndarray:
    return (style.noise_sd * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)


def _check_background(camera: Camera, background: Background) -> None:
    w, h = camera.size
    if background.image.shape != (h, w, 3) or background.glass.shape != (h, w, 4):
        raise ValueError(
            f"Background of shape {background.image.shape} does not match camera "
            f"{camera.name!r} of size {camera.size}; render it with render_background(camera, ...)."
        )


def render_frame(
    camera: Camera,
    keypoints_k3: np.ndarray,
    arena: Arena,
    background: Background,
    rng: np.random.Generator,
    style: RenderStyle = DEFAULT_STYLE,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one frame of the animal as one camera sees it.

    Parameters
    ----------
    camera
        The camera.
    keypoints_k3
        Keypoints (K, 3) in mm, world frame, `skeleton.KEYPOINTS` order; NaN rows are not drawn.
    arena
        The arena; its static scene comes from `background` (kept for interface symmetry).
    background
        `render_background(camera, arena, ...)` for this camera.
    rng
        Draws the brightness flicker and pixel noise.
    style
        Rendering style.

    Returns
    -------
    image : np.ndarray
        RGB uint8 (H, W, 3).
    visible : np.ndarray
        (K,) bool, True where the keypoint's marker shows at its projected centre.
    """
    del arena  # the static scene is baked into `background`
    _check_background(camera, background)
    centres, radii, colours, ids = scene_spheres(np.asarray(keypoints_k3)[None], style)
    proj = _project_spheres(camera, centres, radii)
    light = camera.rotation_matrix @ _LIGHT_DIR
    image, visible = _splat(background, proj, 0, radii, colours, ids, light)
    gain = 1.0 + style.flicker_sd * rng.standard_normal()
    return _finish(image, gain, _noise(rng, image.shape, style), style), visible


# --------------------------------------------------------------------------- videos


def _check_session_inputs(out_paths, cameras, keypoints, fps, frames) -> np.ndarray:
    names = [c.name for c in cameras]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"Expected at least one camera with unique names, got {names}.")
    if set(out_paths) != set(names):
        raise ValueError(
            f"Expected one output video per camera {sorted(names)}, but out_paths has "
            f"{sorted(out_paths)}; pass a path for each camera and no other."
        )
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"Expected fps > 0, got {fps}.")
    n = len(keypoints)
    frames = np.arange(n) if frames is None else np.asarray(frames)
    if frames.ndim != 1 or frames.size == 0 or not np.issubdtype(frames.dtype, np.integer):
        raise ValueError(f"Expected `frames` to be a non-empty 1-D integer array, got {frames!r}.")
    if frames.min() < 0 or frames.max() >= n:
        raise ValueError(
            f"`frames` must index the {n} rows of keypoints, got values in "
            f"[{frames.min()}, {frames.max()}]."
        )
    return frames


def _temp_video_path(path: Path) -> Path:
    # The suffix stays last: OpenCV picks the container from it.
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _write_camera_video(
    tmp: Path,
    camera: Camera,
    background: Background,
    spheres: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    fps: float,
    rng: np.random.Generator,
    style: RenderStyle,
) -> np.ndarray:
    """Render and encode one camera's frames into `tmp`; return visibility (T, K)."""
    centres, radii, colours, ids = spheres
    proj = _project_spheres(camera, centres, radii)
    light = camera.rotation_matrix @ _LIGHT_DIR
    h, w = background.depth.shape
    bank = _noise(rng, (max(style.noise_bank, 1), h, w, 3), style)
    picks = rng.integers(0, len(bank), len(centres))
    gains = 1.0 + style.flicker_sd * rng.standard_normal(len(centres))
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        raise RuntimeError(
            f"OpenCV could not open a video writer for {tmp} (fourcc mp4v, {w}x{h} @ {fps} fps); "
            "check that the directory is writable and OpenCV was built with FFmpeg."
        )
    visible = np.zeros((len(centres), _BODY_ID), dtype=bool)
    try:
        for t in range(len(centres)):
            image, visible[t] = _splat(background, proj, t, radii, colours, ids, light)
            frame = _finish(image, float(gains[t]), bank[picks[t]], style)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return visible


def _check_written(tmp: Path, n_frames: int, camera: Camera) -> None:
    cap = cv2.VideoCapture(str(tmp))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else -1
    finally:
        cap.release()
    if count != n_frames:
        raise RuntimeError(
            f"Video {tmp} for camera {camera.name!r} reads back {count} frames, expected "
            f"{n_frames}; the encoder failed (disk full?)."
        )


def render_session_videos(
    out_paths: Mapping[str, Path],
    cameras: Sequence[Camera],
    keypoints: np.ndarray,
    arena: Arena,
    fps: float,
    rng: np.random.Generator,
    frames: np.ndarray | None = None,
    style: RenderStyle = DEFAULT_STYLE,
) -> dict[str, np.ndarray]:
    """Render one mp4 video per camera of the animal's motion.

    Parameters
    ----------
    out_paths
        Camera name -> output video path (``.mp4``); one per camera, directories must exist.
    cameras
        The session's cameras.
    keypoints
        Motion (T, K, 3) in mm, world frame, `skeleton.KEYPOINTS` order.
    arena
        The arena.
    fps
        Frame rate written into the videos.
    rng
        Draws the floor texture (shared by all cameras), flicker and noise.
    frames
        Indices of the rows of `keypoints` to render, in order (default all). Other rows are
        dropped frames that never reach the videos.
    style
        Rendering style.

    Returns
    -------
    dict[str, np.ndarray]
        Camera name -> (len(frames), K) bool: the keypoint's marker is visible in that frame.

    Notes
    -----
    Each video is encoded to a hidden temporary file next to its destination; all are moved
    into place only after every camera succeeded, so outputs appear whole or not at all.
    """
    frames = _check_session_inputs(out_paths, cameras, keypoints, fps, frames)
    spheres = scene_spheres(np.asarray(keypoints, dtype=float)[frames], style)
    floor_seed = int(rng.integers(2**63))
    temps = {c.name: _temp_video_path(Path(out_paths[c.name])) for c in cameras}
    visibility = {}
    try:
        for cam in cameras:
            background = render_background(cam, arena, np.random.default_rng(floor_seed))
            visibility[cam.name] = _write_camera_video(
                temps[cam.name], cam, background, spheres, fps, rng, style
            )
            _check_written(temps[cam.name], len(frames), cam)
        for name, tmp in temps.items():
            os.replace(tmp, out_paths[name])
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    logger.info("Rendered %d frames for cameras %s", len(frames), list(temps))
    return visibility
