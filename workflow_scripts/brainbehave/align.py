"""Binning onto one time base, and the aligned session dataset the latent-model stage reads.

Contract (``CONTRACT_VERSION`` 1): one netCDF file per session (h5netcdf engine), an
``xarray.Dataset`` whose time base is the NEURAL clock (seconds from the NWB file's
``session_start_time``):

Coordinates
    ``time`` (B,) bin centres; ``channel`` (C,) unit ids (or ROI indices for ophys);
    ``channel_<column>`` (C,) per-unit metadata from the Units table (strings; lists as JSON).
Variables
    ``bin_start``, ``bin_stop`` (time): bin edges, ``bin_stop[i] == bin_start[i + 1]``.
    ``neural`` (time, channel) float32: spike counts per bin, or resampled ophys traces;
    ``neural.attrs["kind"]`` is ``spike_counts``, ``dff`` or ``fluorescence``.
    ``ophys_<name>`` (time, ``ophys_<name>_roi``): further ophys series, resampled.
    ``behaviour_<name>`` (time, ``behaviour_<name>_dim``): behaviour series found in the NWB
    file (e.g. ``behaviour_behavior_Position_LED``), linearly resampled.
    ``pose_<name>`` (time, ``<name>_space``, ``<name>_keypoints``): pose passed in (2D per
    camera or 3D), linearly resampled from the video frames' neural times.
    ``feature_<name>`` (time, ``feature_<name>_dim``): per-frame behaviour features passed
    in, linearly resampled.
    ``label_<level>`` (time) int16: per-frame labels assigned from the frame nearest the bin
    centre, -1 where none; names in ``attrs["names"]`` (JSON).
    ``mask_neural``, ``mask_behaviour``, ``valid`` (time) bool: bins where the neural data
    are usable, where every behaviour variable was observed (some value finite; a label
    assigned), and both. Single missing keypoints stay NaN inside valid bins.
    ``split`` (time) int8: 0 train, 1 test, in contiguous time blocks.
Attributes
    ``contract_version``, ``subject``, ``session``, ``bin_s``, ``clock`` (``"neural"``),
    ``source_nwb``, ``neural_kind``, ``test_fraction``, ``n_blocks``, ``provenance`` (JSON:
    tool versions, parameters, sync summary).

Spikes outside the binned range are not counted (their number is logged and stored as
``attrs["spikes_outside"]``); everything else is vectorised over spikes (``searchsorted``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainbehave.atomic import write_netcdf
from brainbehave.errors import InputDataError
from brainbehave.nwb import NeuralRecording, SeriesData
from brainbehave.paths import Paths

logger = logging.getLogger(__name__)

CONTRACT_VERSION = 1
REQUIRED = ("neural", "bin_start", "bin_stop", "valid", "split")


def bin_edges(t_start: float, t_stop: float, bin_s: float) -> np.ndarray:
    """Edges ``t_start + i * bin_s`` of whole bins covering ``[t_start, t_stop]``."""
    if not (np.isfinite(bin_s) and bin_s > 0):
        raise InputDataError(f"bin width must be a positive number of seconds, got {bin_s!r}.")
    if not (np.isfinite(t_start) and np.isfinite(t_stop) and t_stop > t_start):
        raise InputDataError(f"Cannot bin the empty or invalid range [{t_start}, {t_stop}] s.")
    n = int(np.ceil((t_stop - t_start) / bin_s - 1e-9))
    return t_start + np.arange(max(n, 1) + 1) * bin_s


def bin_spike_counts(
    spike_times: Sequence[np.ndarray], edges: np.ndarray, dtype: Any = np.int32
) -> np.ndarray:
    """(B, U) spike counts in ``[edges[i], edges[i + 1])``; spike trains must be sorted."""
    n_bins = len(edges) - 1
    counts = np.empty((n_bins, len(spike_times)), dtype=dtype)
    for u, train in enumerate(spike_times):
        # each spike's bin (log of the bins per spike), then one count per bin
        index = np.searchsorted(edges, train, side="right") - 1
        index = index[(index >= 0) & (index < n_bins)]
        counts[:, u] = np.bincount(index, minlength=n_bins)
    return counts


def resample(times: np.ndarray, values: np.ndarray, at: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linear interpolation of (T, C) ``values`` at ``at``; NaN outside or across long gaps.

    A point is NaN when it lies outside ``[times[0], times[-1]]`` or between two samples
    more than ``max_gap_s`` apart; NaN samples stay NaN (missing pose stays missing).
    """
    values = np.asarray(values, dtype=float).reshape(len(times), -1)
    j = np.clip(np.searchsorted(times, at, side="right"), 1, len(times) - 1)
    t0, t1 = times[j - 1], times[j]
    span = t1 - t0
    w = np.divide(at - t0, span, out=np.zeros_like(at, dtype=float), where=span > 0)
    out = values[j - 1] * (1.0 - w)[:, None] + values[j] * w[:, None]
    bad = (at < times[0]) | (at > times[-1]) | (span > max_gap_s)
    out[bad] = np.nan
    return out


def assign_labels(
    frame_times: np.ndarray, labels: np.ndarray, at: np.ndarray, max_dist_s: float
) -> np.ndarray:
    """Label of the frame nearest each time in ``at``; -1 where none is within ``max_dist_s``."""
    j = np.clip(np.searchsorted(frame_times, at), 1, len(frame_times) - 1)
    before_closer = np.abs(at - frame_times[j - 1]) <= np.abs(frame_times[j] - at)
    nearest = np.where(before_closer, j - 1, j)
    out = np.asarray(labels, dtype=np.int16)[nearest]
    out[np.abs(frame_times[nearest] - at) > max_dist_s] = -1
    return out


def contiguous_split(n_bins: int, test_fraction: float = 0.2, n_blocks: int = 10) -> np.ndarray:
    """0 (train) / 1 (test) per bin: ``n_blocks`` contiguous blocks, a spread subset for test.

    With 10 blocks and a test fraction of 0.2, blocks 2 and 7 are test, so test data come
    from the early and late session and no test bin borders another test block.
    """
    if not 0 < test_fraction < 1:
        raise InputDataError(f"test_fraction must lie in (0, 1), got {test_fraction!r}.")
    if n_blocks < 2 or n_blocks > n_bins:
        raise InputDataError(
            f"n_blocks must lie in [2, {n_bins}] (the number of bins), got {n_blocks}. Lower "
            "neural.n_blocks or the bin width for such a short session."
        )
    n_test = min(max(1, int(round(test_fraction * n_blocks))), n_blocks - 1)
    test_blocks = np.floor((np.arange(n_test) + 0.5) * n_blocks / n_test).astype(int)
    block = np.minimum((np.arange(n_bins) * n_blocks) // n_bins, n_blocks - 1)
    return np.isin(block, test_blocks).astype(np.int8)


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")


def _time_range(recording: NeuralRecording, frame_times: np.ndarray | None, bin_s: float):
    if frame_times is not None and len(frame_times) >= 2:
        # bins centred on the frames: a whole number of bins, rounded (not ceiled) so that
        # clock drift does not add a bin
        n_bins = max(1, int(round((frame_times[-1] - frame_times[0]) / bin_s)) + 1)
        start = frame_times[0] - bin_s / 2
        return start, start + n_bins * bin_s
    lo, hi = [], []
    if recording.units is not None:
        trains = [t for t in recording.units.spike_times if len(t)]
        if trains:
            lo.append(min(t[0] for t in trains))
            hi.append(max(t[-1] for t in trains) + bin_s)
    for series in recording.ophys:
        lo.append(series.timestamps[0])
        hi.append(series.timestamps[-1])
    if not lo:
        raise InputDataError(f"{recording.path}: no spikes and no ophys samples to bin.")
    return min(lo), max(hi)


def _median_step(times: np.ndarray) -> float:
    steps = np.diff(times)
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else np.inf


def _neural(recording: NeuralRecording, edges: np.ndarray, centres: np.ndarray):
    """(neural matrix, channel ids, kind, mask, extra ophys variables, spikes outside)."""
    extra: dict[str, xr.DataArray] = {}
    ophys = sorted(recording.ophys, key=lambda s: s.kind != "dff")  # DfOverF first
    traces = [
        (s, resample(s.timestamps, s.data, centres, 2.5 * _median_step(s.timestamps)))
        for s in ophys
    ]
    if recording.units is not None:
        trains = recording.units.spike_times
        matrix = bin_spike_counts(trains, edges, dtype=np.float32)
        total = sum(len(t) for t in trains)
        outside = int(total - matrix.sum(dtype=np.float64))
        ids, kind, mask = recording.units.ids, "spike_counts", np.ones(len(centres), bool)
    else:
        first, values = traces.pop(0)
        matrix, outside = values.astype(np.float32), 0
        ids, kind, mask = np.arange(values.shape[1]), first.kind, np.isfinite(values).all(1)
    for series, values in traces:
        name = f"ophys_{_name(series.name)}"
        extra[name] = xr.DataArray(
            values.astype(np.float32),
            dims=("time", f"{name}_roi"),
            attrs={"kind": series.kind, "unit": series.unit},
        )
    return matrix, ids, kind, mask, extra, outside


def _channel_coords(recording: NeuralRecording) -> dict[str, tuple]:
    if recording.units is None:
        return {}
    coords = {}
    for col in recording.units.columns.columns:
        values = recording.units.columns[col]
        if values.dtype.kind in "biuf":
            coords[f"channel_{_name(col)}"] = ("channel", values.to_numpy())
            continue
        text = [v if isinstance(v, str) else json.dumps(v, default=str) for v in values]
        coords[f"channel_{_name(col)}"] = ("channel", np.asarray(text, dtype=str))
    return coords


def _behaviour_vars(series: Sequence[SeriesData], centres: np.ndarray) -> dict[str, xr.DataArray]:
    out = {}
    for s in series:
        name = f"behaviour_{_name(s.name)}"
        values = resample(s.timestamps, s.data, centres, 2.5 * _median_step(s.timestamps))
        out[name] = xr.DataArray(
            values, dims=("time", f"{name}_dim"), attrs={"unit": s.unit, "kind": s.kind}
        )
    return out


def _pose_vars(pose: Mapping[str, xr.Dataset], frame_times: np.ndarray, centres, max_gap):
    out = {}
    for name, ds in pose.items():
        pos = ds["position"].isel(individuals=0).transpose("time", "space", "keypoints")
        if pos.shape[0] != len(frame_times):
            raise InputDataError(
                f"pose {name!r}: {pos.shape[0]} frames but {len(frame_times)} synchronised "
                "video frames; pose must have one row per saved frame."
            )
        flat = resample(frame_times, pos.values.reshape(len(frame_times), -1), centres, max_gap)
        key = f"pose_{_name(name)}"
        out[key] = xr.DataArray(
            flat.reshape(len(centres), *pos.shape[1:]),
            dims=("time", f"{key}_space", f"{key}_keypoints"),
            coords={
                f"{key}_space": pos["space"].values,
                f"{key}_keypoints": pos["keypoints"].values,
            },
            attrs={
                "units": ds.attrs.get("units", ""),
                "source": ds.attrs.get("source_software", ""),
            },
        )
    return out


def _label_vars(labels, names, frame_times, centres, max_dist):
    out = {}
    for level, values in labels.items():
        if len(values) != len(frame_times):
            raise InputDataError(
                f"labels {level!r}: {len(values)} frames but {len(frame_times)} synchronised "
                "video frames; give one label per saved frame."
            )
        out[f"label_{_name(level)}"] = xr.DataArray(
            assign_labels(frame_times, values, centres, max_dist),
            dims=("time",),
            attrs={"names": json.dumps(list((names or {}).get(level, [])))},
        )
    return out


def _feature_vars(features, frame_times, centres, max_gap):
    out = {}
    for name, values in features.items():
        values = np.asarray(values, dtype=float).reshape(len(values), -1)
        if len(values) != len(frame_times):
            raise InputDataError(
                f"feature {name!r}: {len(values)} frames but {len(frame_times)} synchronised "
                "video frames; give one row per saved frame."
            )
        key = f"feature_{_name(name)}"
        out[key] = xr.DataArray(
            resample(frame_times, values, centres, max_gap), dims=("time", f"{key}_dim")
        )
    return out


def _behaviour_block(recording, frames, video, centres, bin_s):
    """Behaviour variables (file series, pose, labels) and the bins where all were observed.

    A bin counts as observed for a variable when at least one of its values there is
    finite (single occluded keypoints stay NaN for the model stage) and, for labels, when a
    frame lay close enough to assign one.
    """
    behaviour = _behaviour_vars(recording.behaviour, centres)
    if frames is not None:
        step = _median_step(frames)
        behaviour.update(_pose_vars(video["pose"] or {}, frames, centres, 2.5 * step))
        behaviour.update(_feature_vars(video["features"] or {}, frames, centres, 2.5 * step))
        max_dist = max(bin_s, step) * 0.75
        behaviour.update(
            _label_vars(video["labels"] or {}, video["label_names"], frames, centres, max_dist)
        )
    mask = np.ones(len(centres), dtype=bool)
    for name, da in behaviour.items():
        values = da.values.reshape(len(centres), -1)
        if name.startswith("label_"):
            mask &= values[:, 0] >= 0
        else:
            mask &= np.isfinite(values).any(axis=1)
    return behaviour, mask


def align_session(
    recording: NeuralRecording,
    *,
    subject: str,
    session: str,
    bin_s: float,
    t_start: float | None = None,
    t_stop: float | None = None,
    frame_times_neural: np.ndarray | None = None,
    pose: Mapping[str, xr.Dataset] | None = None,
    features: Mapping[str, np.ndarray] | None = None,
    labels: Mapping[str, np.ndarray] | None = None,
    label_names: Mapping[str, Sequence[str]] | None = None,
    test_fraction: float = 0.2,
    n_blocks: int = 10,
    provenance: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Bin a session's neural data and behaviour onto one neural-clock time base.

    Parameters
    ----------
    recording
        What :func:`brainbehave.nwb.read_neural` read.
    subject, session
        IDs, stored in the attributes.
    bin_s
        Bin width (s); the pipeline's default is one video frame period.
    t_start, t_stop
        Range to bin. Default: the synchronised video frames (bins centred on frames) when
        ``frame_times_neural`` is given, else the span of the spikes / ophys samples.
    frame_times_neural
        (M,) neural time of each saved video frame (from :mod:`brainbehave.sync`); needed
        for ``pose`` and ``labels``, which have one row per saved frame.
    pose
        Name (camera, or ``3d``) to a pose dataset (:mod:`brainbehave.pose`).
    features
        Name to per-frame behaviour features, (M,) or (M, F), linearly resampled.
    labels, label_names
        Level to per-frame integer labels, and level to label names.
    test_fraction, n_blocks
        Contiguous train/test split (:func:`contiguous_split`).
    provenance
        Stored as JSON in ``attrs["provenance"]``.

    Returns
    -------
    xarray.Dataset
        The aligned session dataset (see the module docstring for the contract).

    Raises
    ------
    InputDataError
        On a bad bin width or range, or pose/labels whose length differs from the frames.
    """
    if (pose or features or labels) and frame_times_neural is None:
        raise InputDataError(
            "pose, features and labels need 'frame_times_neural' (run the sync first)."
        )
    frames = None if frame_times_neural is None else np.asarray(frame_times_neural, float)
    auto = _time_range(recording, frames, bin_s)
    edges = bin_edges(
        auto[0] if t_start is None else t_start, auto[1] if t_stop is None else t_stop, bin_s
    )
    centres = 0.5 * (edges[:-1] + edges[1:])
    matrix, ids, kind, mask_neural, extra, outside = _neural(recording, edges, centres)
    if outside:
        logger.warning(
            "%s: %d spikes outside [%.3f, %.3f] s not counted",
            recording.path,
            outside,
            edges[0],
            edges[-1],
        )
    variables: dict[str, Any] = {
        "bin_start": ("time", edges[:-1]),
        "bin_stop": ("time", edges[1:]),
        "neural": xr.DataArray(matrix, dims=("time", "channel"), attrs={"kind": kind}),
    }
    variables.update(extra)
    video = {"pose": pose, "features": features, "labels": labels, "label_names": label_names}
    behaviour, mask_behaviour = _behaviour_block(recording, frames, video, centres, bin_s)
    variables.update(behaviour)
    variables.update(
        mask_neural=("time", mask_neural),
        mask_behaviour=("time", mask_behaviour),
        valid=("time", mask_neural & mask_behaviour),
        split=("time", contiguous_split(len(centres), test_fraction, n_blocks)),
    )
    ds = xr.Dataset(
        variables, coords={"time": centres, "channel": ids, **_channel_coords(recording)}
    )
    ds.attrs.update(
        contract_version=CONTRACT_VERSION,
        subject=subject,
        session=session,
        bin_s=float(bin_s),
        clock="neural",
        source_nwb=str(recording.path),
        neural_kind=kind,
        test_fraction=float(test_fraction),
        n_blocks=int(n_blocks),
        spikes_outside=int(outside),
        provenance=json.dumps(dict(provenance or {}), sort_keys=True, default=str),
    )
    logger.info(
        "%s/%s: %d bins of %.4f s x %d channels (%s), %.1f%% valid",
        subject,
        session,
        len(centres),
        bin_s,
        len(ids),
        kind,
        100 * ds["valid"].values.mean(),
    )
    return ds


def save_aligned(ds: xr.Dataset, path: str | os.PathLike) -> None:
    """Write an aligned session dataset as netCDF, whole or not at all."""
    _check_contract(ds, str(path))
    # counts are mostly 0 and 1: light compression shrinks them several-fold, cheaply
    write_netcdf(ds, path, encoding={"neural": {"zlib": True, "complevel": 1}})


def load_aligned(path: str | os.PathLike) -> xr.Dataset:
    """Read an aligned session dataset (into memory) and check it follows the contract.

    Raises
    ------
    InputDataError
        If the file is not an aligned session dataset of this contract version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Aligned session file {str(path)!r} does not exist.")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    _check_contract(ds, str(path))
    return ds


def _check_contract(ds: xr.Dataset, where: str) -> None:
    version = ds.attrs.get("contract_version")
    missing = [v for v in REQUIRED if v not in ds]
    if version != CONTRACT_VERSION or missing:
        raise InputDataError(
            f"{where}: not an aligned session dataset of contract version {CONTRACT_VERSION} "
            f"(found version {version}, missing variables {missing}). Rerun the neural_align "
            "rule."
        )


def align_nwb_session(
    nwb: str | os.PathLike,
    sync_json: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    subject: str,
    session: str,
    bin_s: float | None = None,
    camera: str | None = None,
    test_fraction: float = 0.2,
    n_blocks: int = 10,
    naive_start_ok: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Read an NWB file, bin it on the synchronised video's time base, save the dataset.

    Parameters
    ----------
    nwb
        The session's neural NWB file (read-only).
    sync_json
        Output of the sync step, or None to bin the neural data on its own span.
    out
        The aligned dataset (netCDF).
    bin_s
        Bin width; None = one frame period of the synchronised camera.
    camera
        Camera whose frames set the time base (default: the first in the sync file).
    """
    from brainbehave.nwb import read_neural
    from brainbehave.sync import read_sync

    recording = read_neural(nwb, naive_start_ok=naive_start_ok)
    frames, prov = None, dict(provenance or {})
    if sync_json is not None:
        syncs = read_sync(sync_json)
        camera = camera or next(iter(syncs))
        if camera not in syncs:
            raise InputDataError(f"{sync_json}: no camera {camera!r}; it has {list(syncs)}.")
        frames = syncs[camera].frame_times_neural
        bin_s = bin_s or 1.0 / syncs[camera].fps
        prov["sync"] = {"camera": camera, **syncs[camera].summary()}
    if bin_s is None:
        raise InputDataError(f"{nwb}: give a bin width (neural.bin_s) when there is no sync.")
    prov.update(bin_s=bin_s, test_fraction=test_fraction, n_blocks=n_blocks)
    ds = align_session(
        recording,
        subject=subject,
        session=session,
        bin_s=bin_s,
        frame_times_neural=frames,
        test_fraction=test_fraction,
        n_blocks=n_blocks,
        provenance=prov,
    )
    save_aligned(ds, out)
    return ds


def label_intervals(
    frame_times: np.ndarray,
    labels: Mapping[str, np.ndarray],
    names: Mapping[str, Sequence[str]],
    source: str,
) -> pd.DataFrame:
    """Runs of equal per-frame labels as intervals ``level, label, start, stop, source``.

    A run starts at its first frame's time and stops one frame period (the median step)
    after its last frame; label -1 (none) gives no interval.
    """
    frame_times = np.asarray(frame_times, dtype=float)
    period = _median_step(frame_times)
    tables = []
    for level, values in labels.items():
        values = np.asarray(values)
        change = np.flatnonzero(np.diff(values)) + 1
        first, last = np.r_[0, change], np.r_[change, len(values)] - 1
        keep = values[first] >= 0
        level_names = list(names.get(level, []))
        tables.append(
            pd.DataFrame(
                {
                    "level": level,
                    "label": [
                        level_names[v] if v < len(level_names) else str(v)
                        for v in values[first[keep]]
                    ],
                    "start": frame_times[first[keep]],
                    "stop": frame_times[last[keep]] + period,
                    "source": source,
                }
            )
        )
    columns = ["level", "label", "start", "stop", "source"]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)


def _cell(row: Mapping[str, Any], key: str) -> Any:
    value = row.get(key)
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


@dataclass(frozen=True)
class NeuralPlan:
    """Input functions and targets of the neural rules, from the cohort (tested here).

    Parameters
    ----------
    sessions, videos
        The cohort sheets (:class:`brainbehave.config.Cohort`'s tables).
    paths
        The output layout.
    """

    sessions: pd.DataFrame
    videos: pd.DataFrame
    paths: Paths

    def _row(self, wildcards: Any) -> Mapping[str, Any]:
        rows = self.sessions[
            (self.sessions["subject"] == wildcards.subject)
            & (self.sessions["session"] == wildcards.session)
        ]
        if len(rows) != 1:
            raise KeyError(f"No session {wildcards.subject}/{wildcards.session} in the cohort.")
        return rows.iloc[0].to_dict()

    def cameras(self, wildcards: Any) -> dict[str, dict]:
        """Per camera: its frame-times file (None when the sheet has none) and its video."""
        rows = self.videos[
            (self.videos["subject"] == wildcards.subject)
            & (self.videos["session"] == wildcards.session)
        ]
        return {
            r["camera"]: {"frame_times": _cell(r, "frame_times"), "video": r["video"]}
            for r in rows.to_dict("records")
        }

    def sync_inputs(self, wildcards: Any) -> list[str]:
        """Files the sync reads per camera: frame times, else the video (to count frames)."""
        return [c["frame_times"] or c["video"] for c in self.cameras(wildcards).values()]

    def sync_params(self, wildcards: Any) -> dict[str, Any]:
        """Cameras, fps, sync series and sheet offset/drift of a session."""
        row = self._row(wildcards)
        fps = _cell(row, "fps")
        return {
            "cameras": self.cameras(wildcards),
            "fps": None if fps is None else float(fps),
            "sync_series": _cell(row, "sync_series"),
            "offset_s": _cell(row, "sync_offset_s"),
            "drift_ppm": _cell(row, "sync_drift_ppm"),
        }

    def targets(self) -> list[str]:
        """The aligned dataset of every session."""
        keys = zip(self.sessions["subject"], self.sessions["session"], strict=True)
        return [self.paths.neural_aligned(s, j) for s, j in keys]
