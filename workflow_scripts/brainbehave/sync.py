"""Clock synchronisation: the neural-clock time of every saved video frame.

Video and neural acquisition run on different clocks. The mapping is modelled as
``t_neural = offset_s + (1 + drift_ppm * 1e-6) * t_video`` and recovered from one of

``ttl+frame_times``
    one TTL pulse per camera exposure on the neural clock (dropped exposures included) and
    the camera's own timestamps of the saved frames (video clock). Gaps of ``k`` frame
    periods in the timestamps place ``k - 1`` dropped exposures; each saved frame is then
    paired with its pulse and the mapping fitted robustly (least squares, iterated with
    rejection of pulses beyond ``outlier_sigma`` robust standard deviations).
``ttl``
    TTL pulses alone: usable only when there is exactly one pulse per saved frame (nothing
    dropped); frame ``i`` is at video time ``i / fps``.
``sheet``
    offset and drift given by the user (no fit, no residuals).

The result (:class:`SyncResult`) is written as JSON by :func:`write_sync`. Inconsistent input
is refused with :class:`~brainbehave.errors.InputDataError`: more dropped frames than the
tolerance, fewer pulses than exposures, irregular timestamps, or residuals too large.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainbehave.atomic import write_text
from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, eq=False)
class SyncResult:
    """The recovered video-to-neural mapping of one camera.

    Attributes
    ----------
    method
        ``ttl+frame_times``, ``ttl`` or ``sheet``.
    offset_s, drift_ppm
        Neural time of video time 0, and the rate error of the neural clock (ppm).
    fps
        Nominal frame rate used to count frame periods.
    n_pulses, n_frames
        Sync pulses in the NWB file (0 for ``sheet``) and frames saved in the video.
    dropped_exposures
        Exposure indices (pulse numbering) that never reached the video.
    frame_exposure
        (M,) exposure index of each saved frame.
    frame_times_neural
        (M,) neural-clock time of each saved frame: the fitted mapping applied to its
        video timestamp.
    residual_max_ms, residual_median_ms
        Of ``pulse time - fitted time`` over the pulses used in the fit (NaN for ``sheet``).
    outlier_exposures
        Exposures whose pulse the robust fit rejected.
    where
        What was synchronised (file and camera), for messages.
    """

    method: str
    offset_s: float
    drift_ppm: float
    fps: float
    n_pulses: int
    n_frames: int
    dropped_exposures: list[int]
    frame_exposure: np.ndarray
    frame_times_neural: np.ndarray
    residual_max_ms: float = float("nan")
    residual_median_ms: float = float("nan")
    outlier_exposures: list[int] = field(default_factory=list)
    where: str = ""

    def video_to_neural(self, t_video: np.ndarray) -> np.ndarray:
        """Map video-clock times to the neural clock with the recovered mapping."""
        return self.offset_s + (1.0 + self.drift_ppm * 1e-6) * np.asarray(t_video, dtype=float)

    def summary(self) -> dict:
        """The scalar part (no per-frame arrays), for logs and provenance."""
        out = asdict(self)
        for key in ("frame_exposure", "frame_times_neural"):
            out.pop(key)
        return out


def read_frame_times(path: str | os.PathLike) -> np.ndarray:
    """The camera timestamps (s, video clock) of the saved frames from ``frame,timestamp_s``.

    Raises
    ------
    InputDataError
        If the file lacks the columns, or frames or timestamps are not in increasing order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Frame-times file {str(path)!r} does not exist.")
    table = pd.read_csv(path)
    missing = {"frame", "timestamp_s"} - set(table.columns)
    if missing:
        raise InputDataError(
            f"{path}: expected columns 'frame' and 'timestamp_s', but it has "
            f"{list(table.columns)} (missing {sorted(missing)})."
        )
    frames = table["frame"].to_numpy()
    if not np.array_equal(frames, np.arange(len(frames))):
        raise InputDataError(f"{path}: 'frame' must count 0, 1, 2, ... in order; it does not.")
    times = table["timestamp_s"].to_numpy(dtype=float)
    _check_increasing(times, f"{path} timestamp_s")
    return times


def _check_increasing(t: np.ndarray, where: str) -> None:
    if t.ndim != 1 or len(t) < 2:
        raise InputDataError(f"{where}: expected at least 2 times in a 1-D array, got {t.shape}.")
    if not np.all(np.isfinite(t)):
        raise InputDataError(f"{where}: holds NaN or infinite times.")
    bad = np.flatnonzero(np.diff(t) <= 0)
    if len(bad):
        raise InputDataError(
            f"{where}: times must be strictly increasing, but {len(bad)} are not (first at "
            f"index {bad[0] + 1}: {t[bad[0]]} then {t[bad[0] + 1]}). Check the file is the "
            "right one and not concatenated from several recordings."
        )


def _check_fps(fps: float, where: str) -> float:
    if fps is None or not np.isfinite(fps) or fps <= 0:
        raise InputDataError(
            f"{where}: the frame rate must be a positive number, got {fps!r}. Set 'fps' "
            "in the sessions sheet."
        )
    return float(fps)


def exposures_from_timestamps(
    frame_times_video: np.ndarray, fps: float, where: str = "frame times"
) -> np.ndarray:
    """Exposure index of each saved frame, counting frame periods between timestamps.

    The first saved frame is exposure ``round(t0 * fps)`` (the camera's clock starts at its
    first exposure); a gap of ``k`` periods means ``k - 1`` dropped exposures.

    Raises
    ------
    InputDataError
        If a gap is not close to a whole number of frame periods (off by > 0.25 period).
    """
    t = np.asarray(frame_times_video, dtype=float)
    _check_increasing(t, where)
    periods = np.concatenate([[t[0]], np.diff(t)]) * fps
    whole = np.round(periods)
    off = np.abs(periods - whole)
    off[0] = 0.0  # the first timestamp only sets the starting exposure
    bad_gap = off > 0.25
    bad_gap[1:] |= whole[1:] < 1
    bad = np.flatnonzero(bad_gap)
    if len(bad):
        i = int(bad[0])
        raise InputDataError(
            f"{where}: frame {i} comes {periods[i]:.3f} frame periods after frame {i - 1}; "
            f"gaps must be whole numbers of periods at {fps} fps. Is 'fps' right?"
        )
    return np.cumsum(whole.astype(np.int64))


def _robust_line(
    x: np.ndarray, y: np.ndarray, outlier_sigma: float, floor_s: float
) -> tuple[float, float, np.ndarray]:
    """Intercept, slope and inlier mask of ``y ~ a + b x``, refitted without outliers."""
    x0, y0 = x.mean(), y.mean()
    dx, dy = x - x0, y - y0
    inliers = np.ones(len(x), dtype=bool)
    for _ in range(10):
        slope, intercept = np.polyfit(dx[inliers], dy[inliers], 1)
        resid = dy - (intercept + slope * dx)
        scale = _MAD_TO_SIGMA * np.median(np.abs(resid[inliers] - np.median(resid[inliers])))
        keep = np.abs(resid) <= max(outlier_sigma * scale, floor_s)
        if np.array_equal(keep, inliers) or keep.sum() < 2:
            break
        inliers = keep
    return y0 + intercept - slope * x0, slope, inliers


def _fit(
    x: np.ndarray, y: np.ndarray, exposures: np.ndarray, tol: SyncTolerance, where: str
) -> tuple[float, float, np.ndarray, list[int]]:
    """Offset, slope, residuals (s) and rejected exposures; refuse an inconsistent mapping."""
    offset, slope, inliers = _robust_line(x, y, tol.outlier_sigma, tol.outlier_floor_ms * 1e-3)
    resid = y - (offset + slope * x)
    outliers = exposures[~inliers].tolist()
    worst = float(np.max(np.abs(resid[inliers]))) * 1e3
    if len(outliers) > tol.max_outlier_fraction * len(x) or worst > tol.max_residual_ms:
        raise InputDataError(
            f"{where}: the sync pulses do not follow one linear clock mapping: "
            f"{len(outliers)} of {len(x)} pulses rejected as outliers, largest remaining "
            f"residual {worst:.3f} ms (limits {tol.max_outlier_fraction:.1%} and "
            f"{tol.max_residual_ms} ms). Check that the sync series and the frame times "
            "belong to the same recording and that 'fps' is right."
        )
    return offset, slope, resid, outliers


@dataclass(frozen=True)
class SyncTolerance:
    """Limits beyond which a mapping is refused.

    Attributes
    ----------
    max_dropped_fraction, min_dropped_allowed
        Dropped exposures (and surplus pulses) allowed: this fraction of the pulses, but
        at least ``min_dropped_allowed`` (short sessions).
    max_residual_ms
        Largest residual allowed among the pulses kept by the fit.
    max_outlier_fraction
        Fraction of pulses the robust fit may reject.
    outlier_sigma, outlier_floor_ms
        A pulse is an outlier beyond ``max(outlier_sigma * robust sd, outlier_floor_ms)``.
    """

    max_dropped_fraction: float = 0.01
    min_dropped_allowed: int = 5
    max_residual_ms: float = 2.0
    max_outlier_fraction: float = 0.01
    outlier_sigma: float = 6.0
    outlier_floor_ms: float = 0.2


def sync_from_ttl_and_frame_times(
    ttl_neural: np.ndarray,
    frame_times_video: np.ndarray,
    fps: float,
    tolerance: SyncTolerance | None = None,
    where: str = "session",
) -> SyncResult:
    """Map saved frames to the neural clock from TTL pulses and camera timestamps.

    Parameters
    ----------
    ttl_neural
        (N,) pulse times on the neural clock, one per exposure, dropped exposures included.
    frame_times_video
        (M,) camera timestamps of the saved frames (video clock), M <= N.
    fps
        Nominal camera frame rate.
    tolerance
        Refusal limits (defaults of :class:`SyncTolerance`).
    where
        Names the file/camera in messages.

    Raises
    ------
    InputDataError
        If times are not increasing, gaps are not whole frame periods, there are fewer pulses
        than exposures, more dropped frames or surplus pulses than the tolerance, or the
        pulses do not fit one linear mapping.
    """
    tol = tolerance or SyncTolerance()
    fps = _check_fps(fps, where)
    ttl = np.asarray(ttl_neural, dtype=float)
    _check_increasing(ttl, f"{where} sync pulses")
    frame_times = np.asarray(frame_times_video, dtype=float)
    exposure = exposures_from_timestamps(frame_times, fps, f"{where} frame times")
    n, m = len(ttl), len(frame_times)
    n_exposures = int(exposure[-1]) + 1
    dropped = np.setdiff1d(np.arange(n_exposures), exposure)
    surplus = n - n_exposures
    allowed = max(int(np.floor(tol.max_dropped_fraction * n)), tol.min_dropped_allowed)
    if surplus < 0 or len(dropped) + surplus > allowed:
        raise InputDataError(
            f"{where}: {n} sync pulses but the frame timestamps imply {n_exposures} exposures "
            f"({m} saved frames, {len(dropped)} dropped); pulses and exposures may differ by "
            f"at most {allowed} (config neural.sync: max_dropped_fraction, "
            "min_dropped_allowed). Check that the sync series and the video are of the same "
            "recording, and 'fps'."
        )
    if surplus:
        logger.warning("%s: %d sync pulses after the last saved frame, ignored", where, surplus)
    offset, slope, resid, outliers = _fit(frame_times, ttl[exposure], exposure, tol, where)
    kept = np.abs(np.delete(resid, np.searchsorted(exposure, outliers)))
    return SyncResult(
        method="ttl+frame_times",
        offset_s=float(offset),
        drift_ppm=float((slope - 1.0) * 1e6),
        fps=fps,
        n_pulses=n,
        n_frames=m,
        dropped_exposures=dropped.tolist(),
        frame_exposure=exposure,
        frame_times_neural=offset + slope * frame_times,
        residual_max_ms=float(kept.max() * 1e3),
        residual_median_ms=float(np.median(kept) * 1e3),
        outlier_exposures=outliers,
        where=where,
    )


def sync_from_ttl(
    ttl_neural: np.ndarray,
    n_frames: int,
    fps: float,
    tolerance: SyncTolerance | None = None,
    where: str = "session",
) -> SyncResult:
    """Map saved frames to the neural clock from TTL pulses alone (one pulse per frame).

    Raises
    ------
    InputDataError
        If the pulse count differs from the frame count (without frame timestamps a dropped
        frame cannot be placed), or the pulses do not fit one linear mapping.
    """
    tol = tolerance or SyncTolerance()
    fps = _check_fps(fps, where)
    ttl = np.asarray(ttl_neural, dtype=float)
    _check_increasing(ttl, f"{where} sync pulses")
    if len(ttl) != n_frames:
        raise InputDataError(
            f"{where}: {len(ttl)} sync pulses but {n_frames} saved frames. Without the "
            "camera's frame timestamps dropped frames cannot be located: add a 'frame_times' "
            "file for this video in the videos sheet."
        )
    exposure = np.arange(n_frames)
    video_t = exposure / fps
    offset, slope, resid, outliers = _fit(video_t, ttl, exposure, tol, where)
    kept = np.abs(np.delete(resid, outliers))
    return SyncResult(
        method="ttl",
        offset_s=float(offset),
        drift_ppm=float((slope - 1.0) * 1e6),
        fps=fps,
        n_pulses=len(ttl),
        n_frames=n_frames,
        dropped_exposures=[],
        frame_exposure=exposure,
        frame_times_neural=offset + slope * video_t,
        residual_max_ms=float(kept.max() * 1e3),
        residual_median_ms=float(np.median(kept) * 1e3),
        outlier_exposures=outliers,
        where=where,
    )


def sync_from_offset(
    offset_s: float,
    drift_ppm: float,
    fps: float,
    frame_times_video: np.ndarray | None = None,
    n_frames: int | None = None,
    where: str = "session",
) -> SyncResult:
    """Apply a mapping given by the user (sheet) to the frame timestamps or to ``i / fps``.

    Raises
    ------
    InputDataError
        If offset or drift is not finite, or neither timestamps nor a frame count is given.
    """
    fps = _check_fps(fps, where)
    if not (np.isfinite(offset_s) and np.isfinite(drift_ppm)):
        raise InputDataError(
            f"{where}: sync offset {offset_s!r} s and drift {drift_ppm!r} ppm must be numbers."
        )
    if frame_times_video is not None:
        video_t = np.asarray(frame_times_video, dtype=float)
        exposure = exposures_from_timestamps(video_t, fps, f"{where} frame times")
    elif n_frames is not None and n_frames > 0:
        exposure = np.arange(int(n_frames))
        video_t = exposure / fps
    else:
        raise InputDataError(f"{where}: give the frame timestamps or the number of frames.")
    dropped = np.setdiff1d(np.arange(int(exposure[-1]) + 1), exposure)
    return SyncResult(
        method="sheet",
        offset_s=float(offset_s),
        drift_ppm=float(drift_ppm),
        fps=fps,
        n_pulses=0,
        n_frames=len(video_t),
        dropped_exposures=dropped.tolist(),
        frame_exposure=exposure,
        frame_times_neural=offset_s + (1.0 + drift_ppm * 1e-6) * video_t,
        where=where,
    )


def write_sync(path: str | os.PathLike, results: dict[str, SyncResult]) -> None:
    """Write per-camera sync results as one JSON file (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format_version": FORMAT_VERSION, "cameras": {}}
    for camera, result in results.items():
        entry = result.summary()
        entry["frame_exposure"] = result.frame_exposure.tolist()
        entry["frame_times_neural"] = [round(float(t), 9) for t in result.frame_times_neural]
        doc["cameras"][camera] = entry
    write_text(path, json.dumps(doc, indent=1, allow_nan=True))


def read_sync(path: str | os.PathLike) -> dict[str, SyncResult]:
    """Read per-camera sync results written by :func:`write_sync`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Sync file {str(path)!r} does not exist.")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format_version") != FORMAT_VERSION:
        raise InputDataError(
            f"{path}: sync format version {doc.get('format_version')}, expected "
            f"{FORMAT_VERSION}. Rerun the neural_sync rule."
        )
    out = {}
    for camera, entry in doc["cameras"].items():
        entry["frame_exposure"] = np.asarray(entry["frame_exposure"], dtype=np.int64)
        entry["frame_times_neural"] = np.asarray(entry["frame_times_neural"], dtype=float)
        out[camera] = SyncResult(**entry)
    return out


def video_frame_count(video: str | os.PathLike) -> int:
    """Number of frames in a video file (container metadata, via OpenCV)."""
    import cv2  # heavy import, only when a video must be counted

    cap = cv2.VideoCapture(str(video))
    try:
        if not cap.isOpened():
            raise InputDataError(f"Cannot open video {str(video)!r} to count its frames.")
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()


def sync_session(
    *,
    cameras: dict[str, dict],
    fps: float,
    ttl_neural: np.ndarray | None = None,
    offset_s: float | None = None,
    drift_ppm: float | None = None,
    tolerance: SyncTolerance | None = None,
    where: str = "session",
) -> dict[str, SyncResult]:
    """Synchronise every camera of a session, choosing the method from what is available.

    Parameters
    ----------
    cameras
        Per camera, ``{"frame_times": path or None, "video": path}``.
    fps
        Nominal frame rate (sessions sheet, or the virtual lab's setting).
    ttl_neural
        Sync pulses on the neural clock, or None when the sheet gives offset and drift.
    offset_s, drift_ppm
        The mapping from the sheet, used when there are no pulses.

    Raises
    ------
    InputDataError
        If neither pulses nor an offset are given, or a camera cannot be synchronised.
    """
    results = {}
    for camera, files in cameras.items():
        here = f"{where} camera {camera}"
        frame_times = files.get("frame_times")
        times = read_frame_times(frame_times) if frame_times else None
        if ttl_neural is not None and times is not None:
            result = sync_from_ttl_and_frame_times(ttl_neural, times, fps, tolerance, here)
        elif ttl_neural is not None:
            n = video_frame_count(files["video"])
            result = sync_from_ttl(ttl_neural, n, fps, tolerance, here)
        elif offset_s is not None:
            n = None if times is not None else video_frame_count(files["video"])
            result = sync_from_offset(offset_s, drift_ppm or 0.0, fps, times, n, here)
        else:
            raise InputDataError(
                f"{where}: no sync series and no clock offset. Name the frame-sync TTL series "
                "in the sessions sheet ('sync_series') or give the clock offset and drift."
            )
        logger.info(
            "%s: %s offset %.6f s, drift %.2f ppm, %d dropped, residual max %.3f ms",
            here,
            result.method,
            result.offset_s,
            result.drift_ppm,
            len(result.dropped_exposures),
            result.residual_max_ms,
        )
        results[camera] = result
    return results


def sync_nwb_session(
    nwb: str | os.PathLike,
    out: str | os.PathLike,
    *,
    cameras: dict[str, dict],
    fps: float | None,
    sync_series: str | None = None,
    offset_s: float | None = None,
    drift_ppm: float | None = None,
    tolerance: SyncTolerance | None = None,
) -> dict[str, SyncResult]:
    """Read the sync pulses of an NWB file (read-only), synchronise every camera, write JSON.

    Parameters
    ----------
    nwb
        The session's neural NWB file.
    out
        Sync JSON (:func:`write_sync`).
    cameras, fps, offset_s, drift_ppm, tolerance
        As :func:`sync_session`.
    sync_series
        Name of the acquisition TimeSeries holding one pulse per exposure; None to use the
        sheet's offset and drift.
    """
    from brainbehave.nwb import read_ttl_times  # the NWB module is heavy to import

    try:
        ttl = read_ttl_times(nwb, sync_series) if sync_series else None
    except (KeyError, ValueError) as err:
        raise InputDataError(err.args[0] if err.args else str(err)) from err
    results = sync_session(
        cameras=cameras,
        fps=fps,
        ttl_neural=ttl,
        offset_s=offset_s,
        drift_ppm=drift_ppm,
        tolerance=tolerance,
        where=str(nwb),
    )
    write_sync(out, results)
    return results
