"""The virtual lab's camera rig."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.synth.arena import Arena
from brainbehave.synth.rig import make_rig

SIZE = (256, 192)


def floor_corners(arena: Arena, z: float = 0.0) -> np.ndarray:
    h = arena.half
    return np.array([[h, h, z], [h, -h, z], [-h, -h, z], [-h, h, z]])


def assert_inside(uv: np.ndarray, size: tuple[int, int]) -> None:
    assert np.isfinite(uv).all()
    assert (uv[:, 0] >= 0).all() and (uv[:, 0] <= size[0] - 1).all()
    assert (uv[:, 1] >= 0).all() and (uv[:, 1] <= size[1] - 1).all()


@pytest.mark.parametrize("n_cameras", [1, 3, 8])
def test_whole_floor_in_every_image(n_cameras: int) -> None:
    arena = Arena()
    cams = make_rig(n_cameras, SIZE, arena, np.random.default_rng(n_cameras))
    assert [c.name for c in cams] == [f"cam{chr(65 + i)}" for i in range(n_cameras)]
    for cam in cams:
        assert cam.size == SIZE
        assert_inside(cam.project(floor_corners(arena)), SIZE)
        assert_inside(cam.project(floor_corners(arena, 50.0)), SIZE)
        assert abs(cam.matrix[0, 2] - SIZE[0] / 2) < 0.05 * SIZE[0]
        assert cam.matrix[0, 1] == 0.0
        assert np.abs(cam.dist).max() < 1.0


def test_points_above_arena_are_in_front_of_every_camera() -> None:
    arena = Arena()
    rng = np.random.default_rng(0)
    points = np.column_stack(
        [rng.uniform(-arena.half, arena.half, (200, 2)), rng.uniform(0, 150, 200)]
    )
    for cam in make_rig(4, SIZE, arena, rng):
        assert (cam.depth(points) > 300).all()
        # the camera stands outside the arena, above it
        assert np.abs(cam.center[:2]).max() > arena.half and cam.center[2] > 300


def test_cameras_surround_the_arena() -> None:
    cams = make_rig(4, SIZE, Arena(), np.random.default_rng(1))
    azimuths = np.sort([np.arctan2(c.center[1], c.center[0]) for c in cams])
    gaps = np.diff(np.r_[azimuths, azimuths[0] + 2 * np.pi])
    np.testing.assert_allclose(gaps, np.pi / 2, atol=1e-9)


def test_jitter_moves_cameras_a_little_and_keeps_floor_in_view() -> None:
    arena = Arena()
    base = make_rig(
        3,
        SIZE,
        arena,
        np.random.default_rng(2),
        jitter_mm=5.0,
        jitter_deg=1.0,
        jitter_rng=np.random.default_rng(10),
    )
    other = make_rig(
        3,
        SIZE,
        arena,
        np.random.default_rng(2),
        jitter_mm=5.0,
        jitter_deg=1.0,
        jitter_rng=np.random.default_rng(11),
    )
    for a, b in zip(base, other, strict=True):
        np.testing.assert_array_equal(a.matrix, b.matrix)  # same lenses
        np.testing.assert_array_equal(a.dist, b.dist)
        moved = np.linalg.norm(a.center - b.center)
        assert 0.1 < moved < 60.0
        assert_inside(b.project(floor_corners(arena)), SIZE)


def test_same_seed_same_rig() -> None:
    a = make_rig(2, SIZE, Arena(), np.random.default_rng(3))
    b = make_rig(2, SIZE, Arena(), np.random.default_rng(3))
    assert a == b


@pytest.mark.parametrize("n_cameras", [0, 9])
def test_refuses_bad_camera_count(n_cameras: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 8"):
        make_rig(n_cameras, SIZE, Arena(), np.random.default_rng(0))


def test_refuses_negative_jitter() -> None:
    with pytest.raises(ValueError, match="Jitter must be >= 0"):
        make_rig(2, SIZE, Arena(), np.random.default_rng(0), jitter_mm=-1.0)
