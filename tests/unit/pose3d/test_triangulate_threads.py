"""The parallel kernels: same result on 1 and 2 threads; the threads setting; undistortion."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest
from pose3d_scenes import make_scene

from brainbehave.calibration import Camera
from brainbehave.pose3d import TriangulationSettings, kernels, triangulate
from brainbehave.pose3d.triangulation import numba_threads

FIELDS = ("xyz", "reprojection_error", "cameras_used", "valid_views", "confidence")


def _spread_points(cameras: list[Camera], n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """n points over the arena as (C, n, 1, 2) noisy views with outliers, NaNs, likelihoods."""
    rng = np.random.default_rng(seed)
    xyz = np.column_stack([rng.uniform(-250, 250, (n, 2)), rng.uniform(0, 120, n)])
    uv = np.stack([cam.project(xyz) for cam in cameras])[:, :, None, :]
    uv += rng.normal(0.0, 2.0, uv.shape)
    uv[1, ::9, 0, 0] += 70.0  # outliers: re-examined by camera subsets
    uv[0, ::13, 0] = np.nan  # missing views
    lik = rng.uniform(0.2, 1.0, uv.shape[:3])
    return xyz, uv, lik


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has a single thread")
def test_two_threads_give_the_same_result_as_one() -> None:
    cameras = make_scene(n_cameras=4, seconds=0.2).cameras
    n = 2 * kernels.CHUNK + 1000  # three chunks: both threads get work
    xyz, uv, lik = _spread_points(cameras, n)
    s = TriangulationSettings(min_likelihood=0.3, threshold_px=12.0)
    one = triangulate(uv, lik, cameras, s, threads=1)
    two = triangulate(uv, lik, cameras, s, threads=2)
    for field in FIELDS:  # bit for bit, NaNs in the same places
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field), err_msg=field)
    refined = ~((one.cameras_used >> 1) & 1).astype(bool)[::9, 0]
    assert refined.mean() > 0.9  # the outlier view of camera 1 was dropped (subsets ran)
    err = np.linalg.norm(two.xyz[:, 0] - xyz, axis=1)
    assert np.nanmedian(err) < 3.0  # mm (2 px noise, views dropped): a real triangulation


def test_missing_likelihood_equals_likelihood_of_ones() -> None:
    scene = make_scene(n_cameras=3, seconds=0.5)
    uv = scene.noisy(2.0)
    uv[2, ::4, 1] += 50.0
    s = TriangulationSettings(min_likelihood=0.5, threshold_px=10.0)
    none = triangulate(uv, None, scene.cameras, s)
    ones = triangulate(uv, np.ones(uv.shape[:3]), scene.cameras, s)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(none, field), getattr(ones, field), err_msg=field)
    assert (none.confidence == 1.0).all()


def test_newton_undistortion_is_exact_under_strong_distortion() -> None:
    scene = make_scene(n_cameras=3, seconds=0.5)
    dist = np.array([-0.35, 0.12, 0.002, -0.003, -0.02])  # strong barrel, tangential, k3
    cameras = [dataclasses.replace(c, dist=dist) for c in scene.cameras]
    uv = np.stack([cam.project(scene.xyz) for cam in cameras])
    tri = triangulate(uv, None, cameras, TriangulationSettings(threshold_px=None))
    assert np.nanmax(np.linalg.norm(tri.xyz - scene.xyz, axis=-1)) < 1e-6  # mm
    assert np.nanmax(tri.reprojection_error) < 1e-5  # px


def test_numba_threads_sets_caps_and_restores() -> None:
    before = numba.get_num_threads()
    with numba_threads(1) as used:
        assert used == 1 and numba.get_num_threads() == 1
    with numba_threads(10_000) as used:  # more than the pool: capped, not an error
        assert used == numba.config.NUMBA_NUM_THREADS
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
        with numba_threads(0):
            pass
