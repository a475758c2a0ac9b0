"""Checks that stop a triangulation before it produces nonsense, with errors a user can act on.

Every error names the session, the camera and the file concerned and says what to do.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from brainbehave.calibration import Camera
from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)

# Camera centres closer than this fraction of the rig's size count as the same point.
_SAME_CENTRE = 1e-6


def check_camera_names(
    calibration: Mapping[str, Camera],
    pose_cameras: Sequence[str],
    where: str,
    calibration_path: str,
) -> None:
    """The calibration and the 2D pose files must name the same cameras (>= 2 of them).

    Raises
    ------
    InputDataError
        Naming the cameras missing on either side.
    """
    calibrated, posed = list(calibration), list(pose_cameras)
    missing = [c for c in posed if c not in calibration]
    if missing:
        raise InputDataError(
            f"{where}: camera(s) {missing} have 2D pose but no section in the calibration "
            f"{calibration_path} (it has {calibrated}). Add them to the calibration, fix the "
            "camera names in the sheet, or drop those cameras from the session."
        )
    extra = [c for c in calibrated if c not in posed]
    if extra:
        raise InputDataError(
            f"{where}: the calibration {calibration_path} has camera(s) {extra} without 2D pose "
            f"(the session's cameras are {posed}). Add their videos/pose to the sheet or remove "
            "their sections from the calibration, so it is clear which rig was used."
        )
    if len(posed) < 2:
        raise InputDataError(
            f"{where}: triangulation needs at least 2 cameras, the session has {posed}. "
            "Use single-camera lifting for one-camera sessions."
        )


def check_geometry(cameras: Sequence[Camera], where: str, calibration_path: str) -> None:
    """Refuse a rig without a baseline; warn about pairs of cameras at the same place.

    Raises
    ------
    InputDataError
        If all camera centres coincide (depth cannot be recovered from any pair).
    """
    centres = np.array([cam.center for cam in cameras])
    scale = max(1.0, float(np.abs(centres).max()))
    same = [
        (a.name, b.name)
        for (a, ca), (b, cb) in itertools.combinations(zip(cameras, centres, strict=True), 2)
        if np.linalg.norm(ca - cb) < _SAME_CENTRE * scale
    ]
    if len(same) == len(cameras) * (len(cameras) - 1) // 2:
        raise InputDataError(
            f"{where}: all cameras in {calibration_path} have the same centre "
            f"{centres[0].round(6).tolist()}; triangulation needs cameras at different places "
            "(a baseline). Check the translations/rotations or recalibrate."
        )
    if same:
        logger.warning(
            "%s: camera pairs %s share a centre in %s; those pairs add no depth information.",
            where,
            same,
            calibration_path,
        )
    if len(cameras) >= 3:
        spread = np.linalg.svd(centres - centres.mean(axis=0), compute_uv=False)
        if spread[1] < _SAME_CENTRE * scale:
            logger.warning(
                "%s: all camera centres in %s lie on one line; points on that line cannot be "
                "triangulated (they come out NaN or with a large reprojection error).",
                where,
                calibration_path,
            )


def check_pose_views(views: Mapping[str, xr.Dataset], files: Mapping[str, str], where: str) -> None:
    """2D pose of every camera: same frames, keypoints, individuals and fps; px; not all NaN.

    Raises
    ------
    InputDataError
        Naming the camera and file that differ from the first camera, or that hold no point.
    """
    first = next(iter(views))
    ref = views[first]
    for cam, ds in views.items():
        f = files[cam]
        if ds.sizes.get("space") != 2 or ds.attrs.get("units") != "px":
            raise InputDataError(
                f"{where}, camera {cam!r} ({f}): expected 2D pose in px, found space "
                f"{list(ds['space'].values)} in {ds.attrs.get('units')!r}."
            )
        if ds.sizes["time"] != ref.sizes["time"]:
            raise InputDataError(
                f"{where}: camera {cam!r} ({f}) has {ds.sizes['time']} frames but camera "
                f"{first!r} ({files[first]}) has {ref.sizes['time']}. Triangulation pairs frames "
                "by index: the videos must be synchronised and trimmed to the same frames."
            )
        for coord in ("keypoints", "individuals"):
            if list(ds[coord].values) != list(ref[coord].values):
                raise InputDataError(
                    f"{where}: camera {cam!r} ({f}) has {coord} {list(ds[coord].values)} but "
                    f"camera {first!r} has {list(ref[coord].values)}; use the same 2D model "
                    "(same keypoints, same order) for every camera."
                )
        if not np.isclose(ds.attrs["fps"], ref.attrs["fps"]):
            raise InputDataError(
                f"{where}: camera {cam!r} ({f}) runs at {ds.attrs['fps']} fps but camera "
                f"{first!r} at {ref.attrs['fps']} fps."
            )
        if not np.isfinite(ds["position"].values).any():
            raise InputDataError(
                f"{where}: camera {cam!r} ({f}) has no finite keypoint in any frame (all NaN). "
                "Check its 2D pose step (wrong video? failed inference?) or drop the camera."
            )
