"""Virtual-lab pose and labels for the behaviour tests (motion only: no video rendering)."""

from __future__ import annotations

import numpy as np

from brainbehave.pose import pose_dataset
from brainbehave.synth.behaviour import ACTIONS, ACTIVITIES
from brainbehave.synth.cohort import simulate_motion
from brainbehave.synth.settings import SynthSettings
from brainbehave.synth.skeleton import KEYPOINTS


def lab_session(duration_s: float, key: int = 0, noise_mm: float = 0.0):
    """(pose dataset, true action names, true activity names) of a virtual-lab recording."""
    settings = SynthSettings(seed=1, duration_s=duration_s)
    motion = simulate_motion(settings, settings.n_frames, 0, key)
    xyz = motion.body.keypoints
    if noise_mm:
        xyz = xyz + np.random.default_rng(key).normal(0, noise_mm, xyz.shape)
    ds = pose_dataset(
        xyz,
        None,
        KEYPOINTS,
        30.0,
        source_software="test",
        units="mm",
        subject="rat01",
        session=f"ses{key + 1:02d}",
    )
    b = motion.behaviour
    return ds, np.asarray(ACTIONS)[b.action], np.asarray(ACTIVITIES)[b.activity]
