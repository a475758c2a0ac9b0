"""Camera models and anipose-style calibration files.

One `Camera` class serves the whole pipeline: the virtual lab renders with it and Stage 2
triangulates with it. The projection follows OpenCV's pinhole + Brown-Conrady model
(k1, k2, p1, p2, k3) and additionally honours the skew term ``K[0, 1]``, which OpenCV's
``projectPoints``/``undistortPoints`` silently ignore.

Calibration files use the anipose layout (``calibration.toml``)::

    [cam_0]
    name = "camA"
    size = [256, 192]                  # width, height in pixels
    matrix = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2, k3]
    rotation = [rx, ry, rz]            # Rodrigues vector, world -> camera
    translation = [tx, ty, tz]         # world -> camera, units of the 3D points

    [metadata]                         # optional, free-form
"""

from __future__ import annotations

import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from brainbehave.atomic import atomic_path

logger = logging.getLogger(__name__)

_REQUIRED_KEYS = ("name", "size", "matrix", "distortions", "rotation", "translation")
_CAM_SECTION = re.compile(r"^cam_(\d+)$")
_UNDISTORT_ITERATIONS = 20


def rodrigues_to_matrix(rvec: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) of a Rodrigues vector (3,), as ``cv2.Rodrigues`` computes it."""
    r = np.asarray(rvec, dtype=float).reshape(3)
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return (
        math.cos(theta) * np.eye(3) + (1 - math.cos(theta)) * np.outer(k, k) + math.sin(theta) * kx
    )


def matrix_to_rodrigues(rotation: np.ndarray) -> np.ndarray:
    """Rodrigues vector (3,) of a rotation matrix (3, 3) (inverse of `rodrigues_to_matrix`)."""
    import cv2  # imported here: the rest of this module needs only numpy

    rvec, _ = cv2.Rodrigues(np.asarray(rotation, dtype=float).reshape(3, 3))
    return rvec.reshape(3)


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated camera: pinhole with skew, Brown-Conrady distortion, world -> camera pose.

    Parameters
    ----------
    name
        Camera name, unique within a rig.
    size
        Image ``(width, height)`` in pixels.
    matrix
        Intrinsic matrix K (3, 3), OpenCV convention; ``K[0, 1]`` is the skew.
    dist
        Distortion coefficients (5,): k1, k2, p1, p2, k3 (OpenCV order).
    rvec, tvec
        Rodrigues rotation (3,) and translation (3,) taking world points into the camera frame
        (``X_cam = R @ X_world + t``); ``tvec`` is in the units of the 3D points (mm here).

    Notes
    -----
    Arrays are copied to read-only float64 on construction, so a Camera cannot change after it
    is made. Cameras compare equal when every field is exactly equal; they are not hashable.
    """

    name: str
    size: tuple[int, int]
    matrix: np.ndarray
    dist: np.ndarray
    rvec: np.ndarray
    tvec: np.ndarray

    def __post_init__(self) -> None:
        arrays = {"matrix": (3, 3), "dist": (5,), "rvec": (3,), "tvec": (3,)}
        for key, shape in arrays.items():
            value = np.array(getattr(self, key), dtype=float)
            if value.shape != shape:
                raise ValueError(
                    f"Camera {self.name!r}: expected {key!r} to have shape {shape}, "
                    f"but got {value.shape}."
                )
            if not np.all(np.isfinite(value)):
                raise ValueError(f"Camera {self.name!r}: {key!r} holds non-finite values: {value}.")
            value.setflags(write=False)
            object.__setattr__(self, key, value)
        _check_size(self.name, self.size)
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        if self.matrix[0, 0] <= 0 or self.matrix[1, 1] <= 0:
            raise ValueError(
                f"Camera {self.name!r}: focal lengths must be positive, "
                f"got fx={self.matrix[0, 0]}, fy={self.matrix[1, 1]}."
            )
        # Cached, not a dataclass field: fields are exactly the calibration file's contents.
        rotation = rodrigues_to_matrix(self.rvec)
        rotation.setflags(write=False)
        object.__setattr__(self, "_rotation", rotation)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Camera):
            return NotImplemented
        return (
            self.name == other.name
            and self.size == other.size
            and all(
                np.array_equal(getattr(self, k), getattr(other, k))
                for k in ("matrix", "dist", "rvec", "tvec")
            )
        )

    @property
    def rotation_matrix(self) -> np.ndarray:
        """World -> camera rotation matrix R (3, 3)."""
        return self._rotation

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates (3,)."""
        return -self._rotation.T @ self.tvec

    @property
    def projection_matrix(self) -> np.ndarray:
        """Undistorted projection matrix ``K [R | t]`` (3, 4)."""
        return self.matrix @ np.hstack([self._rotation, self.tvec[:, None]])

    def to_camera_frame(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) in the camera frame (..., 3)."""
        points = np.asarray(points, dtype=float)
        return points @ self._rotation.T + self.tvec

    def depth(self, points: np.ndarray) -> np.ndarray:
        """Camera-frame z (distance along the optical axis) of world points (..., 3) -> (...,)."""
        points = np.asarray(points, dtype=float)
        return points @ self._rotation[2] + self.tvec[2]

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project world points (..., 3) to distorted pixel coordinates (..., 2).

        Pixel (0, 0) is the centre of the top-left pixel (OpenCV convention). NaN in gives NaN
        out. Points on or behind the camera plane (depth <= 0) project to NaN: the pinhole
        formula would mirror them into the image, which no real camera sees.
        """
        xc = self.to_camera_frame(points)
        z = xc[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(z > 0, z, np.nan)
            xn = np.stack([xc[..., 0] / z, xc[..., 1] / z], axis=-1)
        return self.distort_normalized(xn)

    def distort_normalized(self, xn: np.ndarray) -> np.ndarray:
        """Normalised undistorted coordinates (..., 2) -> distorted pixels (..., 2)."""
        k1, k2, p1, p2, k3 = self.dist
        x, y = xn[..., 0], xn[..., 1]
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        k = self.matrix
        u = k[0, 0] * xd + k[0, 1] * yd + k[0, 2]
        v = k[1, 1] * yd + k[1, 2]
        return np.stack([u, v], axis=-1)

    def undistort_points(self, uv: np.ndarray) -> np.ndarray:
        """Distorted pixels (..., 2) -> normalised undistorted coordinates (..., 2).

        Inverts `distort_normalized` by fixed-point iteration (as OpenCV does, but honouring
        the skew and with more iterations); exact to ~1e-12 for the mild distortion of real
        lenses. NaN in gives NaN out.
        """
        uv = np.asarray(uv, dtype=float)
        k = self.matrix
        yd = (uv[..., 1] - k[1, 2]) / k[1, 1]
        xd = (uv[..., 0] - k[0, 2] - k[0, 1] * yd) / k[0, 0]
        k1, k2, p1, p2, k3 = self.dist
        x, y = xd.copy(), yd.copy()
        for _ in range(_UNDISTORT_ITERATIONS):
            r2 = x * x + y * y
            inv_radial = 1.0 / (1 + r2 * (k1 + r2 * (k2 + r2 * k3)))
            dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
            dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
            x = (xd - dx) * inv_radial
            y = (yd - dy) * inv_radial
        return np.stack([x, y], axis=-1)


def _check_size(name: str, size: Any) -> None:
    ok = (
        isinstance(size, Sequence | np.ndarray)
        and len(size) == 2
        and all(isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0 for s in size)
    )
    if not ok:
        raise ValueError(
            f"Camera {name!r}: expected 'size' to be two positive integers (width, height), "
            f"but got {size!r}."
        )


def _fail(path: Path, section: str, message: str) -> ValueError:
    return ValueError(
        f"Calibration file {path}, section [{section}]: {message} Fix the file (anipose layout: "
        f"keys {list(_REQUIRED_KEYS)}) or recalibrate."
    )


def _float_array(path: Path, section: str, key: str, value: Any, shapes: tuple) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise _fail(path, section, f"{key!r} must hold numbers, found {value!r}.") from None
    if arr.shape not in shapes:
        raise _fail(
            path,
            section,
            f"expected {key!r} of shape {' or '.join(map(str, shapes))}, found shape {arr.shape}.",
        )
    if not np.all(np.isfinite(arr)):
        raise _fail(path, section, f"{key!r} holds non-finite values {value!r}.")
    return arr


def _distortions(path: Path, section: str, value: Any) -> np.ndarray:
    """First five coefficients; 4 are padded with k3 = 0; 8 (rational model) only if k4..k6 = 0."""
    arr = _float_array(path, section, "distortions", value, ((4,), (5,), (8,)))
    if arr.size == 8 and np.any(arr[5:] != 0):
        raise _fail(
            path,
            section,
            f"8 distortion coefficients with non-zero k4..k6 {arr[5:].tolist()} (OpenCV's "
            "rational model) are not supported; only k1, k2, p1, p2, k3 are modelled.",
        )
    return np.concatenate([arr, np.zeros(5)])[:5]


def _camera_from_section(path: Path, section: str, table: Any) -> Camera:
    if not isinstance(table, dict):
        raise _fail(path, section, f"expected a table, found {type(table).__name__}.")
    missing = [k for k in _REQUIRED_KEYS if k not in table]
    if missing:
        raise _fail(path, section, f"missing keys {missing}; found {sorted(table)}.")
    name = table["name"]
    if not isinstance(name, str) or not name:
        raise _fail(path, section, f"'name' must be a non-empty string, found {name!r}.")
    size = table["size"]
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
    ):
        raise _fail(
            path, section, f"'size' must be two positive integers [width, height], found {size!r}."
        )
    matrix = _float_array(path, section, "matrix", table["matrix"], ((3, 3),))
    if matrix[0, 0] <= 0 or matrix[1, 1] <= 0:
        raise _fail(
            path,
            section,
            f"focal lengths must be positive, found fx={matrix[0, 0]}, fy={matrix[1, 1]}.",
        )
    return Camera(
        name=name,
        size=(size[0], size[1]),
        matrix=matrix,
        dist=_distortions(path, section, table["distortions"]),
        rvec=_float_array(path, section, "rotation", table["rotation"], ((3,),)),
        tvec=_float_array(path, section, "translation", table["translation"], ((3,),)),
    )


def read_calibration(path: str | os.PathLike) -> dict[str, Camera]:
    """Read an anipose-style ``calibration.toml``.

    Parameters
    ----------
    path
        The calibration file.

    Returns
    -------
    dict[str, Camera]
        Cameras by name, in the order of their section numbers (``cam_0``, ``cam_1``, ...).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not valid TOML, has no camera, an unexpected section, a missing or
        malformed key, or two cameras with the same name. Four distortion coefficients are
        padded with k3 = 0; eight (OpenCV rational model) are accepted only when k4..k6 are 0.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Calibration file {path} does not exist; check the path in the config or run the "
            "calibration step first."
        )
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"Calibration file {path} is not valid TOML ({err}).") from None
    sections = {}
    for key, value in data.items():
        match = _CAM_SECTION.match(key)
        if match:
            sections[int(match.group(1))] = (key, value)
        elif key != "metadata":
            raise _fail(path, key, "unexpected section; expected [cam_<N>] or [metadata].")
    if not sections:
        raise ValueError(
            f"Calibration file {path} has no camera sections; expected [cam_0], [cam_1], ... "
            f"but found {list(data)}."
        )
    cameras: dict[str, Camera] = {}
    for index in sorted(sections):
        section, table = sections[index]
        camera = _camera_from_section(path, section, table)
        if camera.name in cameras:
            raise _fail(
                path, section, f"camera name {camera.name!r} is used twice; names must be unique."
            )
        cameras[camera.name] = camera
    logger.debug("Read %d cameras from %s", len(cameras), path)
    return cameras


def _toml_value(value: Any) -> Any:
    """Numpy scalars/arrays and tuples as plain TOML-serialisable Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _toml_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_toml_value(v) for v in value]
    return value


def write_calibration(
    path: str | os.PathLike, cameras: Sequence[Camera], metadata: dict | None = None
) -> None:
    """Write cameras to an anipose-style ``calibration.toml``, atomically.

    Parameters
    ----------
    path
        Destination file; its directory must exist. The file is written to a temporary file in
        the same directory and moved into place, so it appears whole or not at all.
    cameras
        The cameras, written as ``[cam_0]``, ``[cam_1]``, ... in this order.
    metadata
        Optional free-form table written as ``[metadata]`` (TOML-serialisable values).
    """
    path = Path(path)
    names = [c.name for c in cameras]
    if not names:
        raise ValueError(f"Cannot write {path}: no cameras given.")
    if len(set(names)) != len(names):
        raise ValueError(f"Cannot write {path}: camera names must be unique, got {names}.")
    doc: dict[str, Any] = {}
    for i, cam in enumerate(cameras):
        doc[f"cam_{i}"] = {
            "name": cam.name,
            "size": [int(cam.size[0]), int(cam.size[1])],
            "matrix": cam.matrix.tolist(),
            "distortions": cam.dist.tolist(),
            "rotation": cam.rvec.tolist(),
            "translation": cam.tvec.tolist(),
        }
    if metadata is not None:
        doc["metadata"] = _toml_value(metadata)
    payload = tomli_w.dumps(doc).encode()
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    logger.debug("Wrote %d cameras to %s", len(cameras), path)
