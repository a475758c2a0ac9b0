"""Reading neural NWB files: units with their columns, ophys, behaviour; bad files refused."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile
from pynwb.behavior import Position
from pynwb.ophys import DfOverF
from pynwb.testing.mock.ophys import mock_PlaneSegmentation, mock_RoiResponseSeries

from brainbehave.errors import InputDataError
from brainbehave.nwb import read_neural, read_neural_dandi

START = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def _nwbfile() -> NWBFile:
    return NWBFile("test session", "id-1", START, session_id="s1")


def _write(nwbfile: NWBFile, path: Path) -> Path:
    with NWBHDF5IO(path, "w") as io:
        io.write(nwbfile)
    return path


def _ephys_file(path: Path, spikes=None, position_t=None) -> Path:
    nwbfile = _nwbfile()
    device = nwbfile.create_device("probe")
    group = nwbfile.create_electrode_group("shank0", "shank", "CA1", device)
    for _ in range(4):
        nwbfile.add_electrode(group=group, location="CA1")
    nwbfile.add_unit_column("quality", "Sorting quality.")
    spikes = spikes or [[0.5, 1.0, 2.5], [0.1], [3.0, 4.0]]
    for i, train in enumerate(spikes):
        nwbfile.add_unit(spike_times=train, electrodes=[i, i + 1], quality=["good", "mua"][i % 2])
    t = np.arange(50) / 10.0 if position_t is None else position_t
    position = Position(name="Position")
    position.create_spatial_series(
        name="head", data=np.c_[t, 2 * t], timestamps=t, reference_frame="arena corner"
    )
    nwbfile.create_processing_module("behavior", "behaviour").add(position)
    return _write(nwbfile, path)


def test_units_keep_spike_times_electrodes_and_quality(tmp_path: Path) -> None:
    rec = read_neural(_ephys_file(tmp_path / "e.nwb"))
    np.testing.assert_array_equal(rec.units.spike_times[0], [0.5, 1.0, 2.5])
    assert list(rec.units.columns["quality"]) == ["good", "mua", "good"]
    assert list(rec.units.columns["electrodes"]) == [[0, 1], [1, 2], [2, 3]]
    assert rec.session_start_time == START and rec.session_id == "s1"


def test_behaviour_already_in_the_file_is_read(tmp_path: Path) -> None:
    rec = read_neural(_ephys_file(tmp_path / "e.nwb"))
    (pos,) = rec.behaviour
    assert pos.name == "behavior/Position/head" and pos.kind == "position"
    assert pos.data.shape == (50, 2) and pos.data[10, 1] == pytest.approx(2.0)


def test_ophys_traces_are_read_with_times_from_the_rate(tmp_path: Path) -> None:
    nwbfile = _nwbfile()
    plane = mock_PlaneSegmentation(nwbfile=nwbfile, n_rois=3)
    rois = plane.create_roi_table_region(region=[0, 1, 2], description="all")
    series = mock_RoiResponseSeries(
        name="RoiResponseSeries", rois=rois, data=np.ones((40, 3)), rate=20.0, nwbfile=None
    )
    nwbfile.processing["ophys"].add(DfOverF(roi_response_series=series))
    rec = read_neural(_write(nwbfile, tmp_path / "o.nwb"))
    assert rec.units is None
    (dff,) = rec.ophys
    assert dff.kind == "dff" and dff.data.shape == (40, 3)
    assert dff.timestamps[1] == pytest.approx(0.05)


def test_a_file_without_units_or_ophys_is_refused_by_name(tmp_path: Path) -> None:
    path = _write(_nwbfile(), tmp_path / "empty.nwb")
    with pytest.raises(InputDataError, match=r"empty\.nwb: no neural data found"):
        read_neural(path)


def test_backwards_timestamps_are_refused(tmp_path: Path) -> None:
    t = np.arange(50) / 10.0
    t[[20, 21]] = t[[21, 20]]
    path = _ephys_file(tmp_path / "back.nwb", position_t=t)
    with pytest.raises(InputDataError, match="timestamps go backwards 1 times"):
        read_neural(path)


def test_spike_times_outside_the_session_are_refused(tmp_path: Path) -> None:
    path = _ephys_file(tmp_path / "neg.nwb", spikes=[[-0.5, 1.0], [2.0]])
    with pytest.raises(InputDataError, match="unit 0 has spike times outside the session"):
        read_neural(path)


def test_a_start_time_without_time_zone_is_refused_or_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _ephys_file(tmp_path / "naive.nwb")
    with h5py.File(path, "a") as h5:
        for key in ("session_start_time", "timestamps_reference_time"):
            del h5[key]
            h5[key] = "2024-05-06T10:00:00"
    with pytest.warns(UserWarning), pytest.raises(InputDataError, match="has no time zone"):
        read_neural(path)
    with pytest.warns(UserWarning), caplog.at_level(logging.WARNING):
        rec = read_neural(path, naive_start_ok=True)
    assert rec.units is not None and "has no time zone" in caplog.text


def test_reading_leaves_the_file_unchanged(tmp_path: Path) -> None:
    path = _ephys_file(tmp_path / "e.nwb")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    read_neural(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_dandi_streaming_offline_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    def offline(*args, **kwargs):
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(requests, "get", offline)
    with pytest.raises(InputDataError, match="Streaming needs internet.*local path"):
        read_neural_dandi("000409", "sub-x/sub-x_ses-y.nwb")
