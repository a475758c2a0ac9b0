"""Speed: DeepLabCut's evaluation as DeepLabCut runs it vs as the pipeline does; folded norms.

Usage:
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/pose2d_evaluation.py \
        --model MODEL_DIR [--repeats 2] [--threads 2] [--batch 8]

MODEL_DIR is a folder written by brainbehave.pose2d.dlc.train_model (the pose2d_train rule's
output, e.g. the demo's results/pose2d/model); it is copied, never changed. Per repeat, in this
one process and alternating:

- ``deeplabcut``: ``deeplabcut.evaluate_network`` as DeepLabCut runs it (one frame at a time,
  the model's own inference settings: float32);
- ``pipeline``: ``brainbehave.pose2d.dlc.evaluate`` with the model's training settings
  (bfloat16 and channels-last if it was trained so, batches of ``--batch`` frames when all
  labelled frames share a size, batch norms folded).

Then one forward pass of a batch of ``--batch`` frames with and without the batch norms folded
(bfloat16, channels-last, one thread). Prints one JSON line per variant: seconds per repeat,
train/test RMSE (px), mAP and p-cutoff, or ms per forward and the largest output difference.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import deeplabcut
import torch

from brainbehave.pose2d.dlc import (
    evaluate,
    evaluation_metrics,
    model_info,
    pose_config_path,
    read_pose_config,
    set_threads,
)
from brainbehave.pose2d.project import labelled_frame_sizes, set_project_path
from brainbehave.pose2d.resume import latest_snapshot
from brainbehave.pose2d.runtime import fold_batch_norms
from brainbehave.pose2d.train_settings import TrainSettings


def deeplabcut_evaluate(config: Path, settings: TrainSettings) -> None:
    deeplabcut.evaluate_network(str(config), shuffles=[settings.shuffle], device="cpu")


def forward_ms(model: torch.nn.Module, x: torch.Tensor, steps: int = 10) -> float:
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(x)
        t0 = time.perf_counter()
        for _ in range(steps):
            model(x)
    return (time.perf_counter() - t0) / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bb_eval_"))
    model = work / "model"
    shutil.copytree(args.model, model)
    config = model / "config.yaml"
    set_project_path(config, model)
    trained = model_info(model)["settings"]
    settings = replace(
        TrainSettings.from_mapping({k: v for k, v in trained.items() if v is not None}),
        batch_size=args.batch,
        device="cpu",
    )
    set_threads(args.threads)
    for run in (deeplabcut_evaluate, evaluate):
        run(config, settings)  # warm-up: file caches, first-call costs
    timings: dict[str, list[float]] = {"deeplabcut": [], "pipeline": []}
    metrics = {}
    for _ in range(args.repeats):
        for name, run in (("deeplabcut", deeplabcut_evaluate), ("pipeline", evaluate)):
            t0 = time.perf_counter()
            run(config, settings)
            timings[name].append(round(time.perf_counter() - t0, 2))
            metrics[name] = evaluation_metrics(model, settings.shuffle)
    for name, seconds in timings.items():
        print(json.dumps({"variant": name, "seconds": seconds, **metrics[name]}))

    from deeplabcut.pose_estimation_pytorch.models.model import PoseModel

    torch.set_num_threads(1)
    net = PoseModel.build(read_pose_config(config, settings)["model"]).eval()
    snapshot, _ = latest_snapshot(pose_config_path(config, settings).parent)
    net.load_state_dict(torch.load(snapshot, map_location="cpu", weights_only=True)["model"])
    folded = copy.deepcopy(net)
    n = fold_batch_norms(folded)
    net, folded = (m.to(memory_format=torch.channels_last) for m in (net, folded))
    width, height = sorted(labelled_frame_sizes(model))[0]
    x = torch.rand(args.batch, 3, height, width).to(memory_format=torch.channels_last)
    rows = {"unfolded": [], "folded": []}
    for _ in range(4):
        rows["unfolded"].append(round(forward_ms(net, x), 1))
        rows["folded"].append(round(forward_ms(folded, x), 1))
    with torch.no_grad():
        a, b = net(x)["bodypart"], folded(x)["bodypart"]
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    print(
        json.dumps(
            {
                "variant": "forward, bfloat16, channels-last",
                "batch_norms_folded": n,
                "ms": rows,
                "max_abs_diff_float32": diff,
            }
        )
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
