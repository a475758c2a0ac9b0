"""The derived NWB file of a session: units copied, pose, behaviour intervals, latents.

:func:`write_derived_nwb` takes arrays and datasets; :func:`write_session_derived_nwb` reads
a session's pipeline files (sync, pose, labels, latent embeddings) and calls it.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pynwb import NWBFile, TimeSeries

from brainbehave import __version__
from brainbehave.errors import InputDataError
from brainbehave.nwb.copy import SourceCopier, copy_subject
from brainbehave.nwb.read import (
    open_read,
    recording_from_nwbfile,
    stored_start_is_naive,
    write_atomic,
)

logger = logging.getLogger(__name__)

DERIVED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/brainbehave/derived")
LATENTS_MODULE = "latents"


def _derived_file(source: NWBFile, provenance: Mapping[str, Any]) -> NWBFile:
    key = source.identifier + json.dumps(dict(provenance), sort_keys=True, default=str)
    return NWBFile(
        session_description=source.session_description or "brainbehave derived session",
        identifier=str(uuid.uuid5(DERIVED_NAMESPACE, key)),
        session_start_time=source.session_start_time,
        session_id=source.session_id,
        experimenter=source.experimenter,
        lab=source.lab,
        institution=source.institution,
        experiment_description=(
            f"Derived by brainbehave from the NWB file {source.identifier!r}: its units "
            "copied, pose estimation, behaviour intervals and a module for latents."
        ),
        keywords=["brainbehave", "derived", "pose", "behaviour"],
        source_script=f"brainbehave {__version__} (brainbehave.nwb.write_derived_nwb)",
        source_script_file_name="brainbehave/nwb.py",
        notes="Provenance (JSON): " + json.dumps(dict(provenance), sort_keys=True, default=str),
        subject=copy_subject(source.subject),
    )


def _pose_estimation(
    name: str,
    ds: Any,
    timestamps: np.ndarray,
    skeleton: Any,
    device: Any,
) -> Any:
    from ndx_pose import PoseEstimation, PoseEstimationSeries

    pos = ds["position"].isel(individuals=0).transpose("time", "keypoints", "space")
    conf = ds["confidence"].isel(individuals=0).transpose("time", "keypoints").values
    if pos.shape[0] != len(timestamps):
        raise InputDataError(
            f"pose {name!r}: {pos.shape[0]} frames but {len(timestamps)} neural frame times."
        )
    units = ds.attrs.get("units", "px")
    frame = "image pixels, origin top-left" if units == "px" else "world frame of the calibration"
    series: list = []
    for i, kp in enumerate(pos["keypoints"].values):
        series.append(
            PoseEstimationSeries(
                name=str(kp),
                description=f"{kp} ({'2D' if pos.shape[2] == 2 else '3D'}), neural-clock times.",
                data=pos.values[:, i, :].astype(np.float32),
                # NWB spatial units are SI: millimetres are stored as metres times 0.001
                unit="pixels" if units == "px" else "meters",
                conversion=1.0 if units == "px" else 1e-3,
                reference_frame=frame,
                # one timestamps array per camera; the other keypoints link to it
                timestamps=series[0] if series else timestamps,
                confidence=np.nan_to_num(conf[:, i], nan=0.0).astype(np.float32),
                confidence_definition="Estimator's confidence in [0, 1]; 0 where missing.",
            )
        )
    return PoseEstimation(
        name=f"PoseEstimation_{name}",
        pose_estimation_series=series,
        description=f"Pose of {name}: {ds.attrs.get('source_software', 'unknown')}.",
        skeleton=skeleton,
        device=device,
        source_software=str(ds.attrs.get("source_software", "unknown")),
    )


def _edge_indices(edges: Sequence[tuple], keypoints: list[str]) -> np.ndarray:
    """Skeleton edges as (E, 2) uint8 node indices, from indices or keypoint names."""
    pairs = []
    for a, b in edges:
        pair = [keypoints.index(v) if isinstance(v, str) and v in keypoints else v for v in (a, b)]
        if not all(isinstance(v, (int, np.integer)) and 0 <= v < len(keypoints) for v in pair):
            raise InputDataError(f"skeleton edge {(a, b)!r} names no keypoint of {keypoints}.")
        pairs.append(pair)
    return np.asarray(pairs, dtype=np.uint8).reshape(-1, 2)


def _add_pose(
    nwbfile: NWBFile,
    pose: Mapping[str, Any],
    frame_times_neural: Mapping[str, np.ndarray],
    edges: Sequence[tuple[int, int]],
) -> None:
    from ndx_pose import Skeleton, Skeletons

    keypoints = [str(k) for k in next(iter(pose.values()))["keypoints"].values]
    skeleton = Skeleton(
        name="skeleton",
        nodes=keypoints,
        edges=_edge_indices(edges, keypoints),
        subject=nwbfile.subject,
    )
    behavior = nwbfile.create_processing_module("behavior", "Pose and behaviour (brainbehave).")
    behavior.add(Skeletons(skeletons=[skeleton]))
    for name, ds in pose.items():
        if name not in frame_times_neural:
            raise InputDataError(
                f"pose {name!r} has no neural frame times (keys {list(frame_times_neural)})."
            )
        device = nwbfile.create_device(
            name=f"camera_{name}", description=f"Camera or reconstruction {name!r}."
        )
        behavior.add(_pose_estimation(name, ds, frame_times_neural[name], skeleton, device))


def _add_intervals(nwbfile: NWBFile, intervals: pd.DataFrame) -> None:
    from pynwb.epoch import TimeIntervals

    needed = {"level", "label", "start", "stop", "source"}
    if missing := needed - set(intervals.columns):
        raise InputDataError(f"behaviour intervals lack columns {sorted(missing)}.")
    for (source, level), rows in intervals.groupby(["source", "level"], sort=True):
        table = TimeIntervals(
            name=f"behaviour_{source}_{level}",
            description=(
                f"Behaviour intervals of level {level!r} from {source!r} (brainbehave), "
                "neural clock."
            ),
        )
        for col, text in (
            ("level", "Hierarchy level."),
            ("label", "Label."),
            ("source", "What produced it (rules | mae | truth)."),
        ):
            table.add_column(name=col, description=text)
        for row in rows.sort_values("start").itertuples(index=False):
            table.add_interval(
                start_time=float(row.start),
                stop_time=float(row.stop),
                level=str(row.level),
                label=str(row.label),
                source=str(row.source),
            )
        nwbfile.add_time_intervals(table)


def _add_latents(module: Any, latents: Mapping[str, Any]) -> None:
    """One ``TimeSeries`` ``<model>_seed<seed>`` per model and seed (time, dim)."""
    for model, ds in latents.items():
        if "embedding" not in ds or ds["embedding"].dims != ("seed", "time", "dim"):
            raise InputDataError(
                f"latents of model {model!r}: expected an 'embedding' (seed, time, dim) "
                "variable (brainbehave.latents.pipeline.embedding_dataset). Rerun latents_fit."
            )
        times = np.asarray(ds["time"].values, dtype=float)
        first = None
        for k, seed in enumerate(ds["seed"].values):
            series = TimeSeries(
                name=f"{model}_seed{int(seed)}",
                data=np.asarray(ds["embedding"].values[k], dtype=np.float32),
                # the usable bins of the aligned dataset: irregular where bins were invalid
                timestamps=times if first is None else first,
                unit="a.u.",
                description=(
                    f"Latent embedding of model {model!r}, seed {int(seed)}, at the aligned "
                    f"bin centres (neural clock). Spec: {ds.attrs.get('spec', '{}')}"
                ),
                comments=f"Provenance: {ds.attrs.get('provenance', '{}')}",
            )
            if first is None:
                first = series
            module.add(series)


def write_derived_nwb(
    path: str | os.PathLike,
    source_nwb: str | os.PathLike,
    *,
    pose: Mapping[str, Any] | None = None,
    frame_times_neural: Mapping[str, np.ndarray] | None = None,
    skeleton_edges: Sequence[tuple[int, int]] = (),
    intervals: pd.DataFrame | None = None,
    latents: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    naive_start_ok: bool = False,
) -> Path:
    """Write a session's derived NWB: units copied, pose, behaviour intervals, latents.

    The source's Units table is copied with the electrodes table it points at (electrode
    groups and devices), and its ``Fluorescence`` / ``DfOverF`` traces as
    ``RoiResponseSeries`` of an ``ophys`` module referencing copied ``PlaneSegmentation``
    ROI tables (masks, ``ImagingPlane``, ``OpticalChannel``, ``Device``); see
    :class:`brainbehave.nwb.copy.SourceCopier`.

    Parameters
    ----------
    path
        Output file, written atomically.
    source_nwb
        The session's neural NWB file: opened read-only, never modified.
    pose
        Name (camera, or ``3d``) to a pose dataset (:mod:`brainbehave.pose`); one
        ``PoseEstimation_<name>`` each, sharing one ndx-pose ``Skeleton``.
    frame_times_neural
        Name to the neural-clock time of each pose row (from :mod:`brainbehave.sync`).
    skeleton_edges
        Pairs of keypoint indices.
    intervals
        Columns ``level, label, start, stop, source`` (s, neural clock): one ``TimeIntervals``
        table ``behaviour_<source>_<level>`` per source and level.
    latents
        Model name to its session embedding dataset (``embedding`` (seed, time, dim) on the
        neural clock): a ``TimeSeries`` per model and seed in the ``latents`` module.
    provenance
        Tool versions and parameters, stored as JSON in ``notes``.

    Raises
    ------
    InputDataError
        If the source has no neural data, or pose and frame times disagree.
    """
    provenance = dict(provenance or {})
    with open_read(source_nwb) as io:
        source = io.read()
        naive = stored_start_is_naive(io._file)
        recording = recording_from_nwbfile(source, str(source_nwb), naive_start_ok, naive)
        nwbfile = _derived_file(source, provenance)
        # read into memory while the source is open: the derived file links nothing to it
        copier = SourceCopier(source, nwbfile, str(source_nwb))
        if recording.units is not None:
            nwbfile.units = copier.units(source.units)
        if recording.ophys:
            copier.ophys()
    if pose:
        _add_pose(nwbfile, pose, frame_times_neural or {}, skeleton_edges)
    if intervals is not None and len(intervals):
        _add_intervals(nwbfile, intervals)
    module = nwbfile.create_processing_module(
        LATENTS_MODULE, "Latent embeddings of this session (brainbehave latent-model stage)."
    )
    _add_latents(module, latents or {})
    out = write_atomic(nwbfile, path)
    logger.info(
        "Wrote derived %s (pose %s, %d intervals, latents %s)",
        out,
        sorted(pose or {}),
        0 if intervals is None else len(intervals),
        sorted(latents or {}),
    )
    return out


def write_session_derived_nwb(
    path: str | os.PathLike,
    source_nwb: str | os.PathLike,
    sync_json: str | os.PathLike,
    *,
    pose2d: Mapping[str, str | os.PathLike] | None = None,
    pose3d: str | os.PathLike | None = None,
    labels: Mapping[str, str | os.PathLike] | None = None,
    latents: Mapping[str, str | os.PathLike] | None = None,
    skeleton_edges: Sequence[tuple] = (),
    provenance: Mapping[str, Any] | None = None,
    naive_start_ok: bool = False,
) -> Path:
    """A session's derived NWB from its pipeline files, everything on the neural clock.

    Parameters
    ----------
    path
        Output file, written atomically.
    source_nwb
        The session's neural NWB file (read-only).
    sync_json
        The session's sync result: every pose row and label gets its frame's neural time.
    pose2d, pose3d, labels
        Cleaned 2D pose per camera, 3D pose, per-frame labels per source (``rules`` |
        ``mae``), as in :func:`brainbehave.align_behaviour.load_session_behaviour`.
    latents
        Model name to the session's embedding file (``PATHS.latents_embedding``).
    skeleton_edges
        Pairs of keypoint names or indices for the ndx-pose ``Skeleton``.
    provenance
        Tool versions and parameters (the input files are added).

    Raises
    ------
    InputDataError
        When a file's frame count differs from its synchronised video, a camera was not
        synchronised, or a latents file holds no ``embedding``.
    """
    import xarray as xr

    from brainbehave.align_behaviour import load_session_behaviour
    from brainbehave.sync import read_sync

    behaviour = load_session_behaviour(sync_json, pose2d=pose2d, pose3d=pose3d, labels=labels)
    embeddings = {}
    for model, file in (latents or {}).items():
        with xr.open_dataset(file, engine="h5netcdf") as ds:
            if "embedding" not in ds:
                raise InputDataError(
                    f"{file}: no 'embedding' variable; not a latents embedding file of model "
                    f"{model!r}. Rerun latents_fit."
                )
            embeddings[model] = ds[["embedding"]].load()
            embeddings[model].attrs.update(ds.attrs)
    files = {"sync": sync_json, "pose2d": pose2d, "pose3d": pose3d, "labels": labels}
    prov = {
        **dict(provenance or {}),
        "inputs": {
            k: str(v) if not isinstance(v, Mapping) else {a: str(b) for a, b in v.items()}
            for k, v in {**files, "latents": latents}.items()
            if v
        },
        "sync": {cam: r.summary() for cam, r in read_sync(sync_json).items()},
    }
    return write_derived_nwb(
        path,
        source_nwb,
        pose=behaviour.pose,
        frame_times_neural={name: behaviour.times_of(name) for name in behaviour.pose},
        skeleton_edges=skeleton_edges,
        intervals=behaviour.intervals(),
        latents=embeddings,
        provenance=prov,
        naive_start_ok=naive_start_ok,
    )
