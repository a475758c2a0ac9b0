"""Triangulation throughput and accuracy: brainbehave.pose3d against aniposelib, same data, one run.

aniposelib 0.8.0 (JAX) changes opencv in the project's environment, so it lives in its own venv
(``--anipose-python``); both read the same saved arrays and calibration.toml.

    python -m venv /tmp/anipose-venv && /tmp/anipose-venv/bin/pip install aniposelib==0.8.0
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pose3d_speed.py --frames 100000 --keypoints 22

Prints one JSON line per method: points/s (wall and CPU), median error vs truth (mm), and the
speed ratio. Warm-up calls (numba cache load, JAX JIT) are excluded from the timings.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from brainbehave.calibration import write_calibration
from brainbehave.pose3d import TriangulationSettings, triangulate
from brainbehave.synth.cohort import session_rig
from brainbehave.synth.settings import SynthSettings

logger = logging.getLogger("pose3d_speed")

ANIPOSE = """
import json, sys, time
import numpy as np
from aniposelib.cameras import CameraGroup
import aniposelib
d = sys.argv[1]
cg = CameraGroup.load(d + "/calibration.toml")
pts = np.load(d + "/points.npy")
cg.triangulate(pts[:, :1000])  # JIT warm-up
w, c = time.perf_counter(), time.process_time()
out = cg.triangulate(pts)
w, c = time.perf_counter() - w, time.process_time() - c
np.save(d + "/anipose_xyz.npy", out)
print(json.dumps({"version": aniposelib.__version__, "wall_s": w, "cpu_s": c}))
"""


def make_data(n_frames: int, n_keypoints: int, n_cameras: int, noise_px: float, seed: int):
    """Points spread over the virtual arena, projected by the virtual rig, plus pixel noise."""
    settings = SynthSettings(cameras=n_cameras, image_size=(1280, 960))
    cameras = session_rig(settings, "rat01", "ses01")
    rng = np.random.default_rng(seed)
    xyz = np.empty((n_frames * n_keypoints, 3))
    xyz[:, :2] = rng.uniform(-250, 250, (xyz.shape[0], 2))
    xyz[:, 2] = rng.uniform(0, 120, xyz.shape[0])
    uv = np.stack([cam.project(xyz) for cam in cameras])
    uv += rng.normal(0.0, noise_px, uv.shape)
    return cameras, xyz, uv


def time_ours(
    cameras, uv, settings: TriangulationSettings, repeats: int
) -> tuple[dict, np.ndarray]:
    pts = uv[:, :, None, :]  # (C, N, 1, 2): one keypoint per "frame"
    triangulate(pts[:, :1000], None, cameras, settings)  # numba cache load / compile
    best_w, best_c = np.inf, np.inf
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        tri = triangulate(pts, None, cameras, settings)
        best_w = min(best_w, time.perf_counter() - w)
        best_c = min(best_c, time.process_time() - c)
    return {"wall_s": best_w, "cpu_s": best_c}, tri.xyz[:, 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--keypoints", type=int, default=22)
    ap.add_argument("--cameras", type=int, default=6)
    ap.add_argument("--noise-px", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--anipose-python", default="/tmp/anipose-venv/bin/python")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cameras, xyz, uv = make_data(args.frames, args.keypoints, args.cameras, args.noise_px, 0)
    n = xyz.shape[0]
    results = {}
    for name, settings in {
        "brainbehave": TriangulationSettings(min_likelihood=0.0, threshold_px=None),
        "brainbehave+outlier_check": TriangulationSettings(min_likelihood=0.0, threshold_px=15.0),
    }.items():
        timing, ours = time_ours(cameras, uv, settings, args.repeats)
        err = np.linalg.norm(ours - xyz, axis=1)
        results[name] = {**timing, "median_mm": float(np.median(err)), "xyz": ours}
    with tempfile.TemporaryDirectory() as tmp:
        write_calibration(Path(tmp) / "calibration.toml", cameras)
        np.save(Path(tmp) / "points.npy", uv)
        run = subprocess.run(
            [args.anipose_python, "-c", ANIPOSE, tmp], capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            raise RuntimeError(f"aniposelib run failed:\n{run.stderr[-3000:]}")
        anipose = json.loads(run.stdout.strip().splitlines()[-1])
        a_xyz = np.load(Path(tmp) / "anipose_xyz.npy")
    anipose["median_mm"] = float(np.median(np.linalg.norm(a_xyz - xyz, axis=1)))
    base = n / anipose["wall_s"]
    print(json.dumps({"aniposelib " + anipose.pop("version"): {**anipose, "points_per_s": base}}))
    for name, r in results.items():
        diff = float(np.nanmax(np.linalg.norm(r.pop("xyz") - a_xyz, axis=1)))
        rate = n / r["wall_s"]
        summary = {
            **r,
            "points_per_s": rate,
            "x_aniposelib_wall": rate / base,
            "x_aniposelib_cpu": anipose["cpu_s"] / r["cpu_s"],
            "max_diff_to_aniposelib_mm": diff,
        }
        print(json.dumps({name: summary}))
    print(json.dumps({"points": n, "cameras": args.cameras, "noise_px": args.noise_px}))


if __name__ == "__main__":
    main()
