"""Real NWB files written by other tools: read without error, spike counts kept."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from brainbehave.align import align_nwb_session, load_aligned
from brainbehave.nwb import read_neural


def test_nelpy_linear_track_aligned_counts_match_the_source(
    shared_data: Path, tmp_path: Path
) -> None:
    nwb = shared_data / "nelpy_linear_track" / "nelpy_linear_track.nwb"
    before = hashlib.sha256(nwb.read_bytes()).hexdigest()
    recording = read_neural(nwb)
    align_nwb_session(nwb, None, tmp_path / "a.nc", subject="rat", session="lt", bin_s=1 / 60)
    ds = load_aligned(tmp_path / "a.nc")
    per_unit = [len(t) for t in recording.units.spike_times]
    assert len(per_unit) == 31
    np.testing.assert_array_equal(ds["neural"].sum("time").values, per_unit)
    position = ds["behaviour_behavior_Position_LED"]
    assert position.shape[1] == 2 and ds["valid"].mean() > 0.99
    assert list(ds["channel_tetrode"].values[:3]) == [1, 1, 1]
    assert hashlib.sha256(nwb.read_bytes()).hexdigest() == before


def test_pynapple_file_reads_with_its_electrode_groups(shared_data: Path) -> None:
    recording = read_neural(shared_data / "nwb_pynapple_small" / "A8604-211122.nwb")
    assert list(recording.units.ids) == [6, 191, 206]
    assert set(recording.units.columns["electrode_group"]) == {"group0_psb"}
    assert all(len(t) > 0 for t in recording.units.spike_times)
