"""The arena the virtual animal moves in (world frame, millimetres).

World frame: x, y on the floor, z up; the floor is the plane z = 0 and the arena is a
square centred on the origin. An optional cylindrical object stands in the arena; it
occludes the animal from some cameras and the animal walks around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Arena:
    """A square open field with one cylindrical object.

    Parameters
    ----------
    size_mm
        Side of the square floor; the floor spans [-size/2, size/2] in x and y.
    wall_height_mm
        Height of the walls (rendered, not collided with above the floor).
    object_xy_mm
        Centre of the cylindrical object on the floor, or None for no object.
    object_radius_mm, object_height_mm
        Size of the object.
    """

    size_mm: float = 600.0
    wall_height_mm: float = 150.0
    object_xy_mm: tuple[float, float] | None = (140.0, -120.0)
    object_radius_mm: float = 35.0
    object_height_mm: float = 110.0

    @property
    def half(self) -> float:
        """Half the side of the floor."""
        return self.size_mm / 2.0

    def inside(self, xy: np.ndarray, margin_mm: float = 0.0) -> np.ndarray:
        """Whether points (..., 2) lie on the floor at least `margin_mm` from the walls
        and outside the object (grown by the same margin)."""
        xy = np.asarray(xy, dtype=float)
        ok = np.all(np.abs(xy) <= self.half - margin_mm, axis=-1)
        if self.object_xy_mm is not None:
            d = np.linalg.norm(xy - np.asarray(self.object_xy_mm), axis=-1)
            ok &= d >= self.object_radius_mm + margin_mm
        return ok
