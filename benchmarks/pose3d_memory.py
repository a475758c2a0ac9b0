"""Peak memory of triangulating 1 h at 30 fps, 20 keypoints, 6 cameras (synthetic arrays).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pose3d_memory.py --minutes 60

Inputs are made first (float64 pixels + likelihood: what the 2D pose files hold in memory);
a sampler thread then records the process's resident memory while `triangulate` and the QC
summary run. Prints the input size, the peak above the inputs, and the time taken.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import numpy as np

from brainbehave.pose3d import TriangulationSettings, triangulate
from brainbehave.pose3d.qc import triangulation_qc
from brainbehave.synth.cohort import session_rig
from brainbehave.synth.settings import SynthSettings


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


class PeakSampler(threading.Thread):
    """Samples resident memory every 5 ms until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.005)


def make_inputs(
    n_frames: int, n_keypoints: int, n_cameras: int
) -> tuple[list, np.ndarray, np.ndarray]:
    cameras = session_rig(
        SynthSettings(cameras=n_cameras, image_size=(1280, 960)), "rat01", "ses01"
    )
    rng = np.random.default_rng(0)
    uv = np.empty((n_cameras, n_frames, n_keypoints, 2))
    for start in range(0, n_frames, 10_000):  # in chunks: keep the generator's own peak low
        stop = min(start + 10_000, n_frames)
        xyz = rng.uniform(-200, 200, (stop - start, n_keypoints, 3))
        xyz[..., 2] = np.abs(xyz[..., 2]) / 2
        for c, cam in enumerate(cameras):
            uv[c, start:stop] = cam.project(xyz) + rng.normal(
                0, 2.0, (stop - start, n_keypoints, 2)
            )
    lik = rng.uniform(0.3, 1.0, uv.shape[:3])
    return cameras, uv, lik


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--keypoints", type=int, default=20)
    ap.add_argument("--cameras", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1, help="numba threads of the kernels")
    args = ap.parse_args()
    n_frames = int(args.minutes * 60 * args.fps)
    cameras, uv, lik = make_inputs(n_frames, args.keypoints, args.cameras)
    triangulate(uv[:, :10], lik[:, :10], cameras)  # numba cache load outside the measurement
    base = rss_mb()
    sampler = PeakSampler()
    sampler.start()
    t0 = time.perf_counter()
    tri = triangulate(uv, lik, cameras, TriangulationSettings(), threads=args.threads)
    t_tri = time.perf_counter() - t0
    qc = triangulation_qc(
        tri, np.isfinite(uv).all(axis=-1), [f"kp{i}" for i in range(args.keypoints)], 15.0
    )
    t_all = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    print(
        json.dumps(
            {
                "frames": n_frames,
                "keypoints": args.keypoints,
                "cameras": args.cameras,
                "points": n_frames * args.keypoints,
                "inputs_mb": round((uv.nbytes + lik.nbytes) / 2**20, 1),
                "rss_before_mb": round(base, 1),
                "peak_above_inputs_mb": round(sampler.peak - base, 1),
                "triangulate_s": round(t_tri, 2),
                "triangulate_plus_qc_s": round(t_all, 2),
                "points_triangulated": qc["points_triangulated"],
            }
        )
    )


if __name__ == "__main__":
    main()
