"""The rules' functions: model specs from config, cohort fit, scorecard and plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import xarray as xr
from aligned_cells import save_aligned_cells

from brainbehave.errors import ConfigError, InputDataError
from brainbehave.folder_archive import unpack_folder
from brainbehave.latents.pipeline import (
    Checkpoints,
    ModelSpec,
    fit_cohort,
    load_models,
    read_session,
)
from brainbehave.latents.scorecard import score_model


def aligned(place_cells, path, seed, units=30, silent=()):
    """An aligned dataset of place cells whose position is a behaviour series of the NWB."""
    x, pos = place_cells(units=units, seed=seed)
    x[:, list(silent)] = 0
    return save_aligned_cells(path, x, pos)


def test_spec_refuses_a_parameter_of_another_kind():
    with pytest.raises(ConfigError, match=r"\['beta'\] do not apply to a contrastive model"):
        ModelSpec.from_config("m", {"kind": "contrastive", "beta": 1.0}, {})
    spec = ModelSpec.from_config("v", {"kind": "generative"}, {"scope": "cohort", "seeds": [1]})
    assert spec.scope == "session" and spec.seeds == (1,) and spec.needs_labels()


def test_missing_behaviour_variable_lists_the_available_ones(tmp_path, make_cells):
    session = read_session(aligned(make_cells, tmp_path / "a.nc", 0), None, "rat01/ses01")
    spec = ModelSpec.from_config(
        "m", {"kind": "contrastive", "conditional": "behaviour"}, {"behaviour": "speed"}
    )
    with pytest.raises(InputDataError, match=r"no behaviour variable 'speed'.*\['position'\]"):
        fit_cohort(spec, [session], tmp_path / "fit.tar", "m.pt", ["e.nc"], device="cpu")


def test_cohort_fit_and_scorecard(tmp_path, make_cells):
    sessions = [
        read_session(aligned(make_cells, tmp_path / "a.nc", 0), None, "rat01/ses01"),
        read_session(
            aligned(make_cells, tmp_path / "b.nc", 1, units=25, silent=[2]), None, "rat02/ses01"
        ),
    ]
    settings = {"kind": "contrastive", "conditional": "behaviour", "steps": 60}
    settings.update(batch_size=64, learning_rate=1e-2)
    spec = ModelSpec.from_config("beh", settings, {"seeds": [0, 1], "behaviour": "position"})
    archive, fit = tmp_path / "fit.tar", tmp_path / "fit"
    fit_cohort(spec, sessions, archive, "m.pt", ["e0.nc", "e1.nc"], device="cpu")
    unpack_folder(archive, fit, "latents_fit", ["m.pt", "e0.nc", "e1.nc"])
    assert sorted(p.name for p in fit.iterdir()) == ["e0.nc", "e1.nc", "m.pt"]  # no temp files
    outs = [fit / "e0.nc", fit / "e1.nc"]
    emb = xr.load_dataset(outs[1], engine="h5netcdf")
    assert emb["embedding"].shape == (2, 1200, 3) and emb.sizes["unit"] == 24  # silent unit dropped
    assert {"embedding_null_time_shifted", "embedding_null_shuffled_labels"} <= set(emb)
    _, models = load_models(fit / "m.pt")
    assert len(models) == 1 and models[0].n_features_in_ == [30, 24]
    card = score_model(outs, fit / "m.pt", tmp_path / "card.json", tmp_path / "plot.png")
    assert json.loads((tmp_path / "card.json").read_text())["summary"] == card["summary"]
    s = card["summary"]
    assert s["knn_r2"] > s["null_time_shifted_knn_r2"]
    assert set(card["sessions"]["rat01/ses01"]["robustness"]) == {
        "noise",
        "drop_units",
        "missing_frames",
    }
    assert (tmp_path / "plot.png").stat().st_size > 1000


@pytest.mark.parametrize("kind", ["contrastive", "generative"])
def test_fits_side_by_side_in_threads_give_the_same_embeddings(tmp_path, make_cells, kind):
    # per-session scope, two seeds and the null controls: 2 sessions x 4 fits, 8 at once on 3
    # threads; each fit is seeded on its own and draws no global random numbers
    sessions = [
        read_session(aligned(make_cells, tmp_path / f"{i}.nc", i), None, f"rat0{i}/ses01")
        for i in range(2)
    ]
    settings = {"kind": kind, "steps": 20, "batch_size": 64, "scope": "session"}
    spec = ModelSpec.from_config("m", settings, {"seeds": [0, 1], "behaviour": "position"})
    out = {}
    for threads in (1, 3):
        archive, fit = tmp_path / f"fit{threads}.tar", tmp_path / f"fit{threads}"
        intra = torch.get_num_threads()
        torch.set_num_threads(1)  # the threads' intra-op setting, for an exact comparison
        try:
            fit_cohort(spec, sessions, archive, "m.pt", ["e0.nc", "e1.nc"], "cpu", threads=threads)
        finally:
            torch.set_num_threads(intra)
        unpack_folder(archive, fit, "latents_fit", ["m.pt", "e0.nc", "e1.nc"])
        out[threads] = [xr.load_dataset(fit / f"e{i}.nc", engine="h5netcdf") for i in range(2)]
    assert torch.get_num_threads() == intra
    for one, three in zip(out[1], out[3], strict=True):
        assert set(one.data_vars) == set(three.data_vars) >= {"embedding_null_time_shifted"}
        for name in one.data_vars:
            np.testing.assert_array_equal(three[name].values, one[name].values, err_msg=name)


def test_a_fit_that_fails_while_writing_leaves_no_archive_but_its_checkpoints(tmp_path, make_cells):
    session = read_session(aligned(make_cells, tmp_path / "a.nc", 0), None, "rat01/ses01")
    settings = {"kind": "contrastive", "steps": 4, "batch_size": 32}
    spec = ModelSpec.from_config("m", settings, {"null_controls": False})
    archive, checkpoints = tmp_path / "fit.tar", Checkpoints(tmp_path / "checkpoints", every=2)
    # the embedding's folder would be the model file: writing it fails after the model is saved
    with pytest.raises(OSError):
        fit_cohort(spec, [session], archive, "m.pt", ["m.pt/e.nc"], "cpu", None, checkpoints)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nc", "checkpoints"]  # no temp
    assert list(checkpoints.folder.glob("seed0-*.pt"))  # a rerun resumes from them
    # names that would land outside the fit folder are refused before any fit
    with pytest.raises(ValueError, match="relative path inside the archived folder"):
        fit_cohort(spec, [session], archive, "m.pt", ["../e.nc"], "cpu")
    fit_cohort(spec, [session], archive, "m.pt", ["e.nc"], "cpu", None, checkpoints)
    assert not checkpoints.folder.exists()  # removed once the archive is written
    unpack_folder(archive, tmp_path / "fit", "latents_fit", ["m.pt", "e.nc"])
    assert xr.load_dataset(tmp_path / "fit/e.nc", engine="h5netcdf")["embedding"].shape[0] == 1


def test_plan_lists_targets_and_truths_in_sheet_order():
    import pandas as pd

    from brainbehave.latents.pipeline import LatentsPlan
    from brainbehave.paths import Paths

    sheet = pd.DataFrame(
        {"subject": ["rat01", "rat02"], "session": ["ses01", "ses01"], "truth": ["a.h5", "b.h5"]}
    )
    spec = ModelSpec.from_config("m", {"kind": "hybrid"}, {})
    plan = LatentsPlan(sessions=sheet, paths=Paths(), models={"m": spec})
    assert plan.truths() == ["a.h5", "b.h5"]
    assert plan.embeddings("m")[1] == "results/latents/m/fit/rat02.ses01.embedding.nc"
    # the fit archive's names: the files' paths inside the fit folder, the model first
    assert plan.fit_members() == [
        "model.pt",
        "rat01.ses01.embedding.nc",
        "rat02.ses01.embedding.nc",
    ]
    assert plan.targets() == [
        "results/latents/m/scorecard.json",
        "results/latents/m/embeddings.png",
    ]
    assert LatentsPlan(sheet.drop(columns="truth"), Paths(), {}).truths() == []


def test_reordered_model_keys_give_the_same_params():
    """Snakemake compares params as text: YAML key order must not rerun a fit."""
    defaults = {"seeds": [0], "behaviour": "position"}
    a = ModelSpec.from_config("m", {"kind": "contrastive", "steps": 5, "batch_size": 8}, defaults)
    b = ModelSpec.from_config("m", {"batch_size": 8, "steps": 5, "kind": "contrastive"}, defaults)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
