"""Quality summary of a triangulation: what a user checks before trusting the 3D."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from brainbehave.pose3d.triangulation import Triangulation


def _stats(err: np.ndarray) -> dict[str, float | int | None]:
    e = err[np.isfinite(err)]
    if e.size == 0:
        return {"n": 0, "median": None, "p95": None}
    median, p95 = np.percentile(e, [50, 95])
    return {"n": int(e.size), "median": round(float(median), 4), "p95": round(float(p95), 4)}


def triangulation_qc(
    tri: Triangulation,
    views_finite: np.ndarray,
    keypoints: Sequence[str],
    threshold_px: float | None,
) -> dict[str, Any]:
    """Counts and reprojection-error summaries of one triangulation.

    Parameters
    ----------
    tri
        The triangulation, keypoint axis K (individuals folded into it, if several).
    views_finite
        (C, T, K) bool: the 2D view had finite x and y (before the likelihood test).
    keypoints
        K names for the keypoint axis.
    threshold_px
        The outlier threshold used (None: no outlier rejection).
    """
    err = tri.reprojection_error
    used = np.isfinite(err)
    n_used = tri.n_cameras_used
    triangulated = np.isfinite(tri.xyz).all(axis=-1)
    cams = tri.cameras
    worst = np.max(np.where(used, err, -1.0), axis=0)
    return {
        "cameras": cams,
        "n_frames": int(tri.xyz.shape[0]),
        "points": int(triangulated.size),
        "points_triangulated": int(triangulated.sum()),
        "nan_points": {
            "fewer_than_2_valid_views": int((tri.valid_views.sum(axis=0) < 2).sum()),
            "degenerate": int(((tri.valid_views.sum(axis=0) >= 2) & ~triangulated).sum()),
        },
        "views_missing": {c: int((~views_finite[i]).sum()) for i, c in enumerate(cams)},
        "views_low_likelihood": {
            c: int((views_finite[i] & ~tri.valid_views[i]).sum()) for i, c in enumerate(cams)
        },
        "views_rejected_as_outliers": {
            c: int((tri.valid_views[i] & ~used[i] & triangulated).sum()) for i, c in enumerate(cams)
        },
        "threshold_px": threshold_px,
        "points_over_threshold": (
            None if threshold_px is None else int((worst > threshold_px).sum())
        ),
        "points_by_cameras_used": {
            str(k): int((n_used == k).sum()) for k in range(2, len(cams) + 1)
        },
        "reprojection_error_px": {
            "all": _stats(err),
            "per_camera": {c: _stats(err[i]) for i, c in enumerate(cams)},
            "per_keypoint": {k: _stats(err[:, :, j]) for j, k in enumerate(keypoints)},
            "per_camera_keypoint": {
                c: {k: _stats(err[i, :, j]) for j, k in enumerate(keypoints)}
                for i, c in enumerate(cams)
            },
        },
    }


def ray_angles(
    xyz: np.ndarray, used: np.ndarray, centres: np.ndarray, chunk: int = 8192
) -> np.ndarray:
    """Widest angle (degrees) between the rays of the cameras that triangulated each point.

    Parameters
    ----------
    xyz
        (T, K, 3) triangulated points.
    used
        (C, T, K) bool: the camera took part in the point's solution.
    centres
        (C, 3) camera centres, in the units of ``xyz``.
    chunk
        Frames per block (bounds memory for long sessions).

    Returns
    -------
    np.ndarray
        (T, K) float32 angles; NaN where fewer than two cameras were used. Nearly parallel rays
        (a small angle) leave the depth along them poorly determined.
    """
    n_t = xyz.shape[0]
    out = np.full(xyz.shape[:2], np.nan, dtype=np.float32)
    for start in range(0, n_t, chunk):
        sl = slice(start, start + chunk)
        x = xyz[sl]
        rays = x[None] - centres[:, None, None, :]  # (C, t, K, 3)
        rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
        best = np.full(x.shape[:2], -np.inf)
        for a in range(len(centres)):
            for b in range(a + 1, len(centres)):
                cos = np.clip(np.einsum("tki,tki->tk", rays[a], rays[b]), -1.0, 1.0)
                angle = np.degrees(np.arccos(cos))
                both = used[a, sl] & used[b, sl]
                best = np.where(both & (angle > best), angle, best)
        out[sl] = np.where(np.isfinite(best), best, np.nan)
    return out
