"""Triangulation error (mm) against the virtual lab's 3D truth, by 2D noise, cameras, outliers.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pose3d_accuracy.py --seconds 60

For each rig (camera count x image size) and 2D noise level it triangulates one session of
virtual-lab motion (12 keypoints) and prints one JSON line: median / p95 error in mm for plain
DLT, and, with 5 % of the views made outliers (20-80 px off) and 5 % missing, with and without
outlier rejection.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from brainbehave.pose3d import TriangulationSettings, triangulate
from brainbehave.synth.cohort import session_rig, simulate_motion
from brainbehave.synth.settings import SynthSettings

PLAIN = TriangulationSettings(min_likelihood=0.0, threshold_px=None)


def corrupt(uv: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """Move a fraction of views 20-80 px in a random direction; drop as many (NaN)."""
    uv = uv.copy()
    n_views = uv.shape[:3]
    out = rng.random(n_views) < fraction
    angle = rng.uniform(0, 2 * np.pi, n_views)
    dist = rng.uniform(20, 80, n_views)
    shift = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * dist[..., None]
    uv[out] += shift[out]
    uv[rng.random(n_views) < fraction] = np.nan
    return uv


def stats(xyz: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    err = np.linalg.norm(xyz - truth, axis=-1)
    err = err[np.isfinite(err)]
    return {
        "median_mm": round(float(np.median(err)), 3),
        "p95_mm": round(float(np.percentile(err, 95)), 3),
    }


def run(n_cameras: int, size: tuple[int, int], noise: float, seconds: float, seed: int) -> dict:
    settings = SynthSettings(cameras=n_cameras, image_size=size, duration_s=seconds)
    cameras = session_rig(settings, "rat01", "ses01")
    truth = simulate_motion(settings, settings.n_frames, 1, 1).body.keypoints
    rng = np.random.default_rng(seed)
    uv = np.stack([cam.project(truth) for cam in cameras])
    uv = uv + rng.normal(0.0, noise, uv.shape)
    bad = corrupt(uv, rng, 0.05)
    focal = float(np.mean([cam.matrix[0, 0] for cam in cameras]))
    return {
        "cameras": n_cameras,
        "image": list(size),
        "focal_px": round(focal, 1),
        "noise_px": noise,
        "clean": stats(triangulate(uv, None, cameras, PLAIN).xyz, truth),
        "outliers_no_rejection": stats(triangulate(bad, None, cameras, PLAIN).xyz, truth),
        "outliers_rejection_15px": stats(
            triangulate(bad, None, cameras, TriangulationSettings(min_likelihood=0.0)).xyz, truth
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for n_cameras, size in [(3, (1280, 960)), (6, (1280, 960)), (3, (256, 192))]:
        for noise in (1.0, 2.0, 5.0):
            print(json.dumps(run(n_cameras, size, noise, args.seconds, args.seed)), flush=True)


if __name__ == "__main__":
    main()
