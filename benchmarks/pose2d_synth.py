"""Virtual-lab 2D pose accuracy: train DeepLabCut on the lab's labelled frames, score vs truth.

Usage:
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/pose2d_synth.py \
        [--epochs 40] [--net cspnext_s] [--duration-s 10] [--cohort DIR] [--model DIR] [--out DIR]

Generates a one-session cohort with the default synth settings (3 cameras, 256x192) unless
--cohort names one, trains (unless --model names a trained model folder), analyses every
camera and prints the median error in px per keypoint and camera (visible keypoints), before
and after cleaning. Writes results.json and accuracy.tsv to --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import pandas as pd

from brainbehave.paths import Paths
from brainbehave.pose import save_pose
from brainbehave.pose2d.accuracy import pixel_errors, summarise_errors
from brainbehave.pose2d.analyze import analyze_video
from brainbehave.pose2d.clean import CleanSettings, clean_pose
from brainbehave.pose2d.dlc import TrainSettings, train_model
from brainbehave.pose2d.io import dlc_h5_to_pose
from brainbehave.synth.cohort import generate_cohort
from brainbehave.synth.settings import SynthSettings, camera_names
from brainbehave.synth.skeleton import KEYPOINTS
from brainbehave.truth import read_truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--net", default="cspnext_s")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cohort", default=None, help="existing cohort folder (synth layout)")
    parser.add_argument("--model", default=None, help="existing model folder: skip training")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out or tempfile.mkdtemp(prefix="bb-pose2d-"))
    out.mkdir(parents=True, exist_ok=True)
    settings = SynthSettings(subjects=1, sessions_per_subject=1, duration_s=args.duration_s)
    paths = Paths(results=args.cohort) if args.cohort else generate_cohort(settings, out / "lab")
    model = Path(args.model) if args.model else out / "model"
    result: dict = {"epochs": args.epochs, "net_type": args.net, "init": "scratch"}
    if not args.model:
        t0 = time.perf_counter()
        info = train_model(
            paths.synth_dlc_project(),
            model,
            TrainSettings(net_type=args.net, epochs=args.epochs, batch_size=args.batch_size),
            out / "evaluation.json",
            keypoints=KEYPOINTS,
            threads=args.threads,
        )
        result.update(train_s=time.perf_counter() - t0, dlc_test_rmse=info["test_rmse"])
    truth = read_truth(paths.synth_truth("rat01", "ses01"))
    tables = []
    for cam in camera_names(settings):
        t0 = time.perf_counter()
        video = analyze_video(
            model,
            paths.synth_video("rat01", "ses01", cam),
            out / f"{cam}_dlc.h5",
            threads=args.threads,
        )
        result[f"{cam}_frames_per_s"] = video.n_frames / (time.perf_counter() - t0)
        raw = dlc_h5_to_pose(out / f"{cam}_dlc.h5", video.fps, camera=cam, n_frames=video.n_frames)
        save_pose(raw, out / f"{cam}_raw.nc")
        for stage, pose in (("raw", raw), ("clean", clean_pose(raw, CleanSettings()))):
            table = summarise_errors(pixel_errors(pose, truth, cam))
            tables.append(table.reset_index(names="keypoint").assign(camera=cam, stage=stage))
    acc = pd.concat(tables, ignore_index=True)
    acc.to_csv(out / "accuracy.tsv", sep="\t", index=False, float_format="%.3f")
    raw = acc[acc["stage"] == "raw"]
    grid = raw.pivot(index="keypoint", columns="camera", values="median_px")
    print("median error (px) per keypoint and camera, raw DeepLabCut output:")
    print(grid.round(2).to_string())
    overall = raw[raw["keypoint"] == "all"].set_index("camera")
    result["median_px_per_camera"] = overall["median_px"].round(3).to_dict()
    result["detected_per_camera"] = overall["detected"].round(3).to_dict()
    clean = acc[(acc["stage"] == "clean") & (acc["keypoint"] == "all")].set_index("camera")
    result["clean_median_px_per_camera"] = clean["median_px"].round(3).to_dict()
    result["clean_detected_per_camera"] = clean["detected"].round(3).to_dict()
    print(json.dumps(result, indent=2, default=float))
    (out / "results.json").write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
