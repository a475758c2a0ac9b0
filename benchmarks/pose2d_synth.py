"""Virtual-lab 2D pose accuracy: train DeepLabCut on the lab's labelled frames, score vs truth.

Usage:
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/pose2d_synth.py \
        [--epochs 40] [--net cspnext_s] [--duration-s 10] [--labelled-frames 120] \
        [--head-upsampling N] [--scaling LOW HIGH] [--crop W H] [--cohort DIR] [--model DIR] \
        [--out DIR]

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

import numpy as np
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


def label_errors(model: Path) -> dict:
    """Median error (px) and median signed offset of DeepLabCut's evaluation predictions on the
    project's labelled frames, per split and labelling camera.

    The held-out frames come from their own recording, spread over actions: many more poses
    than a short session, where the rat may sit still. A coordinate-convention mistake shows
    as an offset on the training frames.
    """
    pred = pd.read_hdf(next(model.glob("evaluation-results-pytorch/*/*/*.h5")))
    labels = pd.concat(
        [pd.read_hdf(f) for f in sorted(model.glob("labeled-data/*/CollectedData_*.h5"))]
    )
    pred = pred.droplevel([0, 1], axis=1).loc[labels.index]
    parts = list(labels.columns.get_level_values("bodyparts").unique())
    truth = labels.to_numpy().reshape(len(labels), len(parts), 2)
    xy = np.stack([pred.xs(c, level="coords", axis=1)[parts].to_numpy() for c in "xy"], -1)
    test = np.zeros(len(labels), bool)
    test[json.loads((model / "brainbehave_model.json").read_text())["test_indices"]] = True
    videos = np.array([i[1] for i in labels.index])
    out = {}
    for split, rows in (("train", ~test), ("test", test)):
        for video in [None, *np.unique(videos)]:
            sel = rows if video is None else rows & (videos == video)
            d = (xy - truth)[sel].reshape(-1, 2)
            d = d[np.isfinite(d).all(-1)]
            out[f"{split}_{video or 'all'}"] = {
                "median_px": round(float(np.median(np.linalg.norm(d, axis=-1))), 3),
                "offset_px": np.round(np.median(d, axis=0), 3).tolist(),
                "n": int(len(d)),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--net", default="cspnext_s")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--labelled-frames", type=int, default=120, help="synth.dlc_labelled_frames"
    )
    parser.add_argument("--head-upsampling", type=int, default=None)
    parser.add_argument("--scaling", type=float, nargs=2, default=None, help="augmentation range")
    parser.add_argument("--crop", type=int, nargs=2, default=None, help="training crop W H")
    parser.add_argument("--threshold", type=float, default=0.4, help="cleaning likelihood cut")
    parser.add_argument("--cohort", default=None, help="existing cohort folder (synth layout)")
    parser.add_argument("--model", default=None, help="existing model folder: skip training")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out or tempfile.mkdtemp(prefix="bb-pose2d-"))
    out.mkdir(parents=True, exist_ok=True)
    settings = SynthSettings(
        subjects=1,
        sessions_per_subject=1,
        duration_s=args.duration_s,
        dlc_labelled_frames=args.labelled_frames,
    )
    paths = Paths(results=args.cohort) if args.cohort else generate_cohort(settings, out / "lab")
    model = Path(args.model) if args.model else out / "model"
    result: dict = {"epochs": args.epochs, "net_type": args.net, "init": "scratch"}
    result.update(
        labelled_frames=args.labelled_frames,
        head_upsampling=args.head_upsampling,
        scaling=args.scaling,
        crop=args.crop,
        threshold=args.threshold,
    )
    if not args.model:
        t0 = time.perf_counter()
        info = train_model(
            paths.synth_dlc_project(),
            model,
            TrainSettings(
                net_type=args.net,
                epochs=args.epochs,
                batch_size=args.batch_size,
                head_upsampling=args.head_upsampling,
                scaling=tuple(args.scaling) if args.scaling else None,
                crop=tuple(args.crop) if args.crop else None,
            ),
            out / "evaluation.json",
            keypoints=KEYPOINTS,
            threads=args.threads,
        )
        result.update(train_s=time.perf_counter() - t0, dlc_test_rmse=info["test_rmse"])
        result["labelled_frames_error"] = label_errors(model)
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
        for stage, pose in (
            ("raw", raw),
            ("clean", clean_pose(raw, CleanSettings(likelihood_threshold=args.threshold))),
        ):
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
