"""Time to a given training loss: brainbehave's contrastive fit beside the cebra package.

Same data (the place cells of ``latents_vs_cebra.py``), same architecture family (offset10,
32 hidden), batch size, output dim, learning rate and temperature, so both minimise the same
InfoNCE and their losses are on one scale. Each fit runs ``--steps`` steps on one thread and
records its loss per step; the loss is smoothed over ``--window`` steps. The target is the
worse (higher) of the two libraries' final smoothed losses, so both reach it; for each library
the benchmark reports the first step at which the smoothed loss is at or below the target and
the wall time to that step (the fit's steps/s times that step). Libraries alternate within each
repeat so that they share the machine's load. One JSON line per mode and repeat.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/latents_time_to_loss.py --steps 1000
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch
from latents_vs_cebra import cebra_model, ours_model, place_cells


def smooth(loss: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first ``window - 1`` steps average what there is)."""
    c = np.cumsum(np.insert(np.asarray(loss, dtype=float), 0, 0.0))
    n = np.arange(1, len(loss) + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


def fit_ours(mode: str, X, y, steps: int, batch: int, dim: int, seed: int):
    m = ours_model(mode, steps, batch, dim, seed)
    t = time.perf_counter()
    m.fit(X, None if mode == "time" else y)
    return time.perf_counter() - t, np.asarray(m.loss_history_, dtype=float)


def fit_cebra(mode: str, X, y, steps: int, batch: int, dim: int, seed: int):
    m = cebra_model(mode, steps, batch, dim, seed)
    t = time.perf_counter()
    m.fit(X) if mode == "time" else m.fit(X, y)
    return time.perf_counter() - t, np.asarray(m.solver_.log["total"], dtype=float)


def reach(loss_smooth: np.ndarray, target: float) -> int | None:
    """First step (1-based) whose smoothed loss is at or below `target`."""
    hit = np.flatnonzero(loss_smooth <= target)
    return int(hit[0]) + 1 if hit.size else None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=5000)
    p.add_argument("--units", type=int, default=100)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--window", type=int, default=25, help="steps averaged into the loss")
    p.add_argument("--modes", default="time,behaviour")
    p.add_argument("--repeats", type=int, default=2, help="seeds 0..N-1, libraries alternating")
    args = p.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    X, y = place_cells(args.frames, args.units)
    libs = {"brainbehave": fit_ours, "cebra": fit_cebra}
    for mode in args.modes.split(","):
        for fn in libs.values():  # warm-up: one-time costs not timed
            fn(mode, X, y, steps=5, batch=args.batch, dim=args.dim, seed=0)
        for seed in range(args.repeats):
            order = list(libs) if seed % 2 == 0 else list(reversed(libs))
            runs = {}
            for name in order:
                wall, loss = libs[name](mode, X, y, args.steps, args.batch, args.dim, seed)
                runs[name] = (wall, loss, smooth(loss, args.window))
            target = max(float(r[2][-1]) for r in runs.values())
            row = {"mode": mode, "seed": seed, "steps": args.steps, "target_loss": target}
            for name, (wall, _loss, sm) in runs.items():
                step = reach(sm, target)
                row[name] = {
                    "it_s": round(args.steps / wall, 2),
                    "final_loss": round(float(sm[-1]), 4),
                    "loss_at_100": round(float(sm[min(99, len(sm) - 1)]), 4),
                    "steps_to_target": step,
                    "s_to_target": None if step is None else round(step * wall / args.steps, 2),
                }
            ours, theirs = row["brainbehave"]["s_to_target"], row["cebra"]["s_to_target"]
            row["x_cebra_time_to_target"] = round(theirs / ours, 2) if ours and theirs else None
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
