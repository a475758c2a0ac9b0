"""Tests of brainbehave.nwb: synthetic sessions written, inspected and read back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO, NWBFile

from brainbehave.nwb import (
    SYNTH_LAB,
    TTL_SERIES,
    read_ttl_times,
    read_units_spike_times,
    write_synth_nwb,
)

START = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def session() -> dict:
    """Arguments of write_synth_nwb for a small session (one unit without spikes)."""
    rng = np.random.default_rng(0)
    spikes = [np.sort(rng.uniform(3.0, 63.0, rng.integers(1, 400))) for _ in range(11)]
    spikes.append(np.array([]))
    ttl = np.round((3.0 + np.arange(1800) / 30.0 * (1 + 25e-6)) * 30000) / 30000
    return {
        "session_id": "ses-01",
        "subject_id": "rat-01",
        "session_start_time": START,
        "spike_times_neural": spikes,
        "unit_kind": ["place", "speed", "head_direction", "action", "latent", "place"] * 2,
        "ttl_times_neural": ttl,
        "description": "Virtual-lab test session.",
        "provenance": {"tool": "brainbehave synth", "seed": "0"},
    }


def test_round_trip_returns_the_spike_and_ttl_times(tmp_path: Path, session: dict) -> None:
    path = tmp_path / "rat-01_ses-01.nwb"
    write_synth_nwb(path, **session)
    spikes = read_units_spike_times(path)
    assert len(spikes) == len(session["spike_times_neural"])
    for got, sent in zip(spikes, session["spike_times_neural"], strict=True):
        np.testing.assert_array_equal(got, sent)
    np.testing.assert_array_equal(read_ttl_times(path), session["ttl_times_neural"])


def test_file_holds_metadata_kinds_and_provenance(tmp_path: Path, session: dict) -> None:
    path = tmp_path / "s.nwb"
    write_synth_nwb(path, **session)
    with NWBHDF5IO(path, mode="r") as io:
        nwbfile = io.read()
        assert nwbfile.lab == SYNTH_LAB
        assert nwbfile.session_id == "ses-01"
        assert nwbfile.session_start_time == START
        assert nwbfile.subject.subject_id == "rat-01"
        assert nwbfile.subject.species == "Rattus norvegicus"
        assert list(nwbfile.units["kind"][:]) == session["unit_kind"]
        assert "synthetic" in nwbfile.units["kind"].description.lower()
        ttl = nwbfile.acquisition[TTL_SERIES]
        assert ttl.unit == "n.a." and ttl.data.dtype == np.uint8
        assert np.all(ttl.data[:] == 1) and "dropped" in ttl.description
        assert '"seed": "0"' in nwbfile.data_collection
        identifier = nwbfile.identifier
    write_synth_nwb(path, **session)  # overwriting an existing file works
    with NWBHDF5IO(path, mode="r") as io:
        assert io.read().identifier == identifier  # deterministic, not random per call
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.nwb"]  # no temp file left


def test_nwbinspector_finds_nothing_serious(tmp_path: Path, session: dict) -> None:
    path = tmp_path / "s.nwb"
    write_synth_nwb(path, **session)
    messages = list(inspect_nwbfile(nwbfile_path=path))
    serious = [
        m for m in messages if m.importance.value >= Importance.BEST_PRACTICE_VIOLATION.value
    ]
    found = "\n".join(f"{m.importance.name} {m.check_function_name}: {m.message}" for m in messages)
    assert not serious, f"nwbinspector found:\n{found}"


def test_inputs_are_not_modified(tmp_path: Path, session: dict) -> None:
    spikes = [s.copy() for s in session["spike_times_neural"]]
    ttl = session["ttl_times_neural"].copy()
    write_synth_nwb(tmp_path / "s.nwb", **session)
    for before, after in zip(spikes, session["spike_times_neural"], strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(ttl, session["ttl_times_neural"])


def test_missing_series_error_lists_what_is_there(tmp_path: Path, session: dict) -> None:
    path = tmp_path / "s.nwb"
    write_synth_nwb(path, **session)
    with pytest.raises(KeyError, match=r"no acquisition series 'camera_ttl'.*video_frame_ttl"):
        read_ttl_times(path, series="camera_ttl")


def test_missing_units_and_missing_file_are_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.nwb"
    with NWBHDF5IO(path, mode="w") as io:
        io.write(NWBFile(session_description="x", identifier="x", session_start_time=START))
    with pytest.raises(KeyError, match=r"empty\.nwb has no Units table"):
        read_units_spike_times(path)
    with pytest.raises(FileNotFoundError, match="absent.nwb"):
        read_ttl_times(tmp_path / "absent.nwb")


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"session_start_time": datetime(2024, 3, 4, 9, 30)}, ValueError, "has no time zone"),
        ({"unit_kind": ["place"]}, ValueError, "12 spike trains but 1 unit kinds"),
        ({"ttl_times_neural": np.array([1.0, 1.0, 2.0])}, ValueError, "strictly increasing"),
        ({"spike_times_neural": [np.array([2.0, 1.0])] * 12}, ValueError, "to be sorted"),
        ({"spike_times_neural": [np.array([-1.0])] * 12}, ValueError, ">= 0"),
        ({"spike_times_resolution_s": 0.0}, ValueError, "spike_times_resolution_s"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    tmp_path: Path, session: dict, change: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        write_synth_nwb(tmp_path / "s.nwb", **(session | change))
    assert list(tmp_path.iterdir()) == []
