"""Real data: decode a rat's position on a linear track from embeddings of 31 hippocampal units.

Held-out contiguous time blocks (the aligned dataset's split), kNN decoding; beside it the
shuffled-time control (neural data rolled by half the session against the position) and,
with --cebra, the cebra package at the same settings.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/latents_nelpy.py --steps 1000 --cebra
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/latents_nelpy.py --modes generative [--seeds 10]

``generative`` is the pi-VAE-like ``PoissonVAE`` with position as its label prior, fitted on
the training blocks and embedded without labels (q(z|x)), so decoding never sees the
held-out positions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from brainbehave.align import align_nwb_session
from brainbehave.latents import ContrastiveEmbedding, PoissonVAE, metrics
from brainbehave.latents.groundtruth import aligned_behaviour, session_arrays

NWB = Path(__file__).resolve().parents[2] / "shared/data/nelpy_linear_track/nelpy_linear_track.nwb"


def load(bin_s: float):
    with tempfile.TemporaryDirectory() as tmp:
        ds = align_nwb_session(
            NWB, None, Path(tmp) / "a.nc", subject="nelpy", session="track", bin_s=bin_s
        )
    x, behaviour, split, _ = session_arrays(ds, aligned_behaviour(ds), str(NWB))
    return x, behaviour["behavior_Position_LED"], split


def generative(args, x, pos, split, shifted) -> None:
    """PoissonVAE with a position prior (--seeds fits, at least two), label-free embedding,
    vs the control; ``knn`` and ``seed_consistency`` are seed 0's (and 0 -> 1)."""
    train = split == 0
    kw = dict(
        latent_dim=args.dim,
        steps=args.steps,
        batch_size=args.batch,
        learning_rate=args.lr,
        device="cpu",
    )
    t = time.perf_counter()
    seeds = range(max(2, args.seeds))
    embs = [PoissonVAE(seed=s, **kw).fit(x[train], pos[train]).transform(x) for s in seeds]
    rate = len(embs) * args.steps / (time.perf_counter() - t)
    null = PoissonVAE(**kw).fit(shifted[train], pos[train]).transform(shifted)
    r2 = [metrics.decode(e, pos, split)["r2"] for e in embs]
    pairs = itertools.permutations(range(len(embs)), 2)  # both directions of each pair
    print(
        json.dumps(
            {
                "lib": "brainbehave",
                "mode": "generative",
                "it_s": rate,
                "knn": metrics.decode(embs[0], pos, split),
                "seed_consistency": metrics.consistency(embs[0], embs[1]),
                "seeds": len(embs),
                "knn_r2_per_seed": [round(v, 3) for v in r2],
                "knn_r2_mean": float(np.mean(r2)),
                "seed_consistency_all_pairs": float(
                    np.mean([metrics.consistency(embs[i], embs[j]) for i, j in pairs])
                ),
                "shuffled_time_control_knn": metrics.decode(null, pos, split),
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bin-s", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--dim", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--cebra", action="store_true")
    p.add_argument("--seeds", type=int, default=2, help="generative: fits (seeds 0..N-1)")
    p.add_argument("--modes", default="behaviour,time", help="behaviour, time, generative")
    args = p.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    x, pos, split = load(args.bin_s)
    x = x[:, x.any(0)]
    print(json.dumps({"bins": len(x), "units": x.shape[1], "test_fraction": float(split.mean())}))
    shifted = metrics.time_shift(x)
    raw = {
        "raw_counts_knn": metrics.decode(x, pos, split),
        "chance_mean_position_median_error": float(
            np.median(np.linalg.norm(pos[split == 1] - pos[split == 0].mean(0), axis=1))
        ),
    }
    print(json.dumps(raw))
    modes = args.modes.split(",")
    if "generative" in modes:
        generative(args, x, pos, split, shifted)
    for mode in [m for m in modes if m in ("behaviour", "time")]:
        kw = dict(
            conditional=mode,
            output_dim=args.dim,
            steps=args.steps,
            batch_size=args.batch,
            learning_rate=args.lr,
            device="cpu",
            time_offset=10,
        )
        train = split == 0  # fits see the training blocks only
        y = pos[train] if mode == "behaviour" else None
        t = time.perf_counter()
        emb = ContrastiveEmbedding(**kw).fit(x[train], y).transform(x)
        rate = args.steps / (time.perf_counter() - t)
        null = ContrastiveEmbedding(**kw).fit(shifted[train], y).transform(shifted)
        print(
            json.dumps(
                {
                    "lib": "brainbehave",
                    "mode": mode,
                    "it_s": rate,
                    "knn": metrics.decode(emb, pos, split),
                    "shuffled_time_control_knn": metrics.decode(null, pos, split),
                }
            )
        )
        if args.cebra:
            import cebra

            m = cebra.CEBRA(
                model_architecture="offset10-model",
                batch_size=args.batch,
                output_dimension=args.dim,
                max_iterations=args.steps,
                conditional="time_delta" if mode == "behaviour" else "time",
                time_offsets=10,
                learning_rate=args.lr,
                device="cpu",
                verbose=False,
            )
            t = time.perf_counter()
            m.fit(x[train], pos[train]) if mode == "behaviour" else m.fit(x[train])
            rate = args.steps / (time.perf_counter() - t)
            print(
                json.dumps(
                    {
                        "lib": "cebra",
                        "mode": mode,
                        "it_s": rate,
                        "knn": metrics.decode(m.transform(x), pos, split),
                    }
                )
            )


if __name__ == "__main__":
    main()
