"""Real data: DeepLabCut's open-field project (116 labelled frames, 4 bodyparts, 640x480).

Usage:
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/pose2d_openfield.py \
        [--epochs 30] [--net cspnext_s] [--init scratch] [--crop W H] [--max-frames 0] \
        [--out DIR]

Trains on an 80/20 split of the labelled frames (seeded), prints DeepLabCut's train/test error
in px, then analyses the unlabelled 2,330-frame video (or its first --max-frames frames, written
as a clip, when the full video does not fit the time at hand) and prints frames/s.
The shared data folder is read-only: the project is copied by train_model.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import cv2

from brainbehave.pose2d.analyze import analyze_video
from brainbehave.pose2d.dlc import TrainSettings, train_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dlc_openfield"


def clip(video: Path, n: int, target: Path) -> Path:
    """The first `n` frames of `video` as an mp4."""
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for _ in range(n):
        ok, frame = cap.read()
        if not ok:
            break
        writer.write(frame)
    writer.release()
    cap.release()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--net", default="cspnext_s")
    parser.add_argument("--init", default="scratch", choices=["scratch", "pretrained"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, nargs=2, default=None, help="training crop W H")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-frames", type=int, default=0, help="0: the whole video")
    parser.add_argument("--model", default=None, help="existing model folder: skip training")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out or tempfile.mkdtemp(prefix="bb-openfield-"))
    out.mkdir(parents=True, exist_ok=True)
    result: dict = {"net_type": args.net, "init": args.init, "epochs": args.epochs}
    result["crop"] = args.crop
    if args.model:  # a model trained before: its settings are in its folder, not in the args
        result = {"model": str(Path(args.model).absolute())}
    model = Path(args.model) if args.model else out / "model"
    if not args.model:
        t0 = time.perf_counter()
        settings = TrainSettings(
            net_type=args.net,
            init=args.init,
            epochs=args.epochs,
            batch_size=args.batch_size,
            train_fraction=0.8,
            crop=tuple(args.crop) if args.crop else None,
        )
        info = train_model(
            args.data, model, settings, out / "evaluation.json", threads=args.threads
        )
        result.update(
            train_s=round(time.perf_counter() - t0, 1),
            n_train=info["n_train"],
            n_test=info["n_test"],
            train_rmse_px=info["train_rmse"],
            test_rmse_px=info["test_rmse"],
            test_rmse_pcutoff_px=info["test_rmse_pcutoff"],
        )
    video = Path(args.data) / "videos" / "m3v1mp4.mp4"
    if args.max_frames:
        video = clip(video, args.max_frames, out / "m3v1_clip.mp4")
    t0 = time.perf_counter()
    vinfo = analyze_video(model, video, out / "m3v1_dlc.h5", threads=args.threads)
    elapsed = time.perf_counter() - t0
    result.update(
        analysed_frames=vinfo.n_frames,
        analyse_s=round(elapsed, 1),
        frames_per_s=round(vinfo.n_frames / elapsed, 2),
    )
    print(json.dumps(result, indent=2))
    (out / "results.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
