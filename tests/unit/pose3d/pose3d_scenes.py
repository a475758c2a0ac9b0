"""Synthetic rigs and motion with exact 3D truth (virtual lab, no rendering: milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainbehave.calibration import Camera
from brainbehave.synth.cohort import session_rig, simulate_motion
from brainbehave.synth.settings import SynthSettings


@dataclass
class Scene:
    """Cameras, true 3D (T, K, 3) and exact 2D projections (C, T, K, 2)."""

    cameras: list[Camera]
    xyz: np.ndarray
    uv: np.ndarray

    def noisy(self, sd_px: float, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return self.uv + rng.normal(0.0, sd_px, self.uv.shape)


def make_scene(n_cameras: int = 4, seconds: float = 2.0, skew: float = 0.0) -> Scene:
    settings = SynthSettings(cameras=n_cameras, image_size=(1280, 960), duration_s=seconds)
    cameras = session_rig(settings, "rat01", "ses01")
    if skew:
        cameras = [
            Camera(
                c.name,
                c.size,
                c.matrix + np.array([[0, skew, 0], [0, 0, 0], [0, 0, 0]]),
                c.dist,
                c.rvec,
                c.tvec,
            )
            for c in cameras
        ]
    xyz = simulate_motion(settings, settings.n_frames, 1, 1).body.keypoints
    uv = np.stack([cam.project(xyz) for cam in cameras])
    return Scene(cameras, xyz, uv)
