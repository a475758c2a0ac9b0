"""Speed, decoding and seed consistency of brainbehave.latents beside the cebra package.

Same data in one run: Poisson place cells on a 2D random walk (as the shared CEBRA note),
same architecture family (receptive field 10, 32 hidden channels), batch size, output dim
and number of steps. Prints one JSON line per (library, mode).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/latents_vs_cebra.py --frames 20000 --steps 300

``--batch-negatives`` adds ours with ``negatives="batch"`` (the other references of the batch
as negatives: the same batch size and architecture, a third fewer encoder passes).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from functools import partial

import numpy as np
import torch

from brainbehave.latents import ContrastiveEmbedding, metrics


def place_cells(n_frames: int, n_units: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(n_frames, 2)) * 0.01
    pos = np.cumsum(steps, 0)
    pos = np.abs((pos + 1) % 2 - 1)  # reflect into [0, 1]
    centres = rng.random((n_units, 2))
    rates = 0.05 + 0.6 * np.exp(-((pos[:, None] - centres[None]) ** 2).sum(-1) / (2 * 0.08**2))
    return rng.poisson(rates).astype(np.float32), pos.astype(np.float32)


def run_ours(mode, X, y, steps, batch, dim, seed, negatives="sampled"):
    m = ContrastiveEmbedding(
        negatives=negatives,
        conditional=mode,
        steps=steps,
        batch_size=batch,
        output_dim=dim,
        time_offset=10,
        learning_rate=3e-4,
        seed=seed,
        device="cpu",
    )
    t = time.perf_counter()
    n = int(0.8 * len(X))  # fit on the first 80%, embed everything (test = the last 20%)
    m.fit(X[:n], None if mode == "time" else y[:n])
    return steps / (time.perf_counter() - t), m.transform(X)


def run_cebra(mode, X, y, steps, batch, dim, seed):
    import cebra

    torch.manual_seed(seed)
    m = cebra.CEBRA(
        model_architecture="offset10-model",
        batch_size=batch,
        output_dimension=dim,
        max_iterations=steps,
        conditional="time_delta" if mode != "time" else "time",
        time_offsets=10,
        learning_rate=3e-4,
        hybrid=mode == "hybrid",
        device="cpu",
        verbose=False,
        temperature=1.0,
    )
    t = time.perf_counter()
    try:
        n = int(0.8 * len(X))
        m.fit(X[:n], y[:n]) if mode != "time" else m.fit(X[:n])
    except AttributeError as err:  # cebra 0.6.1 hybrid infonce crash (see the shared note)
        return None, str(err)
    return steps / (time.perf_counter() - t), m.transform(X)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=20000)
    p.add_argument("--units", type=int, default=100)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--modes", default="time,behaviour,hybrid")
    p.add_argument("--quality", action="store_true", help="also decoding + 2-seed consistency")
    p.add_argument(
        "--batch-negatives", action="store_true", help="also ours with negatives='batch'"
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    X, y = place_cells(args.frames, args.units)
    split = np.zeros(len(X), dtype=int)
    split[int(0.8 * len(X)) :] = 1
    for mode in args.modes.split(","):
        libs = [("brainbehave", run_ours), ("cebra", run_cebra)]
        if args.batch_negatives:  # same batch size; the batch's references as negatives
            libs.insert(1, ("brainbehave[negatives=batch]", partial(run_ours, negatives="batch")))
        for name, fn in libs:
            fn(mode, X, y, 5, args.batch, args.dim, 0)  # warm-up: one-time costs not timed
            rate, emb = fn(mode, X, y, args.steps, args.batch, args.dim, 0)
            row = {"lib": name, "mode": mode, "it_s": rate}
            if rate is None:
                row["error"] = emb
            elif args.quality:
                row["knn_r2"] = metrics.decode(emb, y, split, "knn")["r2"]
                emb2 = fn(mode, X, y, args.steps, args.batch, args.dim, 1)[1]
                row["seed_consistency"] = metrics.consistency(emb, emb2)
                if name.startswith("brainbehave"):
                    row["same_seed_max_abs_diff"] = float(
                        np.abs(emb - fn(mode, X, y, args.steps, args.batch, args.dim, 0)[1]).max()
                    )
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
