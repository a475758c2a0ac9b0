"""The pipeline's one pose data model: a ``movement``-compatible ``xarray.Dataset``.

``position`` (time, space, keypoints, individuals) and ``confidence`` (time, keypoints,
individuals), ``time`` in seconds on the video clock (frame index / fps), ``space`` ``x, y``
(2D, pixels) or ``x, y, z`` (3D, the calibration's units). Attributes (movement's plus ours):

- ``fps``, ``time_unit``, ``source_software``, ``ds_type = "poses"`` (movement's);
- ``units`` (``"px"`` or ``"mm"``), ``camera`` (2D only), ``subject``, ``session``;
- ``provenance``: JSON of what made it (tool, versions, parameters, cleaning steps).

2D and 3D pose from every stage pass through :func:`pose_dataset`, the one validated
constructor, and are stored as netCDF by :func:`save_pose` / read by :func:`load_pose`.
Unlike movement, bad input is refused, never repaired (fps <= 0 is an error, not None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from brainbehave.atomic import write_netcdf
from brainbehave.errors import InputDataError

SPACE_2D = ("x", "y")
SPACE_3D = ("x", "y", "z")


def pose_dataset(
    position: np.ndarray,
    confidence: np.ndarray | None,
    keypoints: Sequence[str],
    fps: float,
    *,
    source_software: str,
    units: str,
    individuals: Sequence[str] = ("animal",),
    camera: str | None = None,
    subject: str | None = None,
    session: str | None = None,
    provenance: Mapping[str, Any] | None = None,
    where: str = "pose",
) -> xr.Dataset:
    """Build and validate a pose dataset.

    Parameters
    ----------
    position
        (T, K, S) for one individual or (T, S, K, I); S is 2 or 3. NaN marks missing points.
    confidence
        (T, K) or (T, K, I) in [0, 1] (NaN allowed), or None for all ones where position is
        finite.
    keypoints, individuals
        Names, unique.
    fps
        Frame rate, > 0.
    source_software, units
        Where the pose came from, and the unit of ``position`` (``px`` or ``mm``).
    where
        Named in error messages (e.g. ``"rat01/ses01 camA pose"``).

    Raises
    ------
    InputDataError
        On shapes, names, fps, units or confidence that are not as described.
    """
    position = np.asarray(position, dtype=np.float64)
    keypoints, individuals = list(keypoints), list(individuals)
    if position.ndim == 3:
        position = position.transpose(0, 2, 1)[..., np.newaxis]
    if position.ndim != 4 or position.shape[1] not in (2, 3):
        raise InputDataError(
            f"{where}: expected 'position' of shape (time, keypoints, 2|3) or "
            f"(time, 2|3, keypoints, individuals), but got {position.shape}."
        )
    n_t, n_s, n_k, n_i = position.shape
    _check_names(keypoints, n_k, "keypoints", where)
    _check_names(individuals, n_i, "individuals", where)
    if not (np.isfinite(fps) and fps > 0):
        raise InputDataError(f"{where}: fps must be a positive number, got {fps!r}.")
    if units not in ("px", "mm"):
        raise InputDataError(f"{where}: units must be 'px' or 'mm', got {units!r}.")
    if np.isinf(position).any():
        raise InputDataError(f"{where}: position holds infinite values; use NaN for missing.")
    confidence = _confidence(confidence, position, where)
    space = SPACE_2D if n_s == 2 else SPACE_3D
    ds = xr.Dataset(
        {
            "position": (("time", "space", "keypoints", "individuals"), position),
            "confidence": (("time", "keypoints", "individuals"), confidence),
        },
        coords={
            "time": np.arange(n_t) / float(fps),
            "space": list(space),
            "keypoints": keypoints,
            "individuals": individuals,
        },
    )
    attrs = {
        "fps": float(fps),
        "time_unit": "seconds",
        "source_software": source_software,
        "ds_type": "poses",
        "units": units,
        "provenance": json.dumps(dict(provenance or {}), sort_keys=True, default=str),
    }
    for key, value in (("camera", camera), ("subject", subject), ("session", session)):
        if value is not None:
            attrs[key] = value
    ds.attrs.update(attrs)
    return ds


def _check_names(names: list[str], n: int, what: str, where: str) -> None:
    if len(names) != n:
        raise InputDataError(f"{where}: {n} {what} in the data but {len(names)} names given.")
    if len(set(names)) != len(names):
        raise InputDataError(f"{where}: {what} names must be unique, got {names}.")


def _confidence(confidence: np.ndarray | None, position: np.ndarray, where: str) -> np.ndarray:
    n_t, _, n_k, n_i = position.shape
    finite = np.isfinite(position).all(axis=1)
    if confidence is None:
        return np.where(finite, 1.0, np.nan)
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.ndim == 2:
        confidence = confidence[..., np.newaxis]
    if confidence.shape != (n_t, n_k, n_i):
        raise InputDataError(
            f"{where}: expected 'confidence' of shape {(n_t, n_k, n_i)}, but got "
            f"{confidence.shape}."
        )
    bad = np.isfinite(confidence) & ((confidence < 0) | (confidence > 1))
    if bad.any():
        raise InputDataError(
            f"{where}: confidence must lie in [0, 1]; {int(bad.sum())} values do not "
            f"(range {np.nanmin(confidence):.3g}..{np.nanmax(confidence):.3g})."
        )
    return confidence


def provenance_of(ds: xr.Dataset) -> dict[str, Any]:
    """The provenance recorded in a pose dataset."""
    return json.loads(ds.attrs.get("provenance", "{}"))


def with_provenance(ds: xr.Dataset, step: str, details: Mapping[str, Any]) -> xr.Dataset:
    """A copy of ``ds`` whose provenance lists one more processing step."""
    prov = provenance_of(ds)
    prov.setdefault("steps", []).append({"step": step, **details})
    out = ds.copy()
    out.attrs["provenance"] = json.dumps(prov, sort_keys=True, default=str)
    return out


def save_pose(ds: xr.Dataset, path: str | Path) -> None:
    """Write a pose dataset as netCDF, whole or not at all (temp file, then rename)."""
    write_netcdf(ds, path)


def load_pose(path: str | Path) -> xr.Dataset:
    """Read a pose dataset written by :func:`save_pose` (loaded into memory, file closed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Pose file {str(path)!r} does not exist.")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    if ds.attrs.get("ds_type") != "poses" or "position" not in ds:
        raise InputDataError(
            f"{path}: not a brainbehave/movement pose dataset (no 'position' or ds_type)."
        )
    return ds
