"""Behaviour on the neural clock: pose, features and labels of the video frames, binned.

The video stages write one row per saved frame: 2D pose per camera (its own frames), and 3D
pose, features and labels (frames paired by index across cameras, so the reference camera's
frames). :func:`load_session_behaviour` reads those files with the session's sync result
(:mod:`brainbehave.sync`) and gives each row its neural-clock time; :func:`behaviour_variables`
bins them onto the aligned dataset's time base (:mod:`brainbehave.align`): continuous values
linearly resampled (NaN across gaps), labels from the nearest frame (-1 where none).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)

#: Name of the 3D pose among a session's pose datasets (2D ones are named by camera).
POSE3D_NAME = "3d"


def var_name(text: str) -> str:
    """``text`` reduced to letters, digits and ``_`` (a netCDF/NWB-safe name)."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")


def median_step(times: np.ndarray) -> float:
    """Median positive step of ``times`` (inf when there is none)."""
    steps = np.diff(times)
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else np.inf


def resample(times: np.ndarray, values: np.ndarray, at: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linear interpolation of (T, C) ``values`` at ``at``; NaN outside or across long gaps.

    A point is NaN when it lies outside ``[times[0], times[-1]]`` or between two samples
    more than ``max_gap_s`` apart; NaN samples stay NaN (missing pose stays missing). A
    point within 1 ns of a sample takes that sample's value (bins centred on frames keep
    the frame beside a gap).
    """
    values = np.asarray(values, dtype=float).reshape(len(times), -1)
    j = np.clip(np.searchsorted(times, at, side="right"), 1, len(times) - 1)
    t0, t1 = times[j - 1], times[j]
    span = t1 - t0
    w = np.divide(at - t0, span, out=np.zeros_like(at, dtype=float), where=span > 0)
    out = values[j - 1] * (1.0 - w)[:, None] + values[j] * w[:, None]
    on_left, on_right = np.abs(at - t0) <= 1e-9, np.abs(t1 - at) <= 1e-9
    out[on_left] = values[j - 1][on_left]
    out[on_right & ~on_left] = values[j][on_right & ~on_left]
    outside = (at < times[0] - 1e-9) | (at > times[-1] + 1e-9)
    out[outside | ((span > max_gap_s) & ~on_left & ~on_right)] = np.nan
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


@dataclass(frozen=True, eq=False)
class SessionBehaviour:
    """A session's per-frame behaviour with the neural time of every row.

    Attributes
    ----------
    frame_times
        (M,) neural time of the reference camera's saved frames: the rows of the 3D pose,
        the features and the labels.
    pose
        Name (camera, or :data:`POSE3D_NAME`) to a pose dataset (:mod:`brainbehave.pose`).
    pose_times
        Name to the neural time of each of that pose's rows (default ``frame_times``).
    features
        Feature name to its (M,) or (M, F) per-frame values.
    labels
        Source (``rules`` | ``mae``) to a labels dataset (:mod:`brainbehave.behaviour.labels`).
    """

    frame_times: np.ndarray
    pose: Mapping[str, xr.Dataset] = field(default_factory=dict)
    pose_times: Mapping[str, np.ndarray] = field(default_factory=dict)
    features: Mapping[str, np.ndarray] = field(default_factory=dict)
    labels: Mapping[str, xr.Dataset] = field(default_factory=dict)

    def times_of(self, name: str) -> np.ndarray:
        """Neural time of each row of the pose ``name``."""
        return np.asarray(self.pose_times.get(name, self.frame_times), dtype=float)

    def intervals(self) -> pd.DataFrame:
        """Every source's label runs as intervals on the neural clock (:func:`label_intervals`)."""
        from brainbehave.behaviour.labels import level_names, levels_of

        tables = [
            label_intervals(
                self.frame_times,
                {lvl: ds[lvl].values for lvl in levels_of(ds)},
                {lvl: level_names(ds, lvl) for lvl in levels_of(ds)},
                source,
            )
            for source, ds in self.labels.items()
        ]
        return pd.concat(tables, ignore_index=True) if tables else label_intervals([], {}, {}, "")


def _check_rows(n_rows: int, frame_times: np.ndarray, what: str, where: str) -> None:
    if n_rows != len(frame_times):
        raise InputDataError(
            f"{where}: {what} has {n_rows} frames but the synchronised video has "
            f"{len(frame_times)} saved frames; it must have one row per saved frame. Rerun the "
            "stage that wrote it on this session's videos."
        )


def load_session_behaviour(
    sync_json: str | os.PathLike,
    *,
    pose2d: Mapping[str, str | os.PathLike] | None = None,
    pose3d: str | os.PathLike | None = None,
    features: str | os.PathLike | None = None,
    labels: Mapping[str, str | os.PathLike] | None = None,
    camera: str | None = None,
) -> SessionBehaviour:
    """Read a session's behaviour files and time every row on the neural clock.

    Parameters
    ----------
    sync_json
        The session's sync result (:func:`brainbehave.sync.write_sync`).
    pose2d
        Camera to its cleaned 2D pose file; each is timed with its own camera's frames.
    pose3d, features
        The 3D pose and the behaviour features (``features`` (time, feature)).
    labels
        Source to its per-frame labels file.
    camera
        Reference camera for the 3D pose, features and labels (default: the first synced).

    Raises
    ------
    InputDataError
        When a camera was not synchronised or a file's frame count differs from its video's.
    """
    from brainbehave.behaviour.labels import load_labels
    from brainbehave.pose import load_pose
    from brainbehave.sync import read_sync

    syncs = read_sync(sync_json)
    camera = camera or next(iter(syncs))
    missing = sorted(set(pose2d or {}) - set(syncs) | ({camera} - set(syncs)))
    if missing:
        raise InputDataError(
            f"{sync_json}: no sync for camera(s) {missing}; it has {list(syncs)}. Rerun "
            "neural_sync with the session's videos sheet."
        )
    frames = syncs[camera].frame_times_neural
    pose, pose_times = {}, {}
    for cam, path in (pose2d or {}).items():
        pose[cam] = load_pose(path)
        pose_times[cam] = syncs[cam].frame_times_neural
        _check_rows(pose[cam].sizes["time"], pose_times[cam], f"2D pose {cam!r}", str(path))
    if pose3d is not None:
        pose[POSE3D_NAME] = load_pose(pose3d)
        _check_rows(pose[POSE3D_NAME].sizes["time"], frames, "3D pose", str(pose3d))
    columns: dict[str, np.ndarray] = {}
    if features is not None:
        with xr.open_dataset(features, engine="h5netcdf") as ds:
            table = ds["features"].load()
        _check_rows(table.sizes["time"], frames, "the features", str(features))
        columns = {str(f): table.sel(feature=f).values for f in table["feature"].values}
    loaded = {}
    for source, path in (labels or {}).items():
        loaded[source] = load_labels(path)
        _check_rows(loaded[source].sizes["time"], frames, f"{source} labels", str(path))
    return SessionBehaviour(frames, pose, pose_times, columns, loaded)


def _pose_vars(behaviour: SessionBehaviour, centres: np.ndarray) -> dict[str, xr.DataArray]:
    out = {}
    for name, ds in behaviour.pose.items():
        times = behaviour.times_of(name)
        pos = ds["position"].isel(individuals=0).transpose("time", "space", "keypoints")
        _check_rows(pos.shape[0], times, f"pose {name!r}", "aligning")
        flat = resample(
            times, pos.values.reshape(len(times), -1), centres, 2.5 * median_step(times)
        )
        key = f"pose_{var_name(name)}"
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


def _feature_vars(behaviour: SessionBehaviour, centres: np.ndarray) -> dict[str, xr.DataArray]:
    frames, out = behaviour.frame_times, {}
    for name, values in behaviour.features.items():
        values = np.asarray(values, dtype=float).reshape(len(values), -1)
        _check_rows(len(values), frames, f"feature {name!r}", "aligning")
        key = f"feature_{var_name(name)}"
        out[key] = xr.DataArray(
            resample(frames, values, centres, 2.5 * median_step(frames)),
            dims=("time", f"{key}_dim"),
        )
    return out


def _label_vars(
    behaviour: SessionBehaviour, centres: np.ndarray, max_dist_s: float
) -> dict[str, xr.DataArray]:
    from brainbehave.behaviour.labels import level_names, levels_of

    frames, out = behaviour.frame_times, {}
    for source, ds in behaviour.labels.items():
        for level in levels_of(ds):
            _check_rows(ds.sizes["time"], frames, f"{source} labels", "aligning")
            out[f"label_{var_name(source)}_{var_name(level)}"] = xr.DataArray(
                assign_labels(frames, ds[level].values, centres, max_dist_s),
                dims=("time",),
                attrs={
                    "names": json.dumps(level_names(ds, level)),
                    "source": source,
                    "level": level,
                },
            )
    return out


def _max_label_distance(behaviour: SessionBehaviour, bin_s: float) -> float:
    if len(behaviour.frame_times) < 2:
        raise InputDataError("Cannot bin behaviour with fewer than 2 synchronised video frames.")
    return max(bin_s, median_step(behaviour.frame_times)) * 0.75


def video_coverage(behaviour: SessionBehaviour, centres: np.ndarray, bin_s: float) -> np.ndarray:
    """(B,) bool: bins with a saved video frame near their centre (the rule of the labels).

    Bins of dropped frames and bins outside the video are not covered. Values missing
    inside a covered bin (an occluded keypoint, a frame no behaviour rule matched) are the
    variables' own business (NaN, -1): they do not make the bin unusable for the others.
    """
    frames = np.asarray(behaviour.frame_times, dtype=float)
    max_dist = _max_label_distance(behaviour, bin_s)
    j = np.clip(np.searchsorted(frames, centres), 1, len(frames) - 1)
    nearest = np.minimum(np.abs(centres - frames[j - 1]), np.abs(frames[j] - centres))
    return nearest <= max_dist


def behaviour_variables(
    behaviour: SessionBehaviour, centres: np.ndarray, bin_s: float
) -> dict[str, xr.DataArray]:
    """Pose, features and labels at the bin centres (names as in the aligned contract).

    Continuous values are interpolated between frames no more than 2.5 frame periods apart;
    a bin takes the label of the nearest frame within 0.75 of a bin or frame period.
    """
    max_dist = _max_label_distance(behaviour, bin_s)
    return {
        **_pose_vars(behaviour, centres),
        **_feature_vars(behaviour, centres),
        **_label_vars(behaviour, centres, max_dist),
    }


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
    period = median_step(frame_times)
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
