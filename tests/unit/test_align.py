"""Binning and the aligned session dataset: counts, resampling, labels, masks, split, file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainbehave.align import (
    SessionBehaviour,
    align_session,
    assign_labels,
    bin_edges,
    bin_spike_counts,
    contiguous_split,
    load_aligned,
    resample,
    save_aligned,
)
from brainbehave.behaviour.labels import labels_dataset
from brainbehave.errors import InputDataError
from brainbehave.nwb import NeuralRecording, SeriesData, UnitsData
from brainbehave.pose import pose_dataset


def _recording(spikes: list[np.ndarray], behaviour: list[SeriesData] | None = None):
    ids = np.arange(len(spikes)) + 10
    columns = pd.DataFrame({"quality": ["good"] * len(spikes)}, index=ids)
    return NeuralRecording(
        path="mem.nwb",
        identifier="x",
        session_id="s",
        subject_id="r",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
        units=UnitsData(ids, spikes, columns),
        behaviour=behaviour or [],
    )


def test_spike_counts_match_a_histogram_and_edges_go_to_the_later_bin() -> None:
    rng = np.random.default_rng(0)
    spikes = [np.sort(rng.uniform(0, 10, n)) for n in (0, 5, 300)]
    edges = bin_edges(0.0, 10.0, 0.1)
    counts = bin_spike_counts(spikes, edges)
    for u, train in enumerate(spikes):
        np.testing.assert_array_equal(counts[:, u], np.histogram(train, edges)[0])
    on_edge = bin_spike_counts([np.array([0.2])], np.array([0.0, 0.2, 0.4]))
    np.testing.assert_array_equal(on_edge[:, 0], [0, 1])


def test_resampling_is_linear_and_nan_outside_or_across_gaps() -> None:
    t = np.array([0.0, 1.0, 2.0, 5.0])
    v = np.array([0.0, 10.0, 20.0, 50.0])
    out = resample(t, v, np.array([-0.5, 0.5, 1.5, 3.0, 5.5]), max_gap_s=1.5)[:, 0]
    np.testing.assert_allclose(out[[1, 2]], [5.0, 15.0])
    assert np.isnan(out[[0, 3, 4]]).all()


def test_labels_come_from_the_nearest_frame_or_minus_one() -> None:
    frames = np.array([0.0, 0.1, 0.3])  # the frame at 0.2 s was dropped
    got = assign_labels(frames, np.array([1, 2, 3]), np.array([0.01, 0.12, 0.2, 0.29]), 0.075)
    np.testing.assert_array_equal(got, [1, 2, -1, 3])


def test_split_uses_contiguous_blocks_with_the_asked_share() -> None:
    split = contiguous_split(1000, test_fraction=0.2, n_blocks=10)
    assert split.mean() == pytest.approx(0.2)
    assert np.count_nonzero(np.diff(split)) == 4  # two test blocks, each entered and left
    assert split[0] == 0 and split[-1] == 0
    with pytest.raises(InputDataError, match="test_fraction must lie in"):
        contiguous_split(100, test_fraction=1.0)


def test_a_bad_bin_width_is_refused() -> None:
    with pytest.raises(InputDataError, match="bin width must be a positive number"):
        bin_edges(0.0, 1.0, 0.0)


def test_aligned_session_bins_spikes_pose_and_labels_on_the_video_frames() -> None:
    fps = 30.0
    frames = 5.0 + np.delete(np.arange(300), 150) / fps  # frame 150 dropped
    spikes = [np.sort(np.random.default_rng(1).uniform(4.0, 16.0, 500)), np.array([9.0])]
    xy = np.stack([frames, -frames], axis=-1)[:, None, :].repeat(2, axis=1)  # (T, K, 2)
    pose = pose_dataset(xy, None, ["nose", "tail"], fps, source_software="test", units="px")
    labels = labels_dataset(
        {"action": (["rest", "walk"], np.where(frames < 8.0, 0, 1))}, fps, "rules"
    )
    behaviour = SessionBehaviour(
        frames,
        pose={"camA": pose},
        features={"speed": np.full(len(frames), 3.0)},
        labels={"rules": labels},
    )
    ds = align_session(
        _recording(spikes), subject="rat01", session="ses01", bin_s=1 / fps, behaviour=behaviour
    )
    assert ds.sizes["time"] == 300 and ds.attrs["neural_kind"] == "spike_counts"
    assert ds["time"].values[0] == pytest.approx(5.0)
    inside = ((spikes[0] >= ds.bin_start.values[0]) & (spikes[0] < ds.bin_stop.values[-1])).sum()
    assert ds["neural"].sel(channel=10).sum() == inside
    assert ds.attrs["spikes_outside"] == 500 - inside
    x = ds["pose_camA"].sel(pose_camA_space="x", pose_camA_keypoints="nose").values
    np.testing.assert_allclose(x, ds["time"].values, atol=1e-9)  # the dropped frame interpolated
    np.testing.assert_allclose(ds["feature_speed"].values[:, 0], 3.0)
    assert json.loads(ds["label_rules_action"].attrs["names"]) == ["rest", "walk"]
    assert ds["label_rules_action"].attrs["source"] == "rules"
    assert ds["label_rules_action"].values[150] == -1 and ds["label_rules_action"].values[0] == 0
    # the dropped frame's bin has pose (interpolated) but no label: only it is invalid
    assert np.flatnonzero(~ds["valid"].values).tolist() == [150]
    assert list(ds["channel_quality"].values) == ["good", "good"]


def test_unlabelled_frames_and_a_lost_animal_do_not_invalidate_bins() -> None:
    """A frame no rule labelled (-1) or a camera that lost the animal (all NaN) is missing
    in that variable only; the bin stays usable for the neural data and the other variables."""
    fps = 30.0
    frames = 5.0 + np.arange(90) / fps
    xy = np.stack([frames, frames], axis=-1)[:, None, :]
    xy[30:40] = np.nan  # the animal left camA's view for 10 frames
    pose = pose_dataset(xy, None, ["nose"], fps, source_software="test", units="px")
    codes = np.where(np.arange(90) < 60, -1, 0)  # no rule matched the first 60 frames
    labels = labels_dataset({"action": (["walk"], codes)}, fps, "rules")
    behaviour = SessionBehaviour(frames, pose={"camA": pose}, labels={"rules": labels})
    spikes = [np.sort(np.random.default_rng(2).uniform(5.0, 8.0, 100))]
    ds = align_session(
        _recording(spikes), subject="rat01", session="ses01", bin_s=1 / fps, behaviour=behaviour
    )
    assert ds["valid"].values.all()
    assert (ds["label_rules_action"].values[:60] == -1).all()
    assert np.isnan(ds["pose_camA"].values[30:40]).all()


def test_behaviour_in_the_file_masks_bins_where_it_is_missing() -> None:
    t = np.arange(0.0, 5.0, 0.1)
    series = SeriesData("behavior/Position/head", "position", t, np.c_[t, t])
    ds = align_session(
        _recording([np.array([1.0, 7.0])], [series]), subject="r", session="s", bin_s=0.5
    )
    assert ds.attrs["spikes_outside"] == 0 and int(ds["neural"].sum()) == 2
    mask = ds["mask_behaviour"].values
    assert mask[ds["time"].values < 4.9].all() and not mask[ds["time"].values > 5.0].any()


def test_pose_with_the_wrong_number_of_frames_is_refused() -> None:
    pose = pose_dataset(np.zeros((5, 1, 2)), None, ["nose"], 30.0, source_software="t", units="px")
    with pytest.raises(InputDataError, match="has 5 frames but the synchronised video has 10"):
        align_session(
            _recording([np.array([0.1])]),
            subject="r",
            session="s",
            bin_s=0.1,
            behaviour=SessionBehaviour(np.arange(10) / 30.0, pose={"camA": pose}),
        )


def test_the_file_round_trips_and_other_files_are_refused(tmp_path: Path) -> None:
    ds = align_session(
        _recording([np.array([0.5, 1.5, 2.5])]),
        subject="r",
        session="s",
        bin_s=0.25,
        n_blocks=3,
        provenance={"tool": "test"},
    )
    save_aligned(ds, tmp_path / "a.nc")
    back = load_aligned(tmp_path / "a.nc")
    np.testing.assert_array_equal(back["neural"].values, ds["neural"].values)
    assert back["valid"].dtype == bool and json.loads(back.attrs["provenance"]) == {"tool": "test"}
    ds.drop_vars("split").to_netcdf(tmp_path / "old.nc", engine="h5netcdf")
    with pytest.raises(InputDataError, match=r"missing variables \['split'\]"):
        load_aligned(tmp_path / "old.nc")


def test_ophys_only_sessions_bin_the_dff_traces() -> None:
    t = np.arange(0.0, 10.0, 0.05)  # 20 Hz imaging
    dff = SeriesData("ophys/DfOverF/RoiResponseSeries", "dff", t, np.c_[t, 2 * t])
    raw = SeriesData("ophys/Fluorescence/RoiResponseSeries", "fluorescence", t, np.c_[t])
    recording = NeuralRecording(
        path="mem.nwb",
        identifier="x",
        session_id="s",
        subject_id="r",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
        units=None,
        ophys=[raw, dff],
    )
    ds = align_session(recording, subject="r", session="s", bin_s=0.1)
    assert ds.attrs["neural_kind"] == "dff" and ds.sizes["channel"] == 2
    inside = ds["mask_neural"].values
    np.testing.assert_allclose(
        ds["neural"].values[inside, 1], 2 * ds["time"].values[inside], rtol=1e-5
    )
    assert inside.all() and ds.sizes["time"] == 100  # 0 to 9.95 s in 0.1 s bins
    assert "ophys_ophys_Fluorescence_RoiResponseSeries" in ds
