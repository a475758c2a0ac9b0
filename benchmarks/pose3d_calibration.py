"""ChArUco calibration on the virtual lab: recovered calibration vs the rig's truth.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pose3d_calibration.py --frames 150 --size 640 480

Renders a ChArUco board moving through the arena, filmed by every camera of a virtual-lab
session's rig (distortion included, mp4), calibrates from those videos
(brainbehave.pose3d.charuco) and compares with the rig: reprojection error (px), camera
position error (mm) and rotation error (deg) in the first camera's frame, focal length error (%),
and the reprojection error of the true rig's 3D points through the recovered calibration.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from brainbehave.calibration import read_calibration
from brainbehave.pose3d.charuco import BoardSpec, calibrate_from_videos
from brainbehave.synth.charuco import charuco_session, relative_to_first
from brainbehave.synth.cohort import session_rig
from brainbehave.synth.settings import SynthSettings


def compare(true_cams, found) -> dict:
    """Errors of a recovered calibration against the true rig (first camera = world)."""
    truth = relative_to_first(true_cams)
    out = {}
    for (r_t, t_t), cam in zip(truth, true_cams, strict=True):
        got = found[cam.name]
        r_f, t_f = got.rotation_matrix, got.tvec
        centre_t, centre_f = -r_t.T @ t_t, -r_f.T @ t_f
        angle = np.degrees(np.arccos(np.clip((np.trace(r_f @ r_t.T) - 1) / 2, -1, 1)))
        out[cam.name] = {
            "position_error_mm": round(float(np.linalg.norm(centre_f - centre_t)), 3),
            "rotation_error_deg": round(float(angle), 4),
            "focal_error_pct": round(float(100 * (got.matrix[0, 0] / cam.matrix[0, 0] - 1)), 3),
        }
    return out


def truth_reprojection(true_cams, found, rng) -> dict:
    """Project random arena points (true frame) with the true rig; triangulation-free check:
    the same points moved into the first camera's frame, projected by the recovered cameras."""
    pts = np.column_stack([rng.uniform(-250, 250, (2000, 2)), rng.uniform(0, 200, 2000)])
    first = true_cams[0]
    in_first = first.to_camera_frame(pts)
    out = {}
    for cam in true_cams:
        a, b = cam.project(pts), found[cam.name].project(in_first)
        err = np.linalg.norm(a - b, axis=1)
        out[cam.name] = round(float(np.nanmedian(err)), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--size", type=int, nargs=2, default=[640, 480])
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--square-mm", type=float, default=60.0)
    args = ap.parse_args()
    settings = SynthSettings(cameras=args.cameras, image_size=tuple(args.size))
    cams = session_rig(settings, "rat01", "ses01")
    spec = BoardSpec(
        squares_x=7, squares_y=5, square_mm=args.square_mm, marker_mm=0.75 * args.square_mm
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        videos = charuco_session(
            cams,
            spec,
            Path(tmp) / "videos",
            n_frames=args.frames,
            arena_half_mm=settings.arena_size_mm / 2,
        )
        t1 = time.perf_counter()
        _, qc = calibrate_from_videos(videos, spec, Path(tmp) / "calibration.toml")
        t2 = time.perf_counter()
        found = read_calibration(Path(tmp) / "calibration.toml")
    print(
        json.dumps(
            {
                "render_s": round(t1 - t0, 1),
                "calibrate_s": round(t2 - t1, 1),
                "frames_with_board": qc["frames_with_board"],
                "reprojection_error_px": qc["reprojection_error_px"],
                "intrinsic_rms_px": qc["intrinsic_rms_px"],
            }
        )
    )
    print(
        json.dumps(
            {
                "vs_truth": compare(cams, found),
                "true_points_reprojection_px_median": truth_reprojection(
                    cams, found, np.random.default_rng(1)
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
