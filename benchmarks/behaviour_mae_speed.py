"""Benchmark: MAE training throughput (sequences/s and frames/s) on CPU.

Trains the hierarchical MAE for a few steps on virtual-lab pose and reports the training
rate, for each window length asked for, on one thread or with each batch split into
``--threads`` slices trained at once. Run it before and after a model change on the same
(quiet) machine; the figures depend on the load.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/behaviour_mae_speed.py --windows 96 384
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/behaviour_mae_speed.py --windows 384 --threads 2
"""

from __future__ import annotations

import argparse
import json

import torch
from behaviour_common import sessions

from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.mae import BehaviourMAE, mae_inputs
from brainbehave.behaviour.mae_config import MAEConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, nargs="+", default=[96, 384])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--threads", type=int, default=1, help="batch slices trained at once")
    parser.add_argument("--dims", type=int, nargs=3, default=None, help="model widths")
    parser.add_argument("--depths", type=int, nargs=3, default=None, help="blocks per stage")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = sessions(2, 60.0, 1.0)
    fps = float(data[0][0].attrs["fps"])
    inputs = [mae_inputs(pose_view(ds)) for ds, _ in data]
    results = {}
    for window in args.windows:
        shape = {k: tuple(v) for k, v in (("dims", args.dims), ("depths", args.depths)) if v}
        cfg = MAEConfig(window=window, steps=args.steps, batch_size=args.batch_size, **shape)
        rates = [
            BehaviourMAE(cfg).fit(inputs, fps, threads=args.threads).sequences_per_s_
            for _ in range(args.repeats)
        ]
        best = max(rates)
        results[window] = {
            "sequences_per_s": round(best, 1),
            "frames_per_s": round(best * window),
            "all_runs_sequences_per_s": [round(r, 1) for r in rates],
        }
    shape = {"dims": cfg.dims, "depths": cfg.depths}
    print(
        json.dumps(
            {
                "steps": args.steps,
                "batch_size": args.batch_size,
                "threads": args.threads,
                **shape,
                **results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
