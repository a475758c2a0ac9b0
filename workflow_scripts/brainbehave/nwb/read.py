"""Reading neural recordings from NWB (local or streamed from DANDI), read-only."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from dateutil import parser as dateutil_parser
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.behavior import BehavioralTimeSeries, CompassDirection, Position, SpatialSeries
from pynwb.misc import Units
from pynwb.ophys import DfOverF, Fluorescence

from brainbehave.atomic import atomic_path
from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)


def open_read(path: str | os.PathLike) -> NWBHDF5IO:
    """Open an NWB file read-only, with an error that names the file when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NWB file not found: {path}")
    try:
        return NWBHDF5IO(str(path), mode="r")
    except OSError as err:
        raise InputDataError(
            f"Cannot read NWB file {path}: {err}. Expected a complete NWB (HDF5) file; "
            "copy or export it again (a truncated copy is the usual cause)."
        ) from err


def write_atomic(nwbfile: NWBFile, path: str | os.PathLike) -> Path:
    """Write an NWB file whole or not at all: a temp file in the same folder, then rename."""
    path = Path(path)
    with atomic_path(path, suffix=".tmp.nwb") as tmp, NWBHDF5IO(str(tmp), mode="w") as io:
        io.write(nwbfile)
    return path


@dataclass(eq=False)
class UnitsData:
    """Spike-sorted units of a recording.

    Attributes
    ----------
    ids
        (U,) unit ids of the Units table.
    spike_times
        Per unit, its sorted spike times (s from session start).
    columns
        One row per unit (index: ids) with the table's other columns (electrodes as lists of
        electrode-table rows, objects such as electrode groups by name).
    resolution
        The Units table's spike-time resolution (s), NaN when unknown.
    """

    ids: np.ndarray
    spike_times: list[np.ndarray]
    columns: pd.DataFrame
    resolution: float = float("nan")


@dataclass(eq=False)
class SeriesData:
    """One time series of a recording (ophys traces or behaviour), as arrays.

    Attributes
    ----------
    name
        Where it lives in the file, e.g. ``ophys/DfOverF/RoiResponseSeries``.
    kind
        ``dff``, ``fluorescence``, ``position``, ``direction`` or ``behaviour``.
    timestamps
        (T,) seconds from session start, non-decreasing.
    data
        (T, C) values, one column per ROI or dimension.
    unit, description
        As in the file.
    """

    name: str
    kind: str
    timestamps: np.ndarray
    data: np.ndarray
    unit: str = ""
    description: str = ""


@dataclass(eq=False)
class NeuralRecording:
    """What a neural NWB file holds, read into memory (the file is closed afterwards)."""

    path: str
    identifier: str
    session_id: str | None
    subject_id: str | None
    session_start_time: datetime
    units: UnitsData | None
    ophys: list[SeriesData] = field(default_factory=list)
    behaviour: list[SeriesData] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def stored_start_is_naive(h5: Any) -> bool:
    """Whether the file's ``session_start_time`` string has no time zone.

    Checked on the stored string: pynwb gives a naive time the local zone when reading.
    """
    raw = h5["session_start_time"][()]
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dateutil_parser.isoparse(text).tzinfo is None


def _check_start_on_read(naive: bool, start: datetime, where: str, naive_start_ok: bool) -> None:
    if not naive:
        return
    message = (
        f"{where}: session_start_time {start.replace(tzinfo=None).isoformat()} has no time "
        "zone, so its times cannot be placed on a calendar. Rewrite the file with a tz-aware "
        "start time (e.g. with neuroconv or pynwb), or accept it knowingly with "
        "naive_start_ok=True (config neural.naive_start_ok)."
    )
    if not naive_start_ok:
        raise InputDataError(message)
    logger.warning(message)


def _series_times(series: TimeSeries, where: str) -> np.ndarray:
    """Timestamps of a series (from ``timestamps`` or ``starting_time`` and ``rate``)."""
    n = series.data.shape[0]
    if series.timestamps is not None:
        t = np.asarray(series.timestamps[:], dtype=float)
    else:
        t = float(series.starting_time or 0.0) + np.arange(n) / float(series.rate)
    if not np.all(np.isfinite(t)):
        raise InputDataError(f"{where}: timestamps hold NaN or infinite values.")
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        raise InputDataError(
            f"{where}: timestamps go backwards {len(back)} times (first at index {back[0] + 1}: "
            f"{t[back[0]]} then {t[back[0] + 1]}). NWB timestamps must be in increasing order; "
            "fix the file that wrote them."
        )
    ties = int(np.sum(np.diff(t) == 0))
    if ties:
        logger.warning("%s: %d repeated timestamps (kept)", where, ties)
    return t


def _series_data(series: TimeSeries, kind: str, name: str, where: str) -> SeriesData:
    data = np.asarray(series.data[:])
    data = data.reshape(len(data), -1).astype(float)
    times = _series_times(series, f"{where} {name}")
    if len(times) != len(data):
        raise InputDataError(
            f"{where} {name}: {len(data)} samples but {len(times)} timestamps; they must match."
        )
    return SeriesData(name, kind, times, data, str(series.unit), str(series.description))


def _unit_columns(units: Units, ids: np.ndarray) -> pd.DataFrame:
    skip = {"spike_times", "obs_intervals", "waveforms", "waveform_mean", "waveform_sd"}
    table = units.to_dataframe(index=True, exclude=skip)
    out = pd.DataFrame(index=pd.Index(ids, name="unit"))
    for col in table.columns:
        values = table[col].tolist()
        if all(isinstance(v, (list, tuple, np.ndarray)) for v in values):
            values = [
                [int(x) if np.issubdtype(type(x), np.integer) else x for x in v] for v in values
            ]
        elif all(hasattr(v, "name") and not isinstance(v, str) for v in values):
            values = [v.name for v in values]
        out[col] = values
    return out


def _read_units(nwbfile: NWBFile, where: str) -> UnitsData | None:
    units = nwbfile.units
    if units is None or len(units) == 0:
        return None
    if "spike_times" not in units.colnames:
        raise InputDataError(
            f"{where}: the Units table has no 'spike_times'; it has {units.colnames}."
        )
    index = units["spike_times"]
    ends = np.asarray(index.data[:], dtype=np.int64)
    flat = np.asarray(index.target.data[:], dtype=float)
    trains = np.split(flat, ends[:-1]) if len(ends) else []
    ids = np.asarray(units.id[:])
    for uid, train in zip(ids, trains, strict=True):
        if len(train) and (not np.all(np.isfinite(train)) or train.min() < 0):
            raise InputDataError(
                f"{where}: unit {uid} has spike times outside the session (negative or NaN; "
                f"min {np.nanmin(train)} s). Spike times are seconds from session_start_time."
            )
        if np.any(np.diff(train) < 0):
            raise InputDataError(
                f"{where}: the spike times of unit {uid} are not in increasing order. Sort them "
                "in the file that wrote them."
            )
    resolution = float(units.resolution) if units.resolution is not None else float("nan")
    return UnitsData(ids, trains, _unit_columns(units, ids), resolution)


_OPHYS = {DfOverF: "dff", Fluorescence: "fluorescence"}
_BEHAVIOUR = {Position: "position", CompassDirection: "direction"}


def _read_containers(nwbfile: NWBFile, where: str) -> tuple[list, list]:
    ophys, behaviour = [], []
    for module_name, module in sorted(nwbfile.processing.items()):
        for iname, interface in sorted(module.data_interfaces.items()):
            prefix = f"{module_name}/{iname}"
            if type(interface) in _OPHYS:
                for sname, s in sorted(interface.roi_response_series.items()):
                    ophys.append(
                        _series_data(s, _OPHYS[type(interface)], f"{prefix}/{sname}", where)
                    )
            elif type(interface) in _BEHAVIOUR:
                for sname, s in sorted(interface.spatial_series.items()):
                    kind = _BEHAVIOUR[type(interface)]
                    behaviour.append(_series_data(s, kind, f"{prefix}/{sname}", where))
            elif isinstance(interface, BehavioralTimeSeries):
                for sname, s in sorted(interface.time_series.items()):
                    behaviour.append(_series_data(s, "behaviour", f"{prefix}/{sname}", where))
            elif isinstance(interface, SpatialSeries):
                behaviour.append(_series_data(interface, "position", prefix, where))
    return ophys, behaviour


def recording_from_nwbfile(
    nwbfile: NWBFile, where: str, naive_start_ok: bool = False, naive_start: bool = False
) -> NeuralRecording:
    """Units, ophys traces and behaviour series of an open NWBFile.

    Raises
    ------
    InputDataError
        If the file has neither units nor ophys traces, timestamps go backwards, spike times
        lie outside the session, or the start time has no time zone (``naive_start``, as
        stored in the file) unless ``naive_start_ok``.
    """
    _check_start_on_read(naive_start, nwbfile.session_start_time, where, naive_start_ok)
    units = _read_units(nwbfile, where)
    ophys, behaviour = _read_containers(nwbfile, where)
    if units is None and not ophys:
        raise InputDataError(
            f"{where}: no neural data found: no Units table with units and no ophys traces "
            f"(RoiResponseSeries under Fluorescence or DfOverF). It has acquisition "
            f"{sorted(nwbfile.acquisition)} and processing modules {sorted(nwbfile.processing)}."
        )
    subject = nwbfile.subject
    return NeuralRecording(
        path=where,
        identifier=nwbfile.identifier,
        session_id=nwbfile.session_id,
        subject_id=subject.subject_id if subject is not None else None,
        session_start_time=nwbfile.session_start_time,
        units=units,
        ophys=ophys,
        behaviour=behaviour,
        metadata={"session_description": nwbfile.session_description},
    )


def read_neural(path: str | os.PathLike, naive_start_ok: bool = False) -> NeuralRecording:
    """Read units, ophys traces and behaviour series from a local NWB file, read-only.

    Parameters
    ----------
    path
        The NWB file; it is opened in mode ``"r"`` and never modified.
    naive_start_ok
        Accept a start time without a time zone (with a warning) instead of refusing it.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputDataError
        See :func:`recording_from_nwbfile`.
    """
    with open_read(path) as io:
        naive = stored_start_is_naive(io._file)  # the h5py file pynwb opened read-only
        recording = recording_from_nwbfile(io.read(), str(path), naive_start_ok, naive)
    n_units = 0 if recording.units is None else len(recording.units.ids)
    logger.info(
        "Read %s: %d units, %d ophys series, %d behaviour series",
        path,
        n_units,
        len(recording.ophys),
        len(recording.behaviour),
    )
    return recording


DANDI_API = "https://api.dandiarchive.org/api"


def dandi_asset_url(
    dandiset_id: str, asset_path: str, version: str = "draft", timeout_s: float = 10.0
) -> str:
    """The download URL of one asset of a DANDI dataset (needs internet).

    Raises
    ------
    InputDataError
        If DANDI cannot be reached (offline?) or has no such asset.
    """
    import requests

    url = f"{DANDI_API}/dandisets/{dandiset_id}/versions/{version}/assets/"
    try:
        reply = requests.get(url, params={"path": asset_path}, timeout=timeout_s)
        reply.raise_for_status()
    except requests.RequestException as err:
        raise InputDataError(
            f"Cannot reach DANDI for dandiset {dandiset_id} ({version}) asset {asset_path!r}: "
            f"{err}. Streaming needs internet; offline, download the file on a connected "
            "machine (dandi download) and give its local path in the sessions sheet."
        ) from err
    matches = [a for a in reply.json().get("results", []) if a.get("path") == asset_path]
    if not matches:
        raise InputDataError(
            f"DANDI dandiset {dandiset_id} ({version}) has no asset {asset_path!r}."
        )
    return f"{DANDI_API}/assets/{matches[0]['asset_id']}/download/"


def read_neural_dandi(
    dandiset_id: str, asset_path: str, version: str = "draft", naive_start_ok: bool = False
) -> NeuralRecording:
    """Stream an NWB file from DANDI (HTTP range requests) and read it like :func:`read_neural`.

    Raises
    ------
    InputDataError
        If DANDI cannot be reached, or as :func:`recording_from_nwbfile`.
    """
    import fsspec
    import h5py

    url = dandi_asset_url(dandiset_id, asset_path, version)
    where = f"dandi:{dandiset_id}/{asset_path}"
    with fsspec.filesystem("http").open(url, "rb") as remote, h5py.File(remote, "r") as h5:
        with NWBHDF5IO(file=h5, mode="r", load_namespaces=True) as io:
            naive = stored_start_is_naive(h5)
            return recording_from_nwbfile(io.read(), where, naive_start_ok, naive)


# -- derived NWB per session (the input file is only read) -------------------------------
