"""Real data: triangulate the eks fly (3 cameras, 12 leg keypoints, model predictions).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pose3d_fly.py [--member 0|mean]

Reports the median reprojection error (px) per camera and the coefficient of variation of the
6 leg-segment lengths (L1A-L1B, ...) over frames, for brainbehave.pose3d and, on the same
views (low-likelihood views set to NaN, as aniposelib ignores likelihood), aniposelib 0.8.0 from
its own venv (``--anipose-python``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from brainbehave.calibration import read_calibration
from brainbehave.pose3d import TriangulationSettings, triangulate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "eks_fly_3cam"
ANIPOSE = """
import sys, numpy as np
from aniposelib.cameras import CameraGroup
d = sys.argv[1]
cg = CameraGroup.load(d + "/calibration.toml")
pts = np.load(d + "/points.npy")
np.save(d + "/anipose_xyz.npy", cg.triangulate(pts))
"""


def read_member(camera: str, member: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(T, K, 2) px, (T, K) likelihood and keypoint names of one DLC-style CSV."""
    (path,) = DATA.glob(f"*_{camera}_*rng={member}.csv")
    table = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    keypoints = list(dict.fromkeys(table.columns.get_level_values(1)))
    xy = np.stack([table.xs(c, axis=1, level=2).to_numpy(dtype=float) for c in ("x", "y")], axis=-1)
    lik = table.xs("likelihood", axis=1, level=2).to_numpy(dtype=float)
    return xy, lik, keypoints


def load_views(cameras: list[str], member: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Views of every camera: one ensemble member, or the mean of the three."""
    members = [0, 1, 2] if member == "mean" else [int(member)]
    pts, lik = [], []
    for cam in cameras:
        runs = [read_member(cam, m) for m in members]
        pts.append(np.mean([r[0] for r in runs], axis=0))
        lik.append(np.mean([r[1] for r in runs], axis=0))
        keypoints = runs[0][2]
    return np.stack(pts), np.stack(lik), keypoints


def bone_cv(xyz: np.ndarray, keypoints: list[str]) -> dict[str, float]:
    """Coefficient of variation of each leg segment (<leg>A - <leg>B) over frames."""
    out = {}
    for leg in sorted({k[:-1] for k in keypoints}):
        a, b = keypoints.index(f"{leg}A"), keypoints.index(f"{leg}B")
        length = np.linalg.norm(xyz[:, a] - xyz[:, b], axis=-1)
        length = length[np.isfinite(length)]
        out[leg] = round(float(np.std(length) / np.mean(length)), 4)
    return out


def reprojection(cams, xyz: np.ndarray, pts: np.ndarray, ok: np.ndarray) -> dict[str, float]:
    errs = {}
    for c, cam in enumerate(cams):
        e = np.linalg.norm(cam.project(xyz) - pts[c], axis=-1)[ok[c]]
        errs[cam.name] = round(float(np.nanmedian(e)), 3)
    return errs


def summary(name, cams, xyz, pts, ok, keypoints) -> dict:
    cv = bone_cv(xyz, keypoints)
    return {
        name: {
            "median_reprojection_px": reprojection(cams, xyz, pts, ok),
            "bone_cv": cv,
            "bone_cv_median": round(float(np.median(list(cv.values()))), 4),
            "points_nan": int(np.isnan(xyz[..., 0]).sum()),
        }
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--member", default="0", help="ensemble member 0, 1, 2 or 'mean'")
    ap.add_argument("--min-likelihood", type=float, default=0.5)
    ap.add_argument("--anipose-python", default="/tmp/anipose-venv/bin/python")
    args = ap.parse_args()
    calibration = read_calibration(DATA / "calibration.toml")
    cams = list(calibration.values())
    pts, lik, keypoints = load_views(list(calibration), args.member)
    ok = np.isfinite(pts).all(axis=-1) & (lik >= args.min_likelihood)
    print(json.dumps({"frames": pts.shape[1], "keypoints": keypoints, "member": args.member}))
    for name, thr in (("brainbehave", None), ("brainbehave+rejection_15px", 15.0)):
        settings = TriangulationSettings(min_likelihood=args.min_likelihood, threshold_px=thr)
        tri = triangulate(pts, lik, cams, settings)
        print(json.dumps(summary(name, cams, tri.xyz, pts, ok, keypoints)))
    masked = np.where(ok[..., None], pts, np.nan)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "calibration.toml").write_bytes((DATA / "calibration.toml").read_bytes())
        np.save(Path(tmp) / "points.npy", masked.reshape(len(cams), -1, 2))
        run = subprocess.run(
            [args.anipose_python, "-c", ANIPOSE, tmp], capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            print(json.dumps({"aniposelib": f"failed: {run.stderr[-500:]}"}))
            return
        a_xyz = np.load(Path(tmp) / "anipose_xyz.npy").reshape(pts.shape[1], -1, 3)
    print(json.dumps(summary("aniposelib 0.8.0", cams, a_xyz, pts, ok, keypoints)))


if __name__ == "__main__":
    main()
