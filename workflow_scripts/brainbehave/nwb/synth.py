"""Writing and reading the virtual lab's NWB files (units + frame-sync TTL)."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
from hdmf.common import VectorData, VectorIndex
from pynwb import NWBFile, TimeSeries
from pynwb.file import Subject
from pynwb.misc import Units

from brainbehave import __version__
from brainbehave.nwb.read import open_read, write_atomic

logger = logging.getLogger(__name__)


TTL_SERIES = "video_frame_ttl"
SYNTH_LAB = "virtual lab (brainbehave synth)"
SYNTH_EXPERIMENTER = "Lab, Virtual"
# Fixed namespace for identifiers of synthetic files: same inputs, same identifier.
_SYNTH_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/brainbehave/synth")


def _check_start_time(session_start_time: datetime) -> None:
    if not isinstance(session_start_time, datetime):
        raise TypeError(
            f"Expected 'session_start_time' to be a datetime, got {type(session_start_time)}."
        )
    if session_start_time.tzinfo is None or session_start_time.utcoffset() is None:
        raise ValueError(
            f"'session_start_time' {session_start_time.isoformat()} has no time zone; NWB needs "
            "a tz-aware datetime, e.g. datetime(..., tzinfo=zoneinfo.ZoneInfo('Europe/Paris'))."
        )


def _check_times(name: str, t: np.ndarray, strictly: bool) -> np.ndarray:
    """A 1-D, finite, non-negative, ascending float copy of ``t``."""
    t = np.array(t, dtype=float, copy=True)
    if t.ndim != 1:
        raise ValueError(f"Expected '{name}' to be 1-D, but got shape {t.shape}.")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"'{name}' must be finite and >= 0 (seconds from session start).")
    steps = np.diff(t)
    bad = steps <= 0 if strictly else steps < 0
    if np.any(bad):
        order = "strictly increasing" if strictly else "sorted"
        raise ValueError(f"Expected '{name}' to be {order}, but it is not.")
    return t


def _synth_identifier(subject_id: str, session_id: str, provenance: Mapping[str, str]) -> str:
    key = f"{subject_id}/{session_id}/" + json.dumps(dict(provenance), sort_keys=True)
    return str(uuid.uuid5(_SYNTH_NAMESPACE, key))


def _synth_units(
    spike_times: list[np.ndarray], unit_kind: Sequence[str], resolution_s: float
) -> Units:
    if not np.isfinite(resolution_s) or resolution_s <= 0:
        raise ValueError(
            f"Expected 'spike_times_resolution_s' to be a positive number, got {resolution_s}."
        )
    # Columns built from flat arrays: add_unit() per row keeps Python lists, and writing
    # millions of spike times from a list took 20 s for an hour of 500 units.
    spike_column = VectorData(
        name="spike_times",
        description="Spike times (s from session start) on the neural clock.",
        data=np.concatenate(spike_times) if spike_times else np.zeros(0),
    )
    ends = np.cumsum([len(t) for t in spike_times], dtype=np.int64)
    kind_column = VectorData(
        name="kind",
        description=(
            "Ground-truth cell type of the synthetic unit (place, speed, head_direction, "
            "action, latent); known only because the data are simulated."
        ),
        data=[str(k) for k in unit_kind],
    )
    units = Units(
        name="units",
        resolution=float(resolution_s),
        description=(
            "Synthetic units simulated by brainbehave (Poisson spikes from known tuning). "
            "Spike times in seconds from session start on the neural clock."
        ),
        id=np.arange(len(spike_times)),
        columns=[
            spike_column,
            VectorIndex(name="spike_times_index", data=ends, target=spike_column),
            kind_column,
        ],
    )
    return units


def _ttl_series(ttl_times: np.ndarray) -> TimeSeries:
    return TimeSeries(
        name=TTL_SERIES,
        data=np.ones(ttl_times.shape[0], dtype=np.uint8),
        timestamps=ttl_times,
        unit="n.a.",
        description=(
            "Camera frame-sync TTL: one pulse per camera exposure, time-stamped on the neural "
            "acquisition clock, including exposures the video dropped. Data are 1 per pulse."
        ),
    )


def build_synth_nwbfile(
    *,
    session_id: str,
    subject_id: str,
    session_start_time: datetime,
    spike_times_neural: Sequence[np.ndarray],
    unit_kind: Sequence[str],
    ttl_times_neural: np.ndarray,
    description: str,
    provenance: Mapping[str, str],
    species: str = "Rattus norvegicus",
    sex: str = "M",
    age: str = "P90D",
    spike_times_resolution_s: float = 1.0 / 30000.0,
) -> NWBFile:
    """The in-memory NWBFile :func:`write_synth_nwb` writes (same arguments)."""
    _check_start_time(session_start_time)
    if len(spike_times_neural) != len(unit_kind):
        raise ValueError(
            f"Got {len(spike_times_neural)} spike trains but {len(unit_kind)} unit kinds; "
            "pass one kind per unit."
        )
    spikes = [
        _check_times(f"spike_times_neural[{i}]", t, strictly=False)
        for i, t in enumerate(spike_times_neural)
    ]
    ttl = _check_times("ttl_times_neural", ttl_times_neural, strictly=True)
    nwbfile = NWBFile(
        session_description=description,
        identifier=_synth_identifier(subject_id, session_id, provenance),
        session_start_time=session_start_time,
        session_id=session_id,
        experimenter=[SYNTH_EXPERIMENTER],
        lab=SYNTH_LAB,
        institution="none (synthetic data)",
        experiment_description=(
            "Synthetic session of the brainbehave virtual lab: simulated behaviour, cameras "
            "and neurons with known ground truth."
        ),
        keywords=["synthetic", "ground truth", "brainbehave"],
        data_collection="Simulated, not recorded. Provenance (JSON): "
        + json.dumps(dict(provenance), sort_keys=True),
        source_script=f"brainbehave {__version__} (brainbehave.nwb.write_synth_nwb)",
        source_script_file_name="brainbehave/nwb.py",
        subject=Subject(
            subject_id=subject_id,
            species=species,
            sex=sex,
            age=age,
            description="Virtual rat of the brainbehave synthetic cohort (simulated).",
        ),
        units=_synth_units(spikes, unit_kind, spike_times_resolution_s),
    )
    nwbfile.add_acquisition(_ttl_series(ttl))
    return nwbfile


def write_synth_nwb(
    path: str | os.PathLike,
    *,
    session_id: str,
    subject_id: str,
    session_start_time: datetime,
    spike_times_neural: Sequence[np.ndarray],
    unit_kind: Sequence[str],
    ttl_times_neural: np.ndarray,
    description: str,
    provenance: Mapping[str, str],
    species: str = "Rattus norvegicus",
    sex: str = "M",
    age: str = "P90D",
    spike_times_resolution_s: float = 1.0 / 30000.0,
) -> None:
    """Write one synthetic session to NWB, atomically.

    Parameters
    ----------
    path
        Output file (``.nwb``); its directory is created if needed. Written to a temporary
        file in the same directory, then moved into place, so readers never see half a file.
    session_id, subject_id
        Identifiers of the session and subject.
    session_start_time
        Tz-aware start of the session; all times are seconds from it.
    spike_times_neural
        Per unit, its sorted spike times (s) on the neural clock.
    unit_kind
        Per unit, its ground-truth cell type (stored in the ``kind`` column).
    ttl_times_neural
        (N,) strictly increasing times of the frame-sync TTL pulses on the neural clock,
        one per camera exposure (dropped exposures included).
    description
        Session description.
    provenance
        Tool, version, seed, parameters: stored as JSON in ``data_collection``.
    species, sex, age
        Subject metadata (age as an ISO 8601 duration).
    spike_times_resolution_s
        Smallest possible difference between two spike times: one sample of the 30 kHz
        acquisition by default (spike times mapped with
        ``ClockTruth.video_to_neural_sampled`` lie on that grid).

    Raises
    ------
    ValueError
        If ``session_start_time`` is tz-naive, times are not 1-D, finite, non-negative and
        sorted, or the number of units and kinds differ.

    Notes
    -----
    The identifier is a UUID5 of subject, session and provenance, so the file's content is
    deterministic; its bytes are not (creation dates).
    """
    nwbfile = build_synth_nwbfile(
        session_id=session_id,
        subject_id=subject_id,
        session_start_time=session_start_time,
        spike_times_neural=spike_times_neural,
        unit_kind=unit_kind,
        ttl_times_neural=ttl_times_neural,
        description=description,
        provenance=provenance,
        species=species,
        sex=sex,
        age=age,
        spike_times_resolution_s=spike_times_resolution_s,
    )
    path = write_atomic(nwbfile, path)
    logger.info(
        "Wrote %s: %d units, %d TTL pulses", path, len(nwbfile.units), len(ttl_times_neural)
    )


def read_ttl_times(path: str | os.PathLike, series: str = TTL_SERIES) -> np.ndarray:
    """Timestamps (s) of an acquisition TimeSeries, by default the frame-sync TTL.

    Raises
    ------
    KeyError
        If the file has no acquisition series of that name (the message lists those it has).
    ValueError
        If the series has a sampling rate but no timestamps.
    """
    with open_read(path) as io:
        nwbfile = io.read()
        if series not in nwbfile.acquisition:
            raise KeyError(
                f"{path} has no acquisition series {series!r}; it has "
                f"{sorted(nwbfile.acquisition)}. Pass one of those as 'series'."
            )
        timestamps = nwbfile.acquisition[series].timestamps
        if timestamps is None:
            raise ValueError(
                f"Series {series!r} in {path} has a sampling rate, not timestamps; a sync "
                "series needs one timestamp per pulse."
            )
        return np.asarray(timestamps[:], dtype=float)


def read_units_spike_times(path: str | os.PathLike) -> list[np.ndarray]:
    """Per unit, its spike times (s from session start), in the Units table's row order.

    Raises
    ------
    KeyError
        If the file has no Units table or it has no ``spike_times`` column.
    """
    with open_read(path) as io:
        nwbfile = io.read()
        units = nwbfile.units
        if units is None:
            raise KeyError(
                f"{path} has no Units table; it has acquisition {sorted(nwbfile.acquisition)} "
                f"and processing modules {sorted(nwbfile.processing)}."
            )
        if "spike_times" not in units.colnames:
            raise KeyError(
                f"The Units table of {path} has no 'spike_times'; it has {units.colnames}."
            )
        index = units["spike_times"]  # VectorIndex: end offset of each unit in the flat data
        ends = np.asarray(index.data[:], dtype=np.int64)
        flat = np.asarray(index.target.data[:], dtype=float)
        return np.split(flat, ends[:-1]) if len(ends) else []


# -- reading neural recordings (read-only) -----------------------------------------------
