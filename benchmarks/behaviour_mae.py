"""Benchmark: hierarchical MAE on the virtual lab vs a PCA + k-means baseline.

Trains the MAE on a small cohort (CPU, one thread), extracts per-level embeddings, segments
them, and scores per level NMI / ARI against the matching ground-truth level, the linear
probe accuracy of each truth level from each embedding level, the share of each level's
variance explained by each truth level and its autocorrelation time (the time scale it
varies on). Baselines on the same per-frame input channels, same k per level:
``baseline_pca_kmeans`` (PCA + k-means with the smoothing and motif-usage step tuned for raw
channels: BASELINE_LEVELS), ``baseline_same_segmentation_as_mae`` (the pipeline's recipe on
raw channels instead of embeddings) and ``baseline_arhmm`` (keypoint-MoSeq style: PCA of the
channels, an AR(1)-HMM per level with as many states as the level has clusters in all,
sticky with the level's minimum bout, initialised by k-means;
:mod:`brainbehave.behaviour.hmm`). ``mae_segment_seeds`` repeats the MAE segmentation with
other k-means seeds (the pipeline uses behaviour.mae.seed, 0). Also reports training
throughput (sequences/s; 0 when the model came from ``--checkpoint``) and the embedding time
(pose and its mirror image) for 1 h of pose (measured on the sessions here and extrapolated
linearly; say so when quoting it).

    cd benchmarks && OMP_NUM_THREADS=1 ../.venv/bin/python behaviour_mae.py --steps 2000
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch
from behaviour_common import sessions
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from brainbehave.behaviour.evaluation import (
    autocorrelation_time,
    cluster_scores,
    linear_probe,
    variance_explained,
)
from brainbehave.behaviour.features import mirror_view, pose_view
from brainbehave.behaviour.hmm import HSMM, AREmissions
from brainbehave.behaviour.mae import BehaviourMAE, embed_with_mirror, mae_inputs
from brainbehave.behaviour.mae_config import MAEConfig
from brainbehave.behaviour.segment import Segmenter
from brainbehave.behaviour.segment_spec import LevelSpec, level_specs

LEVEL_OF = {"level3": "activity", "level2": "action", "level1": "primitive"}
TRUTH = ("activity", "action", "primitive")
# The segmentation that suits raw channels (the defaults before the MAE's levels were pooled):
# activities as the usage of 12 motifs in 4 s windows, light smoothing elsewhere.
BASELINE_LEVELS = (
    LevelSpec("level3", "activity", 3, 0.15, 3.0, usage_k=12, usage_window_s=4.0),
    LevelSpec("level2", "action", 8, 0.15, 0.3),
    LevelSpec("level1", "primitive", 15, 0.0, 0.07),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--noise-mm", type=float, default=1.0)
    parser.add_argument("--activity-window-s", type=float, default=None)
    parser.add_argument("--segment-seeds", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="MAE checkpoint: resumed if it matches the config, so a rerun reuses the model",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    extra = {} if args.activity_window_s is None else {"usage_window_s": args.activity_window_s}
    specs = level_specs({"activity": extra})
    data = sessions(args.sessions, args.duration_s, args.noise_mm)
    fps = float(data[0][0].attrs["fps"])
    views = [pose_view(ds) for ds, _ in data]
    inputs = [mae_inputs(v) for v in views]
    truth = [lab for _, lab in data]

    est = BehaviourMAE(MAEConfig(steps=args.steps)).fit(inputs, fps, args.checkpoint)
    t0 = time.perf_counter()
    embs = [embed_with_mirror(est, v) for v in views]
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
    results["mae_segment_seeds"] = {
        seed: score(embs, truth, fps, specs, False, seed) for seed in args.segment_seeds
    }
    baseline = []
    for view, inp in zip(views, inputs, strict=True):
        mirrored = est._normalise(mae_inputs(mirror_view(view)).x)
        baseline.append({lvl: est._normalise(inp.x) for lvl in LEVEL_OF})
        baseline[-1].update({f"{lvl}_mirrored": mirrored for lvl in LEVEL_OF})
    results["baseline_pca_kmeans"] = score(baseline, truth, fps, BASELINE_LEVELS, probe=False)
    results["baseline_same_segmentation_as_mae"] = score(baseline, truth, fps, specs, False)
    results["baseline_arhmm"] = arhmm(baseline, truth, fps, specs)
    channels = [b["level1"] for b in baseline]
    results["input_channels"] = {
        "linear_probe": {gt: linear_probe(channels, [t[gt] for t in truth]) for gt in TRUTH},
        "variance_explained": {
            gt: variance_explained(channels, [t[gt] for t in truth]) for gt in TRUTH
        },
        "autocorrelation_time_s": autocorrelation_time(channels, fps),
    }
    print(json.dumps(results, indent=1))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)


def arhmm(channels, truth, fps, specs, variance: float = 0.9) -> dict:
    """keypoint-MoSeq-style baseline: AR(1)-HMM on the channels' leading PCs, per level."""
    x = [c["level1"] for c in channels]
    pca = PCA(variance, random_state=0).fit(np.concatenate(x))
    z = [pca.transform(c) for c in x]
    out = {"pcs": int(pca.n_components_)}
    by_name = {spec.name: spec for spec in specs}
    for spec in specs:
        # a level that splits each cluster of another has that many clusters in all
        k = spec.n_clusters * (by_name[spec.within].n_clusters if spec.within else 1)
        km = KMeans(k, n_init=4, random_state=0).fit(np.concatenate(z))
        model = HSMM(AREmissions(k), max(1, round(spec.min_duration_s * fps)))
        model.fit(z, [km.predict(s) for s in z])
        true = np.concatenate([t[spec.name] for t in truth])
        out[spec.name] = cluster_scores(true, np.concatenate([model.predict(s) for s in z]))
    return out


def score(embs, truth, fps, specs, probe: bool = True, seed: int = 0) -> dict:
    seg = Segmenter(specs, fps, seed=seed).fit(embs)
    codes = [seg.predict(e) for e in embs]
    out = {}
    for spec in specs:
        true = np.concatenate([t[spec.name] for t in truth])
        pred = np.concatenate([c[spec.name] for c in codes])
        out[spec.name] = cluster_scores(true, pred)
    if probe:
        levels = ("level1", "level2", "level3")
        per = {lvl: [e[lvl] for e in embs] for lvl in levels}
        out["linear_probe"] = {
            lvl: {gt: linear_probe(per[lvl], [t[gt] for t in truth]) for gt in TRUTH}
            for lvl in levels
        }
        out["variance_explained"] = {
            lvl: {gt: variance_explained(per[lvl], [t[gt] for t in truth]) for gt in TRUTH}
            for lvl in levels
        }
        out["autocorrelation_time_s"] = {lvl: autocorrelation_time(per[lvl], fps) for lvl in levels}
    return out


if __name__ == "__main__":
    main()
