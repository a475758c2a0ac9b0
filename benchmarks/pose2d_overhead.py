"""Speed: the pipeline's pose step vs a plain deeplabcut.analyze_videos, same video and model.

Usage:
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/pose2d_overhead.py \
        --model MODEL_DIR --video VIDEO [--repeats 2] [--out DIR]

MODEL_DIR is a folder written by brainbehave.pose2d.dlc.train_model (the pose2d_train rule's
output). Both variants run in this one process, alternating (plain, pipeline, plain, ...), after
one untimed warm-up, so the import of DeepLabCut and file-system caches favour neither. The
pipeline variant is what the pose2d_analyze rule's script does: check the video with OpenCV,
analyse into a private folder, rename to the declared output, check the length, convert to
the pose data model and save it as netCDF.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import deeplabcut

from brainbehave.pose import save_pose
from brainbehave.pose2d.analyze import analyze_video
from brainbehave.pose2d.dlc import model_info
from brainbehave.pose2d.io import dlc_h5_to_pose


def plain(model: Path, video: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    deeplabcut.analyze_videos(
        str(model / "config.yaml"),
        [str(video)],
        shuffle=int(model_info(model)["settings"]["shuffle"]),
        destfolder=str(out),
        device="cpu",
        batch_size=8,
        auto_track=False,
    )
    return time.perf_counter() - t0


def pipeline(model: Path, video: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    info = analyze_video(model, video, out / "cam_dlc.h5", batch_size=8, device="cpu")
    pose = dlc_h5_to_pose(out / "cam_dlc.h5", info.fps, camera="cam", n_frames=info.n_frames)
    save_pose(pose, out / "cam_raw.nc")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--video", required=True)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    model, video = Path(args.model).absolute(), Path(args.video).absolute()
    out = Path(args.out or tempfile.mkdtemp(prefix="bb-overhead-"))
    plain(model, video, out / "warmup")
    times: dict[str, list[float]] = {"plain": [], "pipeline": []}
    for _ in range(args.repeats):
        times["plain"].append(plain(model, video, out / "plain"))
        times["pipeline"].append(pipeline(model, video, out / "pipeline"))
    import cv2

    n = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
    best = {k: min(v) for k, v in times.items()}
    result = {
        "video": str(video),
        "frames": n,
        "seconds": times,
        "frames_per_s_plain": round(n / best["plain"], 2),
        "frames_per_s_pipeline": round(n / best["pipeline"], 2),
        "overhead_pct_best": round(100 * (best["pipeline"] / best["plain"] - 1), 2),
        "overhead_pct_mean": round(100 * (sum(times["pipeline"]) / sum(times["plain"]) - 1), 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
