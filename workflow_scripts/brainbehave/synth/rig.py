"""The virtual lab's camera rig: calibrated cameras around and above the arena.

Cameras stand evenly spaced in azimuth around the arena, look down at its centre with a little
roll, and have focal lengths chosen so the whole floor (and an animal standing on it near a
wall) fits the image. Lenses carry mild, realistic distortion.

A session's calibration is the cohort's base rig with its own small pose perturbation::

    cams = make_rig(3, (256, 192), arena, np.random.default_rng(rig_seed),
                    jitter_mm=5.0, jitter_deg=1.0,
                    jitter_rng=np.random.default_rng(session_seed))
"""

from __future__ import annotations

import logging
import string

import numpy as np

from brainbehave.calibration import Camera, matrix_to_rodrigues, rodrigues_to_matrix
from brainbehave.synth.arena import Arena

logger = logging.getLogger(__name__)

MAX_CAMERAS = 8
# Heights (mm) above the floor corners that must stay in view: the floor and a rearing-free
# animal (ears at ~45 mm) beside a wall.
_FIT_HEIGHTS_MM = (0.0, 60.0)
_MARGIN_FRACTION = 0.04
_JITTER_SIGMAS = 2.5


def camera_names(n_cameras: int) -> list[str]:
    """Names of the rig's cameras: camA, camB, ..."""
    return [f"cam{string.ascii_uppercase[i]}" for i in range(n_cameras)]


def look_at_rotation(center: np.ndarray, target: np.ndarray, roll_rad: float) -> np.ndarray:
    """World -> camera rotation (3, 3) of a camera at `center` looking at `target`.

    OpenCV camera axes: x right, y down, z forward; world z is up. `roll_rad` turns the image
    about the optical axis.
    """
    forward = target - center
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    roll = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return roll @ rotation


def _fit_points(arena: Arena) -> np.ndarray:
    h = arena.half
    corners = np.array([[h, h], [h, -h], [-h, -h], [-h, h]])
    return np.array([[x, y, z] for z in _FIT_HEIGHTS_MM for x, y in corners])


def _fit_focal(camera: Camera, points: np.ndarray, slack_rad: float = 0.0) -> float:
    """Largest focal length (fx = fy) keeping `points` inside the image with a margin.

    `slack_rad` is extra angular room (about f * slack_rad pixels) for later pose jitter.
    """
    xc = camera.to_camera_frame(points)
    xn = xc[:, :2] / xc[:, 2:]
    unit = Camera(
        camera.name, camera.size, np.diag([1.0, 1.0, 1.0]), camera.dist, camera.rvec, camera.tvec
    )
    xd = unit.distort_normalized(xn)  # distorted normalised coordinates (K = identity)
    w, h = camera.size
    cx, cy = camera.matrix[0, 2], camera.matrix[1, 2]
    mx, my = _MARGIN_FRACTION * w, _MARGIN_FRACTION * h
    limits = []
    for coord, centre, lo, hi in ((xd[:, 0], cx, mx, w - 1 - mx), (xd[:, 1], cy, my, h - 1 - my)):
        room = np.where(coord > 0, hi - centre, centre - lo)
        limits.append(np.min(room / np.maximum(np.abs(coord) + slack_rad, 1e-12)))
    return float(min(limits))


def _base_camera(
    name: str,
    azimuth: float,
    image_size: tuple[int, int],
    arena: Arena,
    rng: np.random.Generator,
    slack_rad: float,
) -> Camera:
    distance = 800.0 * rng.uniform(0.95, 1.05)
    height = 550.0 * rng.uniform(0.95, 1.05)
    center = np.array([distance * np.cos(azimuth), distance * np.sin(azimuth), height])
    target = np.array([*rng.uniform(-15.0, 15.0, 2), 0.0])
    rotation = look_at_rotation(center, target, np.deg2rad(rng.uniform(-6.0, 6.0)))
    w, h = image_size
    cx = (w - 1) / 2 + rng.uniform(-0.02, 0.02) * w
    cy = (h - 1) / 2 + rng.uniform(-0.02, 0.02) * h
    # Distortion is drawn relative to the image: k1_img is the fractional radial shift at the
    # image corner, converted to normalised coordinates with a first focal-length estimate.
    k1_img, k2_img = rng.uniform(-0.1, 0.1), rng.uniform(-0.02, 0.02)
    p1, p2 = rng.uniform(-1e-3, 1e-3, 2)
    rvec, tvec = matrix_to_rodrigues(rotation), -rotation @ center
    k = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
    fit = _fit_points(arena)
    f0 = _fit_focal(Camera(name, image_size, k, np.zeros(5), rvec, tvec), fit)
    r_corner = np.hypot(w, h) / 2 / f0
    dist = np.array([k1_img / r_corner**2, k2_img / r_corner**4, p1, p2, 0.0])
    k[0, 0] = k[1, 1] = _fit_focal(Camera(name, image_size, k, dist, rvec, tvec), fit, slack_rad)
    return Camera(name, image_size, k, dist, rvec, tvec)


def jitter_rig(
    cameras: list[Camera], rng: np.random.Generator, jitter_mm: float, jitter_deg: float
) -> list[Camera]:
    """Perturb each camera's pose: its centre by N(0, jitter_mm) per axis and its orientation
    by a rotation about a random axis of angle N(0, jitter_deg). Intrinsics are unchanged."""
    if not (jitter_mm >= 0 and jitter_deg >= 0):
        raise ValueError(
            f"Jitter must be >= 0, got jitter_mm={jitter_mm}, jitter_deg={jitter_deg}."
        )
    out = []
    for cam in cameras:
        center = cam.center + rng.normal(0.0, jitter_mm, 3)
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        delta = rodrigues_to_matrix(axis * np.deg2rad(rng.normal(0.0, jitter_deg)))
        rotation = delta @ cam.rotation_matrix
        out.append(
            Camera(
                cam.name,
                cam.size,
                cam.matrix,
                cam.dist,
                matrix_to_rodrigues(rotation),
                -rotation @ center,
            )
        )
    return out


def make_rig(
    n_cameras: int,
    image_size: tuple[int, int],
    arena: Arena,
    rng: np.random.Generator,
    jitter_mm: float = 0.0,
    jitter_deg: float = 0.0,
    jitter_rng: np.random.Generator | None = None,
) -> list[Camera]:
    """Make a rig of calibrated cameras around and above the arena.

    Parameters
    ----------
    n_cameras
        Number of cameras, 1 to 8; named camA, camB, ...
    image_size
        ``(width, height)`` in pixels, shared by all cameras.
    arena
        The arena the cameras look at; its whole floor fits every image.
    rng
        Source of the base rig (azimuth offset, distances, aim, roll, principal point,
        distortion). The same generator state and jitter sizes give the same base rig; the
        focal lengths leave room for 2.5 standard deviations of jitter.
    jitter_mm, jitter_deg
        Standard deviations of a per-camera pose perturbation (see `jitter_rig`); 0 for none.
    jitter_rng
        Source of the jitter, e.g. one generator per session over a base rig shared by the
        cohort; None draws it from `rng` after the base rig.

    Returns
    -------
    list[Camera]
        The cameras, zero skew, focal lengths fitted to the arena.
    """
    if not 1 <= n_cameras <= MAX_CAMERAS:
        raise ValueError(f"n_cameras must be between 1 and {MAX_CAMERAS}, got {n_cameras}.")
    if len(image_size) != 2 or min(image_size) < 16:
        raise ValueError(f"image_size must be (width, height) >= 16 px, got {image_size}.")
    if not (jitter_mm >= 0 and jitter_deg >= 0):
        raise ValueError(
            f"Jitter must be >= 0, got jitter_mm={jitter_mm}, jitter_deg={jitter_deg}."
        )
    azimuths = rng.uniform(0.0, 2 * np.pi) + 2 * np.pi * np.arange(n_cameras) / n_cameras
    # Room for _JITTER_SIGMAS standard deviations of jitter, so that jittered sessions still
    # see the whole floor; the focal length is a property of the lens, not of the session.
    slack = _JITTER_SIGMAS * (np.deg2rad(jitter_deg) + jitter_mm / 800.0)
    cameras = [
        _base_camera(name, azimuth, tuple(image_size), arena, rng, slack)
        for azimuth, name in zip(azimuths, camera_names(n_cameras), strict=True)
    ]
    if jitter_mm > 0 or jitter_deg > 0:
        cameras = jitter_rig(
            cameras, rng if jitter_rng is None else jitter_rng, jitter_mm, jitter_deg
        )
    logger.debug("Made a rig of %d cameras at %s px", n_cameras, image_size)
    return cameras
