"""Fixtures of the pose3d tests."""

from __future__ import annotations

import pytest
from pose3d_scenes import Scene, make_scene


@pytest.fixture(scope="session")
def scene() -> Scene:
    """Four cameras (1280x960), two seconds of virtual-lab motion, exact projections."""
    return make_scene()
