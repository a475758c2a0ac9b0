"""Stage 2 — 3D pose: validation of cameras and 2D inputs, robust triangulation, filtering,
single-camera lifting (:mod:`~brainbehave.pose3d.lift`, :mod:`~brainbehave.pose3d.lift_session`)
and calibration from ChArUco board videos (:mod:`~brainbehave.pose3d.charuco`).

Public API: :func:`triangulate` (arrays in, :class:`Triangulation` out) and
:func:`triangulate_session` (pose files in, 3D pose dataset and QC dict out). Names are loaded
on first use, so the workflow can import :mod:`brainbehave.pose3d.plan` when it is parsed
without importing numba.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Pose3dSettings": "session",
    "triangulate_session": "session",
    "write_qc": "session",
    "Triangulation": "triangulation",
    "TriangulationSettings": "triangulation",
    "triangulate": "triangulation",
    "LiftConfig": "lift_session",
    "train_lift_model": "lift_session",
    "BoardSpec": "charuco",
    "calibrate_from_videos": "charuco",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'brainbehave.pose3d' has no attribute {name!r}")
    return getattr(importlib.import_module(f"brainbehave.pose3d.{_WHERE[name]}"), name)
