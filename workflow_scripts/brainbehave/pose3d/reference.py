"""Plain-numpy triangulation: the slow, readable oracle the compiled kernels are tested against.

Same formulation as :mod:`brainbehave.pose3d.kernels` (skew-aware undistortion by
`Camera.undistort_points`, likelihood-weighted DLT rows on normalised coordinates, unit-norm
homogeneous solution by ``np.linalg.eigh``, pair-subset outlier rejection), written with
batched numpy and no numba, so a disagreement points at the kernel.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from brainbehave.calibration import Camera


def view_weights(points: np.ndarray, likelihood: np.ndarray, min_likelihood: float) -> np.ndarray:
    """(C, N) weights: the likelihood of valid views, 0 for missing or unlikely ones."""
    ok = np.isfinite(points).all(axis=-1) & np.isfinite(likelihood)
    ok &= (likelihood >= min_likelihood) & (likelihood > 0)
    return np.where(ok, likelihood, 0.0)


def normal_matrices(cameras: Sequence[Camera], xn: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(N, 4, 4) DLT normal matrices AᵀA from normalised views xn (C, N, 2), weights (C, N)."""
    m = np.zeros((xn.shape[1], 4, 4))
    for c, cam in enumerate(cameras):
        pose = np.hstack([cam.rotation_matrix, cam.tvec[:, None]])
        x = np.nan_to_num(xn[c])
        for row in range(2):
            a = w[c, :, None] * (x[:, row, None] * pose[2] - pose[row])
            m += a[:, :, None] * a[:, None, :]
    return m


def solve_homogeneous(m: np.ndarray) -> np.ndarray:
    """(N, 3) points from the unit eigenvector of the smallest eigenvalue of each (4, 4)."""
    _, vecs = np.linalg.eigh(m)
    v = vecs[:, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return v[:, :3] / v[:, 3:]


def reprojection_errors(
    cameras: Sequence[Camera], xyz: np.ndarray, points: np.ndarray, used: np.ndarray
) -> np.ndarray:
    """(C, N) pixel distance between each used view and the projection of xyz (NaN if unused)."""
    err = np.stack(
        [np.linalg.norm(cam.project(xyz) - points[c], axis=-1) for c, cam in enumerate(cameras)]
    )
    return np.where(used, err, np.nan)


def triangulate_reference(
    points: np.ndarray,
    likelihood: np.ndarray,
    cameras: Sequence[Camera],
    min_likelihood: float = 0.0,
    threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangulate (C, N, 2) views; return xyz (N, 3), errors (C, N) and used views (C, N)."""
    w = view_weights(points, likelihood, min_likelihood)
    valid = w > 0
    xn = np.stack([cam.undistort_points(points[c]) for c, cam in enumerate(cameras)])
    xyz = solve_homogeneous(normal_matrices(cameras, xn, w))
    enough = valid.sum(axis=0) >= 2
    xyz[~enough] = np.nan
    used = valid & enough
    err = reprojection_errors(cameras, xyz, points, used)
    if threshold is None:
        return xyz, err, used
    flagged = np.flatnonzero(
        (np.nanmax(np.where(valid, err, -1.0), axis=0) > threshold) & (valid.sum(axis=0) > 2)
    )
    best_mask = np.zeros((len(cameras), flagged.size), dtype=bool)
    best_count = np.zeros(flagged.size, dtype=int)
    best_sum = np.full(flagged.size, np.inf)
    vf, wf, xf, pf = valid[:, flagged], w[:, flagged], xn[:, flagged], points[:, flagged]
    for a, b in itertools.combinations(range(len(cameras)), 2):
        pair_w = np.zeros_like(wf)
        pair_w[[a, b]] = wf[[a, b]]
        pair_xyz = solve_homogeneous(normal_matrices(cameras, xf, pair_w))
        e = reprojection_errors(cameras, pair_xyz, pf, vf)
        inlier = vf & (e < threshold)
        count, total = inlier.sum(axis=0), np.where(inlier, e, 0.0).sum(axis=0)
        better = inlier[a] & inlier[b] & vf[a] & vf[b]
        better &= (count > best_count) | ((count == best_count) & (total < best_sum))
        best_mask[:, better] = inlier[:, better]
        best_count[better], best_sum[better] = count[better], total[better]
    keep = best_count >= 2
    sel = flagged[keep]
    new_w = np.where(best_mask[:, keep], wf[:, keep], 0.0)
    xyz[sel] = solve_homogeneous(normal_matrices(cameras, xf[:, keep], new_w))
    used[:, sel] = best_mask[:, keep]
    err[:, sel] = reprojection_errors(cameras, xyz[sel], points[:, sel], used[:, sel])
    return xyz, err, used
