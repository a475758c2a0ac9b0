"""Clocks of the virtual lab: camera exposures, dropped frames and the neural sync TTL.

Two clocks run in every session:

- the VIDEO clock: camera exposure ``k`` happens at ``t_k = k / fps`` (k = 0..N-1);
- the NEURAL clock of the acquisition system, which records one TTL pulse per exposure,
  ``t_neural = offset_s + (1 + drift_ppm * 1e-6) * t_video + jitter``, quantised to its
  sampling rate (30 kHz by default).

A few exposures are dropped: they never reach the video files (the same set for every
camera) but their TTL pulses are still recorded, as on real rigs where the camera fires and
the frame grabber loses the frame. Recovering the mapping and the dropped frames from the
TTL series is the job of the sync stage; :class:`ClockTruth` is what it is judged against.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

# Dropped frames are kept away from the ends so that the first and last saved frames are
# genuine anchors for the sync stage's fit.
EDGE_GUARD = 10


@dataclass(frozen=True, eq=False)
class ClockTruth:
    """Ground truth of one session's clocks (``eq=False``: fields are arrays).

    Parameters
    ----------
    offset_s
        Neural time of video time 0, in seconds.
    drift_ppm
        Rate error of the neural clock relative to the video clock, parts per million.
    ttl_sampling_hz
        Sampling rate of the acquisition system; TTL times are multiples of its period.
    exposure_times_video
        (N,) exposure times on the video clock, ``k / fps``.
    ttl_times_neural
        (N,) TTL pulse times on the neural clock after jitter and quantisation: what the
        NWB file stores. One pulse per exposure, dropped exposures included.
    dropped
        (N,) bool, True where the exposure never reached the video.
    """

    offset_s: float
    drift_ppm: float
    ttl_sampling_hz: float
    exposure_times_video: np.ndarray
    ttl_times_neural: np.ndarray
    dropped: np.ndarray

    def __post_init__(self) -> None:
        n = self.exposure_times_video.shape
        for name in ("ttl_times_neural", "dropped"):
            shape = getattr(self, name).shape
            if len(n) != 1 or shape != n:
                raise ValueError(
                    f"Expected 'exposure_times_video' and '{name}' to be 1-D arrays of the same "
                    f"shape, but got {n} and {shape}."
                )
        if self.dropped.dtype != bool:
            raise ValueError(
                f"Expected 'dropped' to be a bool array, but got {self.dropped.dtype}."
            )

    def video_to_neural(self, t_video: np.ndarray) -> np.ndarray:
        """Map video-clock times to the neural clock (the true, noise-free mapping)."""
        return _video_to_neural(t_video, self.offset_s, self.drift_ppm)

    def neural_to_video(self, t_neural: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`video_to_neural`."""
        return (np.asarray(t_neural, dtype=float) - self.offset_s) / (1.0 + self.drift_ppm * 1e-6)

    def video_to_neural_sampled(self, t_video: np.ndarray) -> np.ndarray:
        """Map video-clock times to the neural clock, rounded to the acquisition sample grid.

        What an acquisition system reports for an event (e.g. a sorted spike) that happened
        at ``t_video``: its time on the neural clock, as a whole number of samples.
        """
        return _quantise(self.video_to_neural(t_video), self.ttl_sampling_hz)

    @property
    def video_exposure_index(self) -> np.ndarray:
        """(M,) exposure index of each frame saved in the video, in video order."""
        return np.flatnonzero(~self.dropped)

    @property
    def n_exposures(self) -> int:
        """Number of camera exposures, dropped ones included."""
        return int(self.exposure_times_video.shape[0])


def _video_to_neural(t_video: np.ndarray, offset_s: float, drift_ppm: float) -> np.ndarray:
    return offset_s + (1.0 + drift_ppm * 1e-6) * np.asarray(t_video, dtype=float)


def _quantise(t: np.ndarray, sampling_hz: float) -> np.ndarray:
    return np.round(t * sampling_hz) / sampling_hz


def _check_range(name: str, value: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ValueError(
            f"Expected '{name}' to be a finite (low, high) with low <= high, got {value}."
        )
    return lo, hi


def _check_clock_args(
    n_exposures: int, fps: float, n_dropped: int, jitter_s: float, ttl_sampling_hz: float
) -> None:
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"Expected 'fps' to be a positive number, but got {fps}.")
    if not np.isfinite(ttl_sampling_hz) or ttl_sampling_hz <= 0:
        raise ValueError(f"Expected 'ttl_sampling_hz' to be positive, but got {ttl_sampling_hz}.")
    if not np.isfinite(jitter_s) or jitter_s < 0:
        raise ValueError(f"Expected 'jitter_s' to be >= 0, but got {jitter_s}.")
    if jitter_s * 10 >= 1.0 / fps:
        raise ValueError(
            f"'jitter_s' = {jitter_s} s is not small against the frame period {1 / fps} s: "
            "TTL pulses could swap order. Use a jitter below a tenth of the frame period."
        )
    if 10.0 / ttl_sampling_hz >= 1.0 / fps:
        raise ValueError(
            f"'ttl_sampling_hz' = {ttl_sampling_hz} Hz is too slow for {fps} fps: the sample "
            "period must be below a tenth of the frame period for the TTL pulses to be told apart."
        )
    if n_dropped < 0:
        raise ValueError(f"Expected 'n_dropped' to be >= 0, but got {n_dropped}.")
    # Room for the guarded ends plus n_dropped non-adjacent drops (each needs a gap after it).
    needed = 2 * EDGE_GUARD + max(2 * n_dropped - 1, 0)
    if n_exposures < max(needed, 2):
        raise ValueError(
            f"Cannot place {n_dropped} non-adjacent dropped frames away from the first and last "
            f"{EDGE_GUARD} exposures in {n_exposures} exposures: need at least {max(needed, 2)}. "
            "Lengthen the session or drop fewer frames."
        )


def _choose_dropped(n_exposures: int, n_dropped: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct, non-adjacent indices in [EDGE_GUARD, n_exposures - EDGE_GUARD)."""
    n_candidates = n_exposures - 2 * EDGE_GUARD
    # Choosing k sorted values from n - (k - 1) slots and spreading the i-th by i gives a
    # uniformly drawn set of k values with gaps of at least 2 (no two adjacent).
    slots = np.sort(rng.choice(n_candidates - max(n_dropped - 1, 0), n_dropped, replace=False))
    index = EDGE_GUARD + slots + np.arange(n_dropped)
    dropped = np.zeros(n_exposures, dtype=bool)
    dropped[index] = True
    return dropped


def simulate_clock(
    n_exposures: int,
    fps: float,
    rng: np.random.Generator,
    n_dropped: int = 4,
    offset_range_s: tuple[float, float] = (2.0, 8.0),
    drift_ppm_range: tuple[float, float] = (-60.0, 60.0),
    jitter_s: float = 20e-6,
    ttl_sampling_hz: float = 30000.0,
) -> ClockTruth:
    """Simulate one session's camera exposures, dropped frames and sync TTL pulses.

    Parameters
    ----------
    n_exposures
        Number of camera exposures N (dropped ones included).
    fps
        Camera frame rate on the video clock.
    rng
        Random generator; the result is a deterministic function of its state.
    n_dropped
        Number of dropped exposures: distinct, not among the first/last 10, never adjacent.
    offset_range_s, drift_ppm_range
        Ranges the clock offset (s) and drift (ppm) are drawn from, uniformly.
    jitter_s
        Standard deviation of the Gaussian jitter of each TTL pulse on the neural clock.
    ttl_sampling_hz
        Sampling rate of the acquisition system; TTL times are quantised to it.

    Returns
    -------
    ClockTruth
        The clocks' ground truth, with the TTL times the NWB file stores.

    Raises
    ------
    ValueError
        If an argument is out of range or the session is too short for the dropped frames.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"Expected 'rng' to be a numpy.random.Generator, but got {type(rng)}.")
    n_exposures, n_dropped = int(n_exposures), int(n_dropped)
    _check_clock_args(n_exposures, fps, n_dropped, jitter_s, ttl_sampling_hz)
    offset_s = float(rng.uniform(*_check_range("offset_range_s", offset_range_s)))
    drift_ppm = float(rng.uniform(*_check_range("drift_ppm_range", drift_ppm_range)))
    exposure_times = np.arange(n_exposures) / float(fps)
    dropped = _choose_dropped(n_exposures, n_dropped, rng)
    jitter = rng.normal(0.0, jitter_s, n_exposures)
    ttl = _quantise(_video_to_neural(exposure_times, offset_s, drift_ppm) + jitter, ttl_sampling_hz)
    logger.debug(
        "Clock: offset %.4f s, drift %.2f ppm, %d exposures, dropped %s",
        offset_s,
        drift_ppm,
        n_exposures,
        np.flatnonzero(dropped).tolist(),
    )
    return ClockTruth(
        offset_s=offset_s,
        drift_ppm=drift_ppm,
        ttl_sampling_hz=float(ttl_sampling_hz),
        exposure_times_video=exposure_times,
        ttl_times_neural=ttl,
        dropped=dropped,
    )
