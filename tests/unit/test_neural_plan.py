"""The neural rules' planning: targets, per-camera inputs, label sources, latent models."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from brainbehave.neural_plan import NeuralPlan
from brainbehave.paths import Paths

SESSIONS = pd.DataFrame(
    [{"subject": "rat01", "session": "ses01", "nwb": "a.nwb", "fps": 30.0, "sync_series": "ttl"}]
)
VIDEOS = pd.DataFrame(
    [
        {"subject": "rat01", "session": "ses01", "camera": "camA", "video": "a.mp4"},
        {
            "subject": "rat01",
            "session": "ses01",
            "camera": "camB",
            "video": "b.mp4",
            "frame_times": "b.csv",
        },
    ]
)
W = SimpleNamespace(subject="rat01", session="ses01")


def test_plan_gives_targets_cameras_and_sheet_values() -> None:
    plan = NeuralPlan(SESSIONS, VIDEOS, Paths(results="res"))
    assert plan.targets() == [
        "res/neural/rat01/ses01/aligned.nc",
        "res/neural/rat01/ses01/rat01_ses01_derived.nwb",
    ]
    assert plan.sync_inputs(W) == ["a.mp4", "b.csv"]
    params = plan.sync_params(W)
    assert params["fps"] == 30.0 and params["sync_series"] == "ttl" and params["offset_s"] is None


def test_behaviour_and_latent_inputs_follow_cameras_sources_and_models() -> None:
    plan = NeuralPlan(
        SESSIONS,
        VIDEOS,
        Paths(results="res"),
        label_sources=("rules", "mae"),
        latent_models=("contrastive", "pivae"),
    )
    assert plan.camera_names(W) == ["camA", "camB"]
    assert plan.pose2d_inputs(W) == [
        "res/pose2d/rat01/ses01/camA.nc",
        "res/pose2d/rat01/ses01/camB.nc",
    ]
    assert plan.labels_inputs(W) == [
        "res/behaviour/rat01/ses01/rules_labels.nc",
        "res/behaviour/rat01/ses01/mae_labels.nc",
    ]
    # one input per model (its fit folder); the session's file inside it goes in as a param
    assert plan.latents_inputs() == ["res/latents/contrastive/fit", "res/latents/pivae/fit"]
    assert plan.latents_files(W) == [
        "res/latents/contrastive/fit/rat01.ses01.embedding.nc",
        "res/latents/pivae/fit/rat01.ses01.embedding.nc",
    ]
    no_models = NeuralPlan(SESSIONS, VIDEOS, Paths())
    assert no_models.latents_inputs() == [] and no_models.latents_files(W) == []
