"""Virtual-lab sessions for the behaviour benchmarks (no video rendering: motion only).

``simulate_motion`` is the code that fills ``truth.h5`` (behaviour + 3D body), so its labels
and pose are the ground truth of a virtual-lab session without the cost of the renderer.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbehave.pose import pose_dataset
from brainbehave.synth.behaviour import ACTIONS, ACTIVITIES, PRIMITIVES
from brainbehave.synth.cohort import simulate_motion
from brainbehave.synth.settings import SynthSettings
from brainbehave.synth.skeleton import KEYPOINTS

NAMES = {"activity": ACTIVITIES, "action": ACTIONS, "primitive": PRIMITIVES}


def sessions(
    n_sessions: int, duration_s: float, noise_mm: float = 0.0, seed: int = 0, offset: int = 0
) -> list[tuple[xr.Dataset, dict[str, np.ndarray]]]:
    """(pose dataset, {level: true label names}) of ``n_sessions`` virtual-lab sessions."""
    settings = SynthSettings(seed=seed, duration_s=duration_s)
    out = []
    for k in range(offset, offset + n_sessions):
        motion = simulate_motion(settings, settings.n_frames, k // 2, k % 2)
        xyz = motion.body.keypoints
        if noise_mm > 0:
            xyz = xyz + np.random.default_rng(k).normal(0.0, noise_mm, xyz.shape)
        ds = pose_dataset(
            xyz,
            None,
            KEYPOINTS,
            settings.fps,
            source_software="virtual lab truth",
            units="mm",
            subject=f"rat{k // 2 + 1:02d}",
            session=f"ses{k % 2 + 1:02d}",
        )
        b = motion.behaviour
        labels = {
            "activity": np.asarray(ACTIVITIES)[b.activity],
            "action": np.asarray(ACTIONS)[b.action],
            "primitive": np.asarray(PRIMITIVES)[b.primitive],
        }
        out.append((ds, labels))
    return out
