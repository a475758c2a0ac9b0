"""Triangulation throughput and accuracy: brainbehave.pose3d against aniposelib, same data, one run.

aniposelib 0.8.0 (JAX) changes opencv in the project's environment, so it lives in its own venv
(``--anipose-python``); both read the same saved arrays and calibration.toml.

    python -m venv /tmp/anipose-venv && /tmp/anipose-venv/bin/pip install aniposelib==0.8.0
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pose3d_speed.py --frames 100000 --keypoints 22

Each repeat times brainbehave on 1 thread and on ``--threads`` threads, then aniposelib (a fresh
process, JIT warm-up excluded), so the ratios of one repeat share the machine's load. JAX uses
every core it finds, so aniposelib's CPU seconds are reported too and the ratio is given per
wall second and per CPU second (``x_aniposelib_cpu``: aniposelib CPU s / ours). Prints one JSON
line per method: wall and CPU seconds of each repeat (CPU = user + sys; sys_s, the kernel's
share, is mostly page faults of fresh output memory and spikes on a loaded machine), points/s,
min/median ratios, median error vs truth (mm) and the largest difference to aniposelib's points.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from brainbehave.calibration import write_calibration
from brainbehave.pose3d import TriangulationSettings, triangulate
from brainbehave.synth.cohort import session_rig
from brainbehave.synth.settings import SynthSettings

logger = logging.getLogger("pose3d_speed")

ANIPOSE = """
import json, resource, sys, time
import numpy as np
from aniposelib.cameras import CameraGroup
import aniposelib
d = sys.argv[1]
cg = CameraGroup.load(d + "/calibration.toml")
pts = np.load(d + "/points.npy")
cg.triangulate(pts[:, :1000])  # JIT warm-up
w, c, s = time.perf_counter(), time.process_time(), resource.getrusage(0).ru_stime
out = cg.triangulate(pts)
w, c = time.perf_counter() - w, time.process_time() - c
cpu, sys_s = c, resource.getrusage(0).ru_stime - s
np.save(d + "/anipose_xyz.npy", out)
print(json.dumps({"version": aniposelib.__version__, "wall_s": w, "cpu_s": cpu, "sys_s": sys_s}))
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
    cameras, uv, settings: TriangulationSettings, threads: int
) -> tuple[dict, np.ndarray]:
    """Wall and CPU seconds (all threads; sys_s: the kernel's share) of one triangulation."""
    pts = uv[:, :, None, :]  # (C, N, 1, 2): one keypoint per "frame"
    w, c, s = time.perf_counter(), time.process_time(), resource.getrusage(0).ru_stime
    tri = triangulate(pts, None, cameras, settings, threads=threads)
    w, c = time.perf_counter() - w, time.process_time() - c
    cpu, sys_s = c, resource.getrusage(0).ru_stime - s
    return {"wall_s": w, "cpu_s": cpu, "sys_s": sys_s}, tri.xyz[:, 0]


def time_anipose(python: str, folder: str) -> tuple[dict, np.ndarray]:
    """One aniposelib run in its own process (JIT warm-up excluded)."""
    run = subprocess.run(
        [python, "-c", ANIPOSE, folder], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        raise RuntimeError(f"aniposelib run failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1]), np.load(
        Path(folder) / "anipose_xyz.npy"
    )


def _spread(values: list[float]) -> dict:
    return {"min": min(values), "median": float(np.median(values)), "max": max(values)}


def summarise(runs: list[dict], anipose: list[dict], n: int, truth, ours, a_xyz) -> dict:
    """Per-repeat ratios (same repeat, same load) and accuracy of one method."""
    wall = [r["wall_s"] for r in runs]
    cpu = [r["cpu_s"] for r in runs]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "sys_s": [r["sys_s"] for r in runs],
        "points_per_s_median": n / float(np.median(wall)),
        "x_aniposelib_wall": _spread([a["wall_s"] / w for a, w in zip(anipose, wall, strict=True)]),
        "x_aniposelib_cpu": _spread([a["cpu_s"] / c for a, c in zip(anipose, cpu, strict=True)]),
        # user CPU only: leaves out the kernel's page-fault time, which spikes under load
        "x_aniposelib_user_cpu": _spread(
            [
                (a["cpu_s"] - a["sys_s"]) / (r["cpu_s"] - r["sys_s"])
                for a, r in zip(anipose, runs, strict=True)
            ]
        ),
        "median_mm": float(np.median(np.linalg.norm(ours - truth, axis=1))),
        "max_diff_to_aniposelib_mm": float(np.nanmax(np.linalg.norm(ours - a_xyz, axis=1))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--keypoints", type=int, default=22)
    ap.add_argument("--cameras", type=int, default=6)
    ap.add_argument("--noise-px", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    ap.add_argument("--anipose-python", default="/tmp/anipose-venv/bin/python")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cameras, xyz, uv = make_data(args.frames, args.keypoints, args.cameras, args.noise_px, 0)
    n = xyz.shape[0]
    methods = {
        "brainbehave": TriangulationSettings(min_likelihood=0.0, threshold_px=None),
        "brainbehave+outlier_check": TriangulationSettings(min_likelihood=0.0, threshold_px=15.0),
    }
    threads = sorted({1, args.threads})
    for settings in methods.values():  # numba cache load / compile, outside the timings
        triangulate(uv[:, :1000, None, :], None, cameras, settings)
    runs = {(m, t): [] for m in methods for t in threads}
    points, anipose = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        write_calibration(Path(tmp) / "calibration.toml", cameras)
        np.save(Path(tmp) / "points.npy", uv)
        for _ in range(args.repeats):
            for (name, t), timings in runs.items():
                timing, points[name] = time_ours(cameras, uv, methods[name], t)
                timings.append(timing)
            timing, a_xyz = time_anipose(args.anipose_python, tmp)
            anipose.append(timing)
    version = anipose[0]["version"]
    a_wall, a_cpu = [a["wall_s"] for a in anipose], [a["cpu_s"] for a in anipose]
    a_err = float(np.median(np.linalg.norm(a_xyz - xyz, axis=1)))
    print(
        json.dumps(
            {
                f"aniposelib {version}": {
                    "wall_s": a_wall,
                    "cpu_s": a_cpu,
                    "sys_s": [a["sys_s"] for a in anipose],
                    "points_per_s_median": n / float(np.median(a_wall)),
                    "median_mm": a_err,
                }
            }
        )
    )
    for (name, t), timings in runs.items():
        summary = summarise(timings, anipose, n, xyz, points[name], a_xyz)
        print(json.dumps({f"{name} threads={t}": summary}))
    print(
        json.dumps(
            {
                "points": n,
                "cameras": args.cameras,
                "noise_px": args.noise_px,
                "repeats": args.repeats,
                "numba_threading_layer": numba.threading_layer(),
            }
        )
    )


if __name__ == "__main__":
    main()
