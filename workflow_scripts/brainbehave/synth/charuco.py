"""ChArUco board videos of the virtual lab's rig: the truth to test calibration against.

A printed ChArUco board (OpenCV's ``cv2.aruco`` drawing, white margin of one square) moves
through the arena, tilted towards the cameras; every camera films it in sync. Each pixel is
rendered exactly through the camera model (distortion included): its ray is intersected with
the board plane and the board texture sampled there (``cv2.remap``); a camera behind the board
sees only the floor. Videos are written as mp4 (mp4v), as the virtual lab's other videos.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from brainbehave.atomic import atomic_path
from brainbehave.calibration import Camera, rodrigues_to_matrix
from brainbehave.pose3d.charuco import BoardSpec

TEXTURE_PX_PER_MM = 2.0
FLOOR_GREY = 90


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    return rodrigues_to_matrix(np.asarray(axis, dtype=float) * angle)


def board_poses(
    n_frames: int,
    spec: BoardSpec,
    arena_half_mm: float,
    rng: np.random.Generator,
    keyframe_every: int = 10,
    max_tilt_deg: float = 40.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Smooth board motion: (N, 3, 3) board -> world rotations and (N, 3) translations (mm).

    The board's printed face points up (board z = world -z), tilted by up to ``max_tilt_deg``
    about a random horizontal axis and turned about the vertical; keyframes every
    ``keyframe_every`` frames, linearly interpolated (centre, yaw, tilt axis and angle).
    """
    n_key = n_frames // keyframe_every + 2
    centre = np.column_stack(
        [
            rng.uniform(-0.5, 0.5, (n_key, 2)) * arena_half_mm,
            rng.uniform(40.0, 250.0, n_key),
        ]
    )
    yaw = np.cumsum(rng.normal(0.0, 0.6, n_key))
    tilt_dir = rng.uniform(0, 2 * np.pi, n_key)
    tilt = np.deg2rad(rng.uniform(0.0, max_tilt_deg, n_key))
    t_key = np.arange(n_key) * keyframe_every
    t = np.arange(n_frames)
    interp = lambda v: np.interp(t, t_key, v)  # noqa: E731
    face_up = np.diag([1.0, -1.0, -1.0])
    local_centre = np.array(
        [spec.squares_x * spec.square_mm / 2, spec.squares_y * spec.square_mm / 2, 0.0]
    )
    rots, trans = [], []
    for i in range(n_frames):
        c = np.array([interp(centre[:, 0])[i], interp(centre[:, 1])[i], interp(centre[:, 2])[i]])
        d = interp(tilt_dir)[i]
        r = (
            _rotation([0, 0, 1], interp(yaw)[i])
            @ _rotation([np.cos(d), np.sin(d), 0.0], interp(tilt)[i])
            @ face_up
        )
        rots.append(r)
        trans.append(c - r @ local_centre)
    return np.array(rots), np.array(trans)


def board_texture(spec: BoardSpec) -> tuple[np.ndarray, float]:
    """Grey image of the board with a one-square white margin, and that margin in mm."""
    import cv2

    margin_mm = spec.square_mm
    w = int(round((spec.squares_x * spec.square_mm + 2 * margin_mm) * TEXTURE_PX_PER_MM))
    h = int(round((spec.squares_y * spec.square_mm + 2 * margin_mm) * TEXTURE_PX_PER_MM))
    image = spec.board().generateImage((w, h), marginSize=int(margin_mm * TEXTURE_PX_PER_MM))
    # the camera sees ~1 px per mm: blur the texture to that footprint (no aliasing)
    return cv2.GaussianBlur(image, (0, 0), TEXTURE_PX_PER_MM * 0.5), margin_mm


def _rays(camera: Camera) -> np.ndarray:
    """World-frame ray directions (H, W, 3) of every pixel (distortion included)."""
    w, h = camera.size
    u, v = np.meshgrid(np.arange(w, dtype=float), np.arange(h, dtype=float))
    xn = camera.undistort_points(np.stack([u, v], axis=-1))
    d = np.concatenate([xn, np.ones((h, w, 1))], axis=-1)
    return d @ camera.rotation_matrix  # R^T d for row vectors


def render_frame(
    camera: Camera,
    rays: np.ndarray,
    texture: np.ndarray,
    margin_mm: float,
    rot: np.ndarray,
    trans: np.ndarray,
) -> np.ndarray:
    """One grey frame (H, W) uint8 of the board at pose (rot, trans) seen by ``camera``."""
    import cv2

    w, h = camera.size
    frame = np.full((h, w), FLOOR_GREY, np.uint8)
    normal = rot[:, 2]
    centre = camera.center
    if normal @ (centre - trans) >= 0:  # camera behind the board: sees its blank back
        return frame
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (normal @ (trans - centre)) / (rays @ normal)
    hit = centre + s[..., None] * rays
    local = (hit - trans) @ rot  # R^T (X - t)
    tex_u = ((local[..., 0] + margin_mm) * TEXTURE_PX_PER_MM - 0.5).astype(np.float32)
    tex_v = ((local[..., 1] + margin_mm) * TEXTURE_PX_PER_MM - 0.5).astype(np.float32)
    tex_u[~(s > 0)] = -1e6
    return cv2.remap(
        texture,
        tex_u,
        tex_v,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=FLOOR_GREY,
        dst=frame,
    )


def render_board_videos(
    cameras: Sequence[Camera],
    spec: BoardSpec,
    rots: np.ndarray,
    trans: np.ndarray,
    out: Mapping[str, str | os.PathLike],
    rng: np.random.Generator,
    fps: float = 30.0,
    noise_grey: float = 2.0,
) -> None:
    """Film the board with every camera; one mp4 per camera (written atomically)."""
    import cv2

    texture, margin = board_texture(spec)
    for cam in cameras:
        rays = _rays(cam)
        path = Path(out[cam.name])
        with atomic_path(path, suffix=".tmp.mp4") as tmp:
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, cam.size)
            if not writer.isOpened():
                raise OSError(f"OpenCV could not open a video writer for {tmp}.")
            try:
                for r, t in zip(rots, trans, strict=True):
                    grey = render_frame(cam, rays, texture, margin, r, t).astype(float)
                    grey += rng.normal(0.0, noise_grey, grey.shape)
                    grey = np.clip(grey, 0, 255).astype(np.uint8)
                    writer.write(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
            finally:
                writer.release()


def charuco_session(
    cameras: Sequence[Camera],
    spec: BoardSpec,
    folder: str | os.PathLike,
    n_frames: int = 120,
    arena_half_mm: float = 300.0,
    seed: int = 0,
) -> dict[str, str]:
    """Board videos ``<folder>/<camera>.mp4`` of a rig; return them by camera name."""
    rng = np.random.default_rng(seed)
    rots, trans = board_poses(n_frames, spec, arena_half_mm, rng)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {cam.name: str(folder / f"{cam.name}.mp4") for cam in cameras}
    render_board_videos(cameras, spec, rots, trans, out, rng)
    return out


def relative_to_first(cameras: Sequence[Camera]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each camera's (R, t) with the first camera as the world (anipose's frame)."""
    r0, t0 = cameras[0].rotation_matrix, cameras[0].tvec
    return [(c.rotation_matrix @ r0.T, c.tvec - c.rotation_matrix @ r0.T @ t0) for c in cameras]
