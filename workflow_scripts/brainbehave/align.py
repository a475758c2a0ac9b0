"""Binning onto one time base, and the aligned session dataset the latent-model stage reads.

Contract (``CONTRACT_VERSION`` 2): one netCDF file per session (h5netcdf engine), an
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
    ``pose_<name>`` (time, ``pose_<name>_space``, ``pose_<name>_keypoints``): pose of the
    video stages, 2D per camera (``<name>`` = camera, px) and 3D (``pose_3d``, mm), each
    linearly resampled from its frames' neural times (:mod:`brainbehave.align_behaviour`).
    ``feature_<name>`` (time, ``feature_<name>_dim``): the behaviour stage's per-frame
    features (one variable per feature), linearly resampled.
    ``label_<source>_<level>`` (time) int16: per-frame labels of a behaviour source
    (``rules`` | ``mae``) and hierarchy level, from the frame nearest the bin centre, -1
    where none (no frame near, or the source gave none); attrs ``names`` (JSON list: label
    ``i`` is ``names[i]``), ``source``, ``level``.
    ``mask_neural``, ``mask_behaviour``, ``valid`` (time) bool: bins where the neural data
    are usable, where the behaviour was observed (every NWB behaviour series finite and,
    with video behaviour, a saved frame near the bin centre), and both. Values missing
    inside valid bins (an occluded keypoint, a frame no rule labelled) stay NaN / -1 in
    their own variable: consumers mask per variable.
    ``split`` (time) int8: 0 train, 1 test, in contiguous time blocks.
Attributes
    ``contract_version``, ``subject``, ``session``, ``bin_s``, ``clock`` (``"neural"``),
    ``source_nwb``, ``neural_kind``, ``test_fraction``, ``n_blocks``, ``provenance`` (JSON:
    tool versions, parameters, sync summary, behaviour input files).

Version 2 (from 1): labels are named ``label_<source>_<level>`` (was ``label_<level>``) with
``source`` and ``level`` attrs; the neural_align rule passes pose, features and labels.

Spikes outside the binned range are not counted (their number is logged and stored as
``attrs["spikes_outside"]``); everything else is vectorised over spikes (``searchsorted``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from brainbehave.align_behaviour import (
    SessionBehaviour,
    assign_labels,
    behaviour_variables,
    label_intervals,
    load_session_behaviour,
    median_step,
    resample,
    var_name,
    video_coverage,
)
from brainbehave.atomic import write_netcdf
from brainbehave.errors import InputDataError
from brainbehave.nwb import NeuralRecording, SeriesData

__all__ = [  # resample, assign_labels, label_intervals: re-exported from align_behaviour
    "CONTRACT_VERSION",
    "SessionBehaviour",
    "align_nwb_session",
    "align_session",
    "assign_labels",
    "bin_edges",
    "bin_spike_counts",
    "contiguous_split",
    "label_intervals",
    "load_aligned",
    "resample",
    "save_aligned",
]

logger = logging.getLogger(__name__)

CONTRACT_VERSION = 2
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


def _neural(recording: NeuralRecording, edges: np.ndarray, centres: np.ndarray):
    """(neural matrix, channel ids, kind, mask, extra ophys variables, spikes outside)."""
    extra: dict[str, xr.DataArray] = {}
    ophys = sorted(recording.ophys, key=lambda s: s.kind != "dff")  # DfOverF first
    traces = [
        (s, resample(s.timestamps, s.data, centres, 2.5 * median_step(s.timestamps))) for s in ophys
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
        name = f"ophys_{var_name(series.name)}"
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
            coords[f"channel_{var_name(col)}"] = ("channel", values.to_numpy())
            continue
        text = [v if isinstance(v, str) else json.dumps(v, default=str) for v in values]
        coords[f"channel_{var_name(col)}"] = ("channel", np.asarray(text, dtype=str))
    return coords


def _behaviour_vars(series: Sequence[SeriesData], centres: np.ndarray) -> dict[str, xr.DataArray]:
    out = {}
    for s in series:
        name = f"behaviour_{var_name(s.name)}"
        values = resample(s.timestamps, s.data, centres, 2.5 * median_step(s.timestamps))
        out[name] = xr.DataArray(
            values, dims=("time", f"{name}_dim"), attrs={"unit": s.unit, "kind": s.kind}
        )
    return out


def _behaviour_block(recording, behaviour, centres, bin_s):
    """Behaviour variables (file series, pose, features, labels) and the bins where the
    behaviour was observed.

    A bin is observed when every behaviour series of the NWB file has a finite value there
    and, when video behaviour is passed, a saved video frame lies near its centre
    (:func:`video_coverage`). Missing values of single variables inside an observed bin (an
    occluded keypoint, a camera that lost the animal, a frame no behaviour rule matched)
    stay NaN / -1 in that variable: consumers mask per variable.
    """
    variables = _behaviour_vars(recording.behaviour, centres)
    mask = np.ones(len(centres), dtype=bool)
    for da in variables.values():
        mask &= np.isfinite(da.values.reshape(len(centres), -1)).any(axis=1)
    if behaviour is not None:
        variables.update(behaviour_variables(behaviour, centres, bin_s))
        mask &= video_coverage(behaviour, centres, bin_s)
    return variables, mask


def align_session(
    recording: NeuralRecording,
    *,
    subject: str,
    session: str,
    bin_s: float,
    t_start: float | None = None,
    t_stop: float | None = None,
    frame_times_neural: np.ndarray | None = None,
    behaviour: SessionBehaviour | None = None,
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
        ``frame_times_neural`` or ``behaviour`` is given, else the span of the spikes / ophys
        samples.
    frame_times_neural
        (M,) neural time of each saved video frame of the reference camera (from
        :mod:`brainbehave.sync`); default ``behaviour.frame_times``.
    behaviour
        The session's pose, features and labels with their frames' neural times
        (:func:`brainbehave.align_behaviour.load_session_behaviour`); None: neural only.
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
    if frame_times_neural is None and behaviour is not None:
        frame_times_neural = behaviour.frame_times
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
    extra_behaviour, mask_behaviour = _behaviour_block(recording, behaviour, centres, bin_s)
    variables.update(extra_behaviour)
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
    pose2d: Mapping[str, str | os.PathLike] | None = None,
    pose3d: str | os.PathLike | None = None,
    features: str | os.PathLike | None = None,
    labels: Mapping[str, str | os.PathLike] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Read an NWB file and the session's behaviour files, bin them on the synchronised
    video's time base, save the dataset.

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
        Camera whose frames set the time base (default: the first in the sync file); the
        3D pose, features and labels are timed with its frames.
    pose2d, pose3d, features, labels
        The video stages' files (all optional): 2D pose per camera, 3D pose, behaviour
        features, per-frame labels per source (``rules`` | ``mae``); see
        :func:`brainbehave.align_behaviour.load_session_behaviour`.

    Raises
    ------
    InputDataError
        When behaviour files come without a sync result, or disagree with the video frames.
    """
    from brainbehave.nwb import read_neural
    from brainbehave.sync import read_sync

    recording = read_neural(nwb, naive_start_ok=naive_start_ok)
    files = {"pose2d": pose2d, "pose3d": pose3d, "features": features, "labels": labels}
    behaviour = None
    if any(files.values()):
        if sync_json is None:
            raise InputDataError(
                f"{nwb}: pose, features and labels need the session's sync result (sync.json) "
                "to be placed on the neural clock."
            )
        behaviour = load_session_behaviour(sync_json, camera=camera, **files)
    frames, prov = None, dict(provenance or {})
    prov["behaviour_files"] = {
        k: ({c: str(p) for c, p in v.items()} if isinstance(v, Mapping) else str(v))
        for k, v in files.items()
        if v
    }
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
        behaviour=behaviour,
        test_fraction=test_fraction,
        n_blocks=n_blocks,
        provenance=prov,
    )
    save_aligned(ds, out)
    return ds
