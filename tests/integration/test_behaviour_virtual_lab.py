"""Accuracy on the virtual lab: rules against truth.h5, MAE segments against the hierarchy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from brainbehave.behaviour.evaluation import (
    autocorrelation_time,
    cluster_scores,
    frame_f1,
    linear_probe,
    truth_labels,
    truth_pose,
)
from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.labels import level_names
from brainbehave.behaviour.mae import BehaviourMAE, embed_with_mirror, mae_inputs
from brainbehave.behaviour.mae_config import MAEConfig
from brainbehave.behaviour.rules import apply_rule_set, load_rule_set
from brainbehave.behaviour.segment import Segmenter
from brainbehave.behaviour.segment_spec import level_specs
from brainbehave.paths import Paths
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings
from brainbehave.truth import read_truth

SYNTH = SynthSettings(
    seed=4,
    subjects=1,
    sessions_per_subject=2,
    duration_s=120,
    cameras=1,
    image_size=(64, 48),
    n_units=5,
    dropped_frames=2,
    dlc_labelled_frames=2,
)


@pytest.fixture(scope="module")
def truths(tmp_path_factory) -> list:
    paths = Paths(results=str(tmp_path_factory.mktemp("lab")))
    out = []
    for session in ("ses01", "ses02"):
        files = SessionFiles.from_paths(paths, SYNTH, "rat01", session)
        generate_session(SYNTH, "rat01", session, files)
        out.append(read_truth(files.truth))
    return out


@pytest.mark.slow
def test_rules_reach_085_f1_on_noisy_3d_pose(repo: Path, truths) -> None:
    rule_set = load_rule_set(repo / "config" / "behaviour_rules.yaml")
    for truth in truths:
        labels = apply_rule_set(rule_set, pose_view(truth_pose(truth, noise_mm=2.0)))
        true = truth_labels(truth)
        pred = np.asarray(level_names(labels, "action") + ["none"])[labels["action"].values]
        assert frame_f1(true["action"], pred, truth.level_names["action"])["macro"] >= 0.85


@pytest.mark.slow
def test_mae_segments_find_the_activities_and_levels_separate_time_scales(truths) -> None:
    torch.set_num_threads(1)
    views = [pose_view(truth_pose(t, noise_mm=1.0)) for t in truths]
    inputs = [mae_inputs(v) for v in views]
    est = BehaviourMAE(MAEConfig(steps=150)).fit(inputs, 30.0)
    embs = [embed_with_mirror(est, v) for v in views]
    seg = Segmenter(level_specs({}), 30.0).fit(embs)
    codes = np.concatenate([seg.predict(e)["activity"] for e in embs])
    true = np.concatenate([truth_labels(t)["activity"] for t in truths])
    assert cluster_scores(true, codes)["nmi"] >= 0.6
    # fine levels carry primitives, the coarse level varies slowly (seconds, not strides)
    primitives = [truth_labels(t)["primitive"] for t in truths]
    probe = {lvl: linear_probe([e[lvl] for e in embs], primitives) for lvl in ("level1", "level3")}
    assert probe["level1"] > probe["level3"] + 0.1
    acf = {lvl: autocorrelation_time([e[lvl] for e in embs], 30.0) for lvl in ("level1", "level3")}
    assert acf["level3"] > 2 * acf["level1"]
