"""Robust, fast triangulation of 2D keypoints from any number (>= 2) of calibrated cameras.

Formulation (the anchor's, aniposelib 0.8.0, with two improvements):

- each view is undistorted to normalised coordinates, honouring the skew ``K[0, 1]`` that
  OpenCV ignores;
- each valid view adds two DLT rows ``x P3 - P1``, ``y P3 - P2`` (``P = [R | t]``), scaled by
  the view's likelihood (aniposelib ignores likelihood);
- the point is the unit-norm homogeneous solution (smallest eigenvector of AᵀA), not the
  X4 = 1 shortcut that drifts under noise;
- optional outlier rejection: a point whose worst view reprojects further than
  ``threshold_px`` is re-triangulated from the inliers of its best camera pair.

NaN policy: a view is *invalid* when its x or y or likelihood is NaN, or its likelihood is
below ``min_likelihood`` (or 0). A point with fewer than 2 valid views is NaN in 3D. Counts of
both, per camera and keypoint, are in :meth:`Triangulation.qc`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np

from brainbehave.calibration import Camera
from brainbehave.pose3d import kernels

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriangulationSettings:
    """How to triangulate.

    Parameters
    ----------
    min_likelihood
        Views below this likelihood are ignored (treated as missing).
    threshold_px
        Reprojection error (px) above which a point's views are re-examined by camera-pair
        subsets; None turns outlier rejection off.
    undistort_iterations
        Most Newton iterations of the undistortion; it stops once converged (3 on the virtual
        lab's lenses, k1 up to 0.19).
    eig_iterations
        Rayleigh-quotient iterations from the X4 = 1 solution to the unit-norm one.
    """

    min_likelihood: float = 0.5
    threshold_px: float | None = 15.0
    undistort_iterations: int = 20
    eig_iterations: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_likelihood <= 1.0:
            raise ValueError(f"min_likelihood must lie in [0, 1], got {self.min_likelihood}.")
        if self.threshold_px is not None and not self.threshold_px > 0:
            raise ValueError(f"threshold_px must be > 0 or None, got {self.threshold_px}.")
        if self.undistort_iterations < 1 or self.eig_iterations < 1:
            raise ValueError("undistort_iterations and eig_iterations must be >= 1.")


@dataclass
class Triangulation:
    """Result of :func:`triangulate` for C cameras, T frames, K keypoints.

    Attributes
    ----------
    xyz
        (T, K, 3) points in the calibration's units; NaN where not triangulated.
    reprojection_error
        (C, T, K) float32 px, per view that took part in the final solution (NaN otherwise).
    cameras_used
        (T, K) uint32 bitmask: bit c is set when camera ``cameras[c]`` took part.
    valid_views
        (C, T, K) bool: the view passed the NaN/likelihood test (before outlier rejection).
    confidence
        (T, K) mean likelihood of the views used (NaN where not triangulated).
    cameras
        Camera names, in bit order.
    """

    xyz: np.ndarray
    reprojection_error: np.ndarray
    cameras_used: np.ndarray
    valid_views: np.ndarray
    confidence: np.ndarray
    cameras: list[str]

    @property
    def mean_error(self) -> np.ndarray:
        """(T, K) mean reprojection error (px) over the views used."""
        err = self.reprojection_error
        n = np.isfinite(err).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, np.nansum(err, axis=0) / n, np.nan).astype(np.float32)

    @property
    def n_cameras_used(self) -> np.ndarray:
        """(T, K) number of cameras in the final solution."""
        bits = (self.cameras_used[..., None] >> np.arange(len(self.cameras), dtype=np.uint32)) & 1
        return bits.sum(axis=-1).astype(np.uint8)


def _check_arrays(points2d: np.ndarray, likelihood: np.ndarray | None, n_cam: int) -> np.ndarray:
    if points2d.ndim != 4 or points2d.shape[-1] != 2:
        raise ValueError(
            f"Expected 2D points of shape (cameras, frames, keypoints, 2), got {points2d.shape}."
        )
    if points2d.shape[0] != n_cam:
        raise ValueError(f"{points2d.shape[0]} cameras of 2D points but {n_cam} cameras given.")
    if not 2 <= n_cam <= kernels.MAX_CAMERAS:
        raise ValueError(f"Triangulation needs 2..{kernels.MAX_CAMERAS} cameras, got {n_cam}.")
    if likelihood is None:
        return np.ones((n_cam, 0, 0))  # the kernels read a zero-length likelihood as all ones
    likelihood = np.asarray(likelihood, dtype=np.float64)
    if likelihood.shape != points2d.shape[:3]:
        raise ValueError(
            f"Expected likelihood of shape {points2d.shape[:3]}, got {likelihood.shape}."
        )
    return likelihood


@contextmanager
def numba_threads(threads: int) -> Iterator[int]:
    """Run the kernels inside on ``threads`` numba threads (at most numba's pool size).

    Parameters
    ----------
    threads
        Wanted threads (a Snakemake rule's ``threads``); more than ``NUMBA_NUM_THREADS`` (by
        default the machine's cores) are capped there, with a warning.

    Yields
    ------
    int
        The threads actually used. The previous setting is restored on exit.
    """
    if int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}.")
    n = min(int(threads), numba.config.NUMBA_NUM_THREADS)
    if n < threads:
        logger.warning(
            "%d threads asked for triangulation but numba has %d (NUMBA_NUM_THREADS); using %d.",
            threads,
            numba.config.NUMBA_NUM_THREADS,
            n,
        )
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)


def triangulate(
    points2d: np.ndarray,
    likelihood: np.ndarray | None,
    cameras: Sequence[Camera],
    settings: TriangulationSettings = TriangulationSettings(),
    *,
    threads: int = 1,
) -> Triangulation:
    """Triangulate 2D keypoints seen by several calibrated cameras.

    Parameters
    ----------
    points2d
        (C, T, K, 2) distorted pixel coordinates per camera; NaN marks a missing view.
    likelihood
        (C, T, K) in [0, 1], or None for all ones.
    cameras
        The C cameras, in the order of ``points2d``.
    settings
        See :class:`TriangulationSettings`.
    threads
        Threads of the compiled kernels (parallel over chunks of points); the result does not
        depend on it.

    Returns
    -------
    Triangulation
    """
    t0 = time.perf_counter()
    points2d = np.asarray(points2d, dtype=np.float64)
    likelihood = _check_arrays(points2d, likelihood, len(cameras))
    n_cam, n_t, n_k, _ = points2d.shape
    pts = np.ascontiguousarray(points2d.reshape(n_cam, n_t * n_k, 2))
    lik = np.ascontiguousarray(likelihood.reshape(n_cam, -1))  # (C, 0) when None
    cams = kernels.pack_cameras(cameras)
    n = n_t * n_k
    xyz = np.empty((n, 3))
    err = np.empty((n_cam, n), dtype=np.float32)
    used = np.empty(n, dtype=np.uint32)
    nviews = np.empty(n, dtype=np.uint8)
    valid = np.empty((n_cam, n), dtype=np.bool_)
    conf = np.empty(n)
    worst = np.empty(n, dtype=np.float32)
    s = settings
    args = (pts, lik, cams, float(s.min_likelihood), s.undistort_iterations, s.eig_iterations)
    n_refined = 0
    with numba_threads(threads) as n_threads:
        kernels.solve_all(*args, xyz, err, used, nviews, valid, conf, worst)
        if s.threshold_px is not None:
            idx = np.flatnonzero((worst > s.threshold_px) & (nviews > 2)).astype(np.int64)
            n_refined = idx.size
            kernels.refine_subsets(*args, float(s.threshold_px), idx, xyz, err, used, conf)
    logger.info(
        "Triangulated %d points from %d cameras in %.2f s on %d threads "
        "(%d re-examined by camera subsets)",
        n,
        n_cam,
        time.perf_counter() - t0,
        n_threads,
        n_refined,
    )
    return Triangulation(
        xyz=xyz.reshape(n_t, n_k, 3),
        reprojection_error=err.reshape(n_cam, n_t, n_k),
        cameras_used=used.reshape(n_t, n_k),
        valid_views=valid.reshape(n_cam, n_t, n_k),
        confidence=conf.reshape(n_t, n_k),
        cameras=[c.name for c in cameras],
    )
