"""Benchmark: hierarchical MAE on the virtual lab vs a PCA + k-means baseline.

Trains the MAE on a small cohort (CPU, one thread), extracts per-level embeddings, segments
them, and scores per level NMI / ARI against the matching ground-truth level and the linear
probe accuracy of each truth level from each embedding level. The baseline clusters the
same per-frame input channels (PCA + k-means with the same smoothing and k). Also reports
training throughput (sequences/s) and the embedding time for 1 h of pose (measured on the
sessions here and extrapolated linearly; say so when quoting it).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/behaviour_mae.py --steps 600
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch
from behaviour_common import sessions

from brainbehave.behaviour.evaluation import cluster_scores, linear_probe
from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.mae import BehaviourMAE, mae_inputs
from brainbehave.behaviour.mae_model import MAEConfig
from brainbehave.behaviour.segment import Segmenter, level_specs

LEVEL_OF = {"level3": "activity", "level2": "action", "level1": "primitive"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--noise-mm", type=float, default=1.0)
    parser.add_argument("--activity-smooth-s", type=float, default=None)
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    extra = {} if args.activity_smooth_s is None else {"smooth_s": args.activity_smooth_s}
    specs = level_specs({"activity": extra})
    data = sessions(args.sessions, args.duration_s, args.noise_mm)
    fps = float(data[0][0].attrs["fps"])
    inputs = [mae_inputs(pose_view(ds)) for ds, _ in data]
    truth = [lab for _, lab in data]

    est = BehaviourMAE(MAEConfig(steps=args.steps)).fit(inputs, fps)
    t0 = time.perf_counter()
    embs = [est.embed(inp, fps) for inp in inputs]
    embed_s = time.perf_counter() - t0
    n_frames = sum(inp.x.shape[0] for inp in inputs)
    results = {
        "sessions": args.sessions,
        "duration_s": args.duration_s,
        "steps": args.steps,
        "train_sequences_per_s": est.sequences_per_s_,
        "final_loss": float(np.mean(est.history_[-20:])),
        "embed_s_measured": embed_s,
        "embed_frames_measured": n_frames,
        "embed_s_per_hour_extrapolated": embed_s * (3600 * fps) / n_frames,
    }
    results["mae"] = score(embs, truth, fps, specs)
    baseline = [{lvl: est._normalise(inp.x) for lvl in LEVEL_OF} for inp in inputs]
    results["baseline_pca_kmeans"] = score(baseline, truth, fps, specs, probe=False)
    results["baseline_pca_kmeans"]["linear_probe_input_channels"] = {
        gt: linear_probe([b["level1"] for b in baseline], [t[gt] for t in truth])
        for gt in ("activity", "action", "primitive")
    }
    print(json.dumps(results, indent=1))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)


def score(embs, truth, fps, specs, probe: bool = True) -> dict:
    seg = Segmenter(specs, fps).fit(embs)
    codes = [seg.predict(e) for e in embs]
    out = {}
    for spec in specs:
        true = np.concatenate([t[spec.name] for t in truth])
        pred = np.concatenate([c[spec.name] for c in codes])
        out[spec.name] = cluster_scores(true, pred)
    if probe:
        out["linear_probe"] = {
            emb_level: {
                gt: linear_probe([e[emb_level] for e in embs], [t[gt] for t in truth])
                for gt in ("activity", "action", "primitive")
            }
            for emb_level in ("level1", "level2", "level3")
        }
    return out


if __name__ == "__main__":
    main()
