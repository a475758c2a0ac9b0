"""Timescale mapping with the behaviour stage's labels: one discrete fit per level, scored."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from aligned_cells import save_aligned_cells

from brainbehave.errors import InputDataError
from brainbehave.folder_archive import unpack_folder
from brainbehave.latents.groundtruth import with_truth
from brainbehave.latents.pipeline import Checkpoints, ModelSpec, fit_cohort, read_session
from brainbehave.latents.scorecard import score_model


def labelled_session(place_cells, path, seed):
    """Place cells with Stage-3-style labels: two levels tied to position, one unrelated."""
    x, pos = place_cells(seed=seed)
    n = len(x)
    coarse = (pos[:, 0] > 0.5).astype(np.int16)  # which half of the arena
    fine = (np.minimum(pos[:, 0] * 3, 2).astype(int) * 3 + np.minimum(pos[:, 1] * 3, 2)).astype(
        np.int16
    )
    fine[:40] = -1  # bins the labeller left unlabelled
    noise = np.repeat(np.random.default_rng(seed).integers(0, 3, n // 3 + 1), 3)[:n]

    def label(values, source, level, names):
        attrs = {"names": json.dumps(names), "source": source, "level": level}
        return xr.DataArray(np.asarray(values, np.int16), dims=("time",), attrs=attrs)

    return save_aligned_cells(
        path,
        x,
        pos,
        label_rules_activity=label(coarse, "rules", "activity", ["west", "east"]),
        label_rules_action=label(fine, "rules", "action", [f"c{i}" for i in range(9)]),
        label_mae_primitive=label(noise, "mae", "primitive", ["a", "b", "c"]),
    )


def test_truth_labels_only_where_the_aligned_data_have_none():
    truth = {"position": np.zeros((3, 2)), "label_truth_action": np.array([0, 1, 2])}
    aligned = {"label_rules_action": np.array([1, 1, -1])}
    merged, source = with_truth(aligned, truth)
    assert source == "aligned" and set(merged) == {"position", "label_rules_action"}
    merged, source = with_truth({"speed": np.ones((3, 1))}, truth)
    assert source == "truth" and "label_truth_action" in merged


def test_discrete_model_is_fitted_and_scored_per_level(tmp_path, make_cells):
    sessions = [
        read_session(labelled_session(make_cells, tmp_path / f"{i}.nc", i), None, f"rat0{i}/s1")
        for i in (1, 2)
    ]
    assert sessions[0].label_source == "aligned"
    assert sessions[0].labels["label_mae_primitive"].source == "mae"
    assert (sessions[0].behaviour["label_rules_action"] == -1).sum() == 40  # bins kept
    settings = {"kind": "contrastive", "conditional": "discrete", "steps": 80, "batch_size": 64}
    spec = ModelSpec.from_config("levels", {**settings, "learning_rate": 1e-2}, {"seeds": [0]})
    fit = tmp_path / "fit"
    outs = [fit / "e1.nc", fit / "e2.nc"]
    ckpts = Checkpoints(tmp_path / "ckpt", every=20)
    fit_cohort(spec, sessions, tmp_path / "fit.tar", "m.pt", ["e1.nc", "e2.nc"], "cpu", None, ckpts)
    unpack_folder(tmp_path / "fit.tar", fit, "latents_fit")
    assert not ckpts.folder.exists()  # removed once the outputs are written
    emb = xr.load_dataset(outs[0], engine="h5netcdf")
    assert emb["embedding"].dims == ("level", "seed", "time", "dim")
    assert list(emb["level"].values) == [
        "label_mae_primitive",
        "label_rules_action",
        "label_rules_activity",
    ]
    assert emb["embedding_null_shuffled_labels"].shape == (3, 1200, 3)
    card = score_model(outs, fit / "m.pt", tmp_path / "card.json", tmp_path / "plot.png")
    session = card["sessions"]["rat01/s1"]
    skill = session["timescale"]["skill"]
    # the levels the place cells encode beat the unrelated one, and their shuffled-label nulls
    assert session["timescale"]["best_level"] in ("label_rules_action", "label_rules_activity")
    assert skill["label_rules_activity"] > skill["label_mae_primitive"] + 0.3
    assert session["timescale"]["best_by_source"]["mae"] == "label_mae_primitive"
    assert session["timescale"]["labels"]["label_rules_action"]["level"] == "action"
    levels = card["summary"]["levels"]
    activity = levels["label_rules_activity"]
    assert activity["skill"] > activity["null_shuffled_labels_skill"] + 0.3
    assert card["summary"]["best_level"] in ("label_rules_action", "label_rules_activity")


def test_self_supervised_fit_reports_the_level_carried_best(tmp_path, make_cells):
    session = read_session(labelled_session(make_cells, tmp_path / "a.nc", 1), None, "rat01/s1")
    spec = ModelSpec.from_config(
        "t", {"kind": "contrastive", "steps": 80, "batch_size": 64, "learning_rate": 1e-2}, {}
    )
    fit = tmp_path / "fit"
    fit_cohort(spec, [session], tmp_path / "fit.tar", "m.pt", ["e.nc"], device="cpu")
    unpack_folder(tmp_path / "fit.tar", fit, "latents_fit")
    card = score_model([fit / "e.nc"], fit / "m.pt", tmp_path / "c.json")
    scale = card["sessions"]["rat01/s1"]["timescale"]
    assert set(scale["skill"]) == {
        "label_mae_primitive",
        "label_rules_action",
        "label_rules_activity",
    }
    assert scale["best_level"] != "label_mae_primitive"
    assert card["summary"]["best_level"] == scale["best_level"]


def test_discrete_model_without_labels_says_what_to_do(tmp_path, make_cells):
    from test_pipeline import aligned

    session = read_session(aligned(make_cells, tmp_path / "a.nc", 0), None, "rat01/ses01")
    spec = ModelSpec.from_config("d", {"kind": "contrastive", "conditional": "discrete"}, {})
    with pytest.raises(InputDataError, match="no label variable in common"):
        fit_cohort(spec, [session], tmp_path / "fit.tar", "m.pt", ["e.nc"], device="cpu")
    spec = ModelSpec.from_config(
        "d", {"kind": "contrastive", "conditional": "discrete", "levels": ["label_x"]}, {}
    )
    with pytest.raises(InputDataError, match=r"asks for label variables \['label_x'\]"):
        fit_cohort(spec, [session], tmp_path / "fit.tar", "m.pt", ["e.nc"], device="cpu")
