"""Benchmark: the shipped rule set on virtual-lab sessions, per-frame F1 against the truth.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/behaviour_rules.py --sessions 8 --duration-s 300

Pose is the true 3D pose plus Gaussian noise of each ``--noise-mm`` (the 3D stage's error is
a few mm); F1 is macro over the 8 actions and the 3 activities, per frame.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from behaviour_common import NAMES, sessions

from brainbehave.behaviour.evaluation import frame_f1
from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.labels import level_names
from brainbehave.behaviour.rules import apply_rule_set, load_rule_set

RULES = Path(__file__).resolve().parents[1] / "config" / "behaviour_rules.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--noise-mm", type=float, nargs="+", default=[0.0, 2.0, 5.0])
    parser.add_argument("--rules", default=str(RULES))
    args = parser.parse_args()
    rule_set = load_rule_set(args.rules)
    results = {}
    for noise in args.noise_mm:
        data = sessions(args.sessions, args.duration_s, noise)
        t0 = time.perf_counter()
        labelled = [apply_rule_set(rule_set, pose_view(ds)) for ds, _ in data]
        elapsed = time.perf_counter() - t0
        scores = {}
        for level in ("action", "activity"):
            pred = np.concatenate(
                [
                    np.asarray(level_names(lab, level) + ["none"])[lab[level].values]
                    for lab in labelled
                ]
            )
            true = np.concatenate([t[level] for _, t in data])
            scores[level] = frame_f1(true, pred, NAMES[level])
        scores["seconds_per_hour_of_pose"] = elapsed * 3600 / (args.sessions * args.duration_s)
        results[f"noise_{noise:g}mm"] = scores
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
