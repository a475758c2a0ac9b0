"""The neural stage on a virtual-lab session's real files: aligned dataset and derived NWB."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO

from brainbehave.align import CONTRACT_VERSION, align_nwb_session, load_aligned
from brainbehave.align_behaviour import load_session_behaviour
from brainbehave.behaviour.labels import load_labels
from brainbehave.errors import InputDataError
from brainbehave.nwb import LATENTS_MODULE, write_session_derived_nwb
from brainbehave.sync import read_sync
from brainbehave.synth.skeleton import EDGES


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def aligned(lab_session: dict) -> xr.Dataset:
    s = lab_session
    out = s["root"] / "aligned.nc"
    align_nwb_session(
        s["nwb"],
        s["sync"],
        out,
        subject="rat01",
        session="ses01",
        pose2d=s["pose2d"],
        pose3d=s["pose3d"],
        features=s["features"],
        labels=s["labels"],
    )
    return load_aligned(out)


def test_pose_is_placed_on_the_neural_clock_with_each_cameras_frames(
    lab_session: dict, aligned: xr.Dataset
) -> None:
    truth = lab_session["truth"]
    assert aligned.attrs["contract_version"] == CONTRACT_VERSION == 2
    # the truth at every exposure through the TRUE clock map, dropped exposures included
    t_true = truth.video_to_neural(truth.exposure_times_video)
    centres = aligned["time"].values
    inside = (centres > t_true[0]) & (centres < t_true[-1])
    k = truth.keypoints.index("nose")
    for cam in truth.cameras:
        want = np.interp(centres[inside], t_true, truth.pose2d[cam][:, k, 0])
        got = aligned[f"pose_{cam}"].sel({f"pose_{cam}_space": "x"}).values[inside, k]
        assert np.nanmax(np.abs(got - want)) < 0.5  # px; sync error is microseconds
    want = np.interp(centres[inside], t_true, truth.pose3d[:, k, 2])
    got = aligned["pose_3d"].sel(pose_3d_space="z").values[inside, k]
    assert np.nanmax(np.abs(got - want)) < 1.0  # mm
    assert "feature_speed" in aligned and aligned["feature_speed"].dims[0] == "time"


def test_labels_are_named_by_source_and_level_and_missing_frames_get_minus_one(
    lab_session: dict, aligned: xr.Dataset
) -> None:
    truth = lab_session["truth"]
    for level, names in truth.level_names.items():
        var = aligned[f"label_truth_{level}"]
        assert var.dtype == np.int16
        assert var.attrs["source"] == "truth" and var.attrs["level"] == level
        assert json.loads(var.attrs["names"]) == list(names)
    assert {"label_rules_action", "label_rules_activity"} <= set(aligned.data_vars)
    t_true = truth.video_to_neural(truth.exposure_times_video)
    codes = aligned["label_truth_action"].values
    dropped = read_sync(lab_session["sync"])["camA"].dropped_exposures
    assert len(dropped) == 2
    for exposure in dropped:  # the bin centred on a lost frame has no frame near: -1, invalid
        b = int(np.argmin(np.abs(aligned["time"].values - t_true[exposure])))
        assert codes[b] == -1 and not aligned["valid"].values[b]
    # elsewhere the label is the true label of the exposure at the bin centre
    nearest = np.abs(t_true[:, None] - aligned["time"].values[None, :]).argmin(axis=0)
    ok = codes >= 0
    np.testing.assert_array_equal(codes[ok], truth.labels["action"][nearest[ok]])
    assert ok.mean() > 0.9


def test_behaviour_files_with_the_wrong_frame_count_are_refused(
    lab_session: dict, tmp_path: Path
) -> None:
    short = load_labels(lab_session["labels"]["truth"]).isel(time=slice(0, -3))
    short.to_netcdf(tmp_path / "short.nc", engine="h5netcdf")
    with pytest.raises(InputDataError, match=r"short\.nc: truth labels has \d+ frames but the"):
        load_session_behaviour(lab_session["sync"], labels={"truth": tmp_path / "short.nc"})


@pytest.fixture(scope="module")
def derived(lab_session: dict, aligned: xr.Dataset) -> dict:
    s = lab_session
    embedding = s["root"] / "embedding.nc"
    keep = aligned["valid"].values
    s["make_embedding"](aligned["time"].values[keep], embedding)
    before = _sha(s["nwb"])
    out = write_session_derived_nwb(
        s["root"] / "derived.nwb",
        s["nwb"],
        s["sync"],
        pose2d=s["pose2d"],
        pose3d=s["pose3d"],
        labels=s["labels"],
        latents={"tiny": embedding},
        skeleton_edges=EDGES,
        provenance={"tool": "test"},
    )
    assert _sha(s["nwb"]) == before  # the source NWB is never modified
    return {"path": out, "embedding": embedding}


def test_derived_nwb_passes_nwbinspector(derived: dict) -> None:
    found = list(inspect_nwbfile(nwbfile_path=derived["path"]))
    assert not [m for m in found if m.importance == Importance.CRITICAL], found


def test_derived_nwb_reads_back_pose_intervals_and_latents(
    lab_session: dict, derived: dict
) -> None:
    syncs = read_sync(lab_session["sync"])
    behaviour = load_session_behaviour(
        lab_session["sync"],
        pose2d=lab_session["pose2d"],
        pose3d=lab_session["pose3d"],
        labels=lab_session["labels"],
    )
    with NWBHDF5IO(derived["path"], "r") as io:
        nwbfile = io.read()
        behavior = nwbfile.processing["behavior"]
        assert len(behavior["Skeletons"].skeletons["skeleton"].edges[:]) == len(EDGES)
        for name, ds in behaviour.pose.items():
            series = behavior[f"PoseEstimation_{name}"].pose_estimation_series["nose"]
            want = ds["position"].sel(keypoints="nose").isel(individuals=0).values
            np.testing.assert_allclose(series.data[:], want, rtol=1e-6, atol=1e-3)
            cam = name if name in syncs else "camA"  # 3D rows are the first camera's frames
            np.testing.assert_array_equal(series.timestamps[:], syncs[cam].frame_times_neural)
        intervals = behaviour.intervals()
        for (source, level), rows in intervals.groupby(["source", "level"]):
            table = nwbfile.intervals[f"behaviour_{source}_{level}"].to_dataframe()
            assert list(table["label"]) == list(rows["label"])
            np.testing.assert_allclose(table["start_time"], rows["start"])
            np.testing.assert_allclose(table["stop_time"], rows["stop"])
        assert {"behaviour_truth_action", "behaviour_rules_action"} <= set(nwbfile.intervals)
        latents = nwbfile.processing[LATENTS_MODULE]
        with xr.open_dataset(derived["embedding"], engine="h5netcdf") as emb:
            for k, seed in enumerate(emb["seed"].values):
                series = latents[f"tiny_seed{seed}"]
                np.testing.assert_allclose(series.data[:], emb["embedding"].values[k], rtol=1e-6)
                np.testing.assert_allclose(series.timestamps[:], emb["time"].values)
        notes = json.loads(nwbfile.notes.split(": ", 1)[1])
        assert notes["tool"] == "test" and notes["sync"]["camA"]["method"] == "ttl+frame_times"
        assert notes["inputs"]["latents"] == {"tiny": str(derived["embedding"])}
