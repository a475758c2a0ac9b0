"""One session: 2D pose files of each camera + calibration -> 3D pose file + QC JSON."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from brainbehave import provenance
from brainbehave.atomic import write_text
from brainbehave.calibration import read_calibration
from brainbehave.pose import load_pose, pose_dataset
from brainbehave.pose3d.filters import FILTERS, apply_filter
from brainbehave.pose3d.qc import ray_angles, triangulation_qc
from brainbehave.pose3d.triangulation import TriangulationSettings, triangulate
from brainbehave.pose3d.validate import check_camera_names, check_geometry, check_pose_views

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pose3dSettings:
    """The ``pose3d`` block of the config (triangulation and temporal filter)."""

    triangulation: TriangulationSettings = TriangulationSettings()
    filter: str = "none"
    filter_window: int = 5
    filter_polyorder: int = 2
    min_ray_angle_deg: float = 2.0

    def __post_init__(self) -> None:
        if not self.min_ray_angle_deg >= 0:
            raise ValueError(
                f"pose3d.min_ray_angle_deg must be >= 0, got {self.min_ray_angle_deg}."
            )
        if self.filter not in FILTERS:
            raise ValueError(
                f"pose3d.filter {self.filter!r} unknown; choose from {sorted(FILTERS)}."
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Pose3dSettings:
        """Build from the config mapping (keys as in the config schema's ``pose3d`` block)."""
        values = dict(values)
        tri_keys = {f.name for f in dataclasses.fields(TriangulationSettings)}
        tri = TriangulationSettings(**{k: values.pop(k) for k in list(values) if k in tri_keys})
        return cls(triangulation=tri, **values)

    def as_dict(self) -> dict[str, Any]:
        """Flat dict (the config block's layout), for provenance."""
        out = dataclasses.asdict(self.triangulation)
        out.update({k: v for k, v in dataclasses.asdict(self).items() if k != "triangulation"})
        return out


def _load_views(pose_files: Mapping[str, str | os.PathLike]) -> dict[str, xr.Dataset]:
    return {cam: load_pose(path) for cam, path in pose_files.items()}


def _stack(views: Mapping[str, xr.Dataset]) -> tuple[np.ndarray, np.ndarray]:
    """(C, T, K*I, 2) points and (C, T, K*I) likelihoods; individuals folded into keypoints."""
    pts, lik = [], []
    for ds in views.values():
        pos = ds["position"].transpose("time", "keypoints", "individuals", "space").values
        pts.append(pos.reshape(pos.shape[0], -1, 2))
        conf = ds["confidence"].transpose("time", "keypoints", "individuals").values
        lik.append(conf.reshape(conf.shape[0], -1))
    return np.stack(pts), np.stack(lik)


def triangulate_session(
    pose_files: Mapping[str, str | os.PathLike],
    calibration_file: str | os.PathLike,
    settings: Pose3dSettings,
    *,
    subject: str,
    session: str,
    threads: int = 1,
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Triangulate one session; return the 3D pose dataset and its QC dict.

    Parameters
    ----------
    pose_files
        2D pose file (pose data model, px) of each camera, by camera name.
    calibration_file
        Anipose-style calibration naming exactly those cameras.
    settings
        Triangulation and filter settings.
    subject, session
        IDs, recorded in the output and named in errors.
    threads
        Threads of the triangulation kernels (the rule's ``threads``); results do not depend
        on it.
    """
    where = f"session {subject}/{session}"
    calibration = read_calibration(calibration_file)
    check_camera_names(calibration, list(pose_files), where, str(calibration_file))
    cameras = [calibration[c] for c in pose_files]
    check_geometry(cameras, where, str(calibration_file))
    views = _load_views(pose_files)
    check_pose_views(views, {c: str(p) for c, p in pose_files.items()}, where)
    ref = next(iter(views.values()))
    keypoints = [str(k) for k in ref["keypoints"].values]
    individuals = [str(i) for i in ref["individuals"].values]
    points, lik = _stack(views)
    tri = triangulate(points, lik, cameras, settings.triangulation, threads=threads)
    names = [f"{k}/{i}" if len(individuals) > 1 else k for k in keypoints for i in individuals]
    qc = triangulation_qc(
        tri, np.isfinite(points).all(axis=-1), names, settings.triangulation.threshold_px
    )
    angles = ray_angles(
        tri.xyz, np.isfinite(tri.reprojection_error), np.array([c.center for c in cameras])
    )
    degenerate = angles < settings.min_ray_angle_deg
    qc["points_degenerate_geometry"] = int(degenerate.sum())
    qc["min_ray_angle_deg"] = settings.min_ray_angle_deg
    xyz = apply_filter(tri.xyz, settings.filter, settings.filter_window, settings.filter_polyorder)
    qc.update(subject=subject, session=session, filter=settings.filter)
    ds = _pose3d_dataset(xyz, tri, keypoints, individuals, float(ref.attrs["fps"]), settings)
    _add_geometry(ds, tri, angles, degenerate, settings.min_ray_angle_deg)
    ds.attrs.update(subject=subject, session=session)
    ds.attrs["provenance"] = json.dumps(
        {
            "tool": "brainbehave pose3d triangulate",
            **provenance.versions(("numpy", "numba")),
            "settings": settings.as_dict(),
            "calibration": str(calibration_file),
            "pose2d": {c: str(p) for c, p in pose_files.items()},
        },
        sort_keys=True,
    )
    return ds, qc


def _pose3d_dataset(xyz, tri, keypoints, individuals, fps, settings) -> xr.Dataset:
    n_t, n_k, n_i = xyz.shape[0], len(keypoints), len(individuals)
    position = xyz.reshape(n_t, n_k, n_i, 3).transpose(0, 3, 1, 2)
    conf = tri.confidence.reshape(n_t, n_k, n_i)
    ds = pose_dataset(
        position,
        conf,
        keypoints,
        fps,
        source_software="brainbehave.pose3d",
        units="mm",
        individuals=individuals,
        where="3D pose",
    )
    dims = ("time", "keypoints", "individuals")
    ds["reprojection_error"] = (dims, tri.mean_error.reshape(n_t, n_k, n_i))
    ds["reprojection_error"].attrs.update(
        units="px", description="mean reprojection error over the cameras used"
    )
    ds["cameras_used"] = (dims, tri.cameras_used.reshape(n_t, n_k, n_i))
    ds["cameras_used"].attrs.update(
        description="bitmask: bit c set when camera c of attr 'cameras' took part",
        cameras=json.dumps(tri.cameras),
    )
    ds.attrs["cameras"] = json.dumps(tri.cameras)
    return ds


def _add_geometry(ds, tri, angles, degenerate, min_angle) -> None:
    """Per-view reprojection errors, ray angles and the degenerate-geometry flag (in place)."""
    n_t, n_k, n_i = ds.sizes["time"], ds.sizes["keypoints"], ds.sizes["individuals"]
    dims = ("time", "keypoints", "individuals")
    per_view = tri.reprojection_error.reshape(len(tri.cameras), n_t, n_k, n_i)
    ds["reprojection_error_view"] = (("view", *dims), per_view)
    ds.coords["view"] = list(tri.cameras)
    ds["reprojection_error_view"].attrs.update(
        units="px", description="reprojection error per camera view used (NaN: not used)"
    )
    ds["ray_angle"] = (dims, angles.reshape(n_t, n_k, n_i))
    ds["ray_angle"].attrs.update(
        units="deg", description="widest angle between the rays of the cameras used"
    )
    ds["degenerate"] = (dims, degenerate.reshape(n_t, n_k, n_i))
    ds["degenerate"].attrs.update(
        description=f"rays nearly parallel (ray_angle < {min_angle} deg): depth poorly "
        "determined; the point is kept"
    )


def write_qc(qc: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write the QC dict as JSON, whole or not at all."""
    write_text(path, json.dumps(qc, indent=1, sort_keys=False))
