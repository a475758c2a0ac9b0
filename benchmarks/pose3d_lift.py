"""Single-camera lifting on the virtual lab: MPJPE and Procrustes-MPJPE per held-out camera view.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pose3d_lift.py \
        --steps 1000 --channels 64 --train-subjects 4

Trains the temporal lifter on the 2D views (2 px noise, 1280x960 images) of every camera of
training sessions (rat01..rat0N) against the virtual lab's 3D truth, then lifts each camera of
held-out sessions of the next subject alone and compares with the truth (camera frame, relative
to the root keypoint); the mean training pose is the no-information baseline. Also reports the
calibration of the predicted uncertainty: the share of coordinates whose error is within 1
predicted standard deviation (68 % if calibrated).
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch

from brainbehave.pose3d.lift import (
    Lifter,
    LiftSettings,
    mpjpe,
    pa_mpjpe,
    root_relative,
    targets,
)
from brainbehave.synth.cohort import session_rig, simulate_motion
from brainbehave.synth.settings import SynthSettings


def sessions(subjects, n_sessions, seconds, noise, rng):
    settings = SynthSettings(cameras=3, image_size=(1280, 960), duration_s=seconds)
    out = []
    for si in subjects:
        for sj in range(1, n_sessions + 1):
            cams = session_rig(settings, f"rat{si:02d}", f"ses{sj:02d}")
            xyz = simulate_motion(settings, settings.n_frames, si, sj).body.keypoints
            for cam in cams:
                uv = cam.project(xyz)
                out.append((uv + rng.normal(0, noise, uv.shape), cam, xyz))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--noise-px", type=float, default=2.0)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--train-subjects", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    train_ids = list(range(1, args.train_subjects + 1))
    train = sessions(train_ids, 3, args.seconds, args.noise_px, rng)
    test = sessions([args.train_subjects + 1], 2, args.seconds, args.noise_px, rng)
    # baseline: the mean training pose (camera frame, root-relative), whatever the input
    mean_pose = np.mean([targets(x, c, 0).mean(axis=0) for _, c, x in train], axis=0)
    t0 = time.perf_counter()
    lifter = Lifter(LiftSettings(steps=args.steps, channels=args.channels)).fit(train)
    fit_s = time.perf_counter() - t0
    per_camera: dict[str, list] = {}
    for uv, cam, xyz in test:
        mean, sd = lifter.predict(uv, cam)  # absolute camera frame
        xc = cam.to_camera_frame(xyz)
        true = targets(xyz, cam, lifter.settings.root)
        within = float(np.mean(np.abs(mean - xc) <= sd))
        base = mpjpe(np.broadcast_to(mean_pose, true.shape), true)
        rel = root_relative(mean, lifter.settings.root)
        row = (mpjpe(rel, true), pa_mpjpe(mean, xc), within, base, mpjpe(mean, xc))
        per_camera.setdefault(cam.name, []).append(row)
    print(json.dumps({"train_views": len(train), "steps": args.steps, "fit_s": round(fit_s, 1)}))
    for name, rows in per_camera.items():
        m, pa, w, b, a = np.mean(rows, axis=0)
        summary = {"mpjpe_mm": round(m, 2), "pa_mpjpe_mm": round(pa, 2), "absolute_mm": round(a, 2)}
        summary.update(within_1sd=round(w, 3), mean_pose_baseline_mpjpe_mm=round(b, 2))
        print(json.dumps({name: summary}))


if __name__ == "__main__":
    main()
