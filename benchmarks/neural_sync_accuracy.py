"""Clock synchronisation against the virtual lab's truth.

Usage: python benchmarks/neural_sync_accuracy.py [--sessions 20] [--duration-s 600]
Part 1: simulated clocks only (many sessions, long): recovered offset and drift against the
truth, largest error of a frame's neural time, dropped frames found.
Part 2: two full virtual-lab sessions through their files (NWB TTL + frame-times CSV).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from brainbehave.paths import Paths
from brainbehave.sync import read_sync, sync_from_ttl_and_frame_times, sync_nwb_session
from brainbehave.synth.clock import simulate_clock
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings


def _errors(result, truth_offset, truth_drift, true_times, true_dropped) -> tuple:
    return (
        abs(result.offset_s - truth_offset) * 1e3,
        abs(result.drift_ppm - truth_drift),
        np.max(np.abs(result.frame_times_neural - true_times)) * 1e3,
        result.dropped_exposures == true_dropped,
    )


def clocks_only(n_sessions: int, duration_s: float, fps: float = 30.0) -> None:
    rows, t_fit = [], 0.0
    for seed in range(n_sessions):
        clock = simulate_clock(
            int(duration_s * fps), fps, np.random.default_rng(seed), n_dropped=10
        )
        saved = ~clock.dropped
        t0 = time.perf_counter()
        result = sync_from_ttl_and_frame_times(
            clock.ttl_times_neural, np.round(clock.exposure_times_video[saved], 6), fps
        )
        t_fit += time.perf_counter() - t0
        true_times = clock.video_to_neural(clock.exposure_times_video[saved])
        dropped = np.flatnonzero(clock.dropped).tolist()
        rows.append(_errors(result, clock.offset_s, clock.drift_ppm, true_times, dropped))
    off, drift, frame, found = (np.array(c) for c in zip(*rows, strict=True))
    print(
        f"clocks only: {n_sessions} sessions x {duration_s:g} s at {fps:g} fps, 10 dropped each\n"
        f"  offset error   max {off.max():.4f} ms  median {np.median(off):.4f} ms\n"
        f"  drift error    max {drift.max():.3f} ppm median {np.median(drift):.3f} ppm\n"
        f"  frame time err max {frame.max():.4f} ms (goal < 1 ms)\n"
        f"  dropped frames all found in {int(found.sum())}/{n_sessions} sessions\n"
        f"  fit time {1e3 * t_fit / n_sessions:.1f} ms per session"
    )


def through_files() -> None:
    settings = SynthSettings(seed=1, subjects=1, sessions_per_subject=2, duration_s=60.0)
    paths = Paths(results=tempfile.mkdtemp(prefix="bb-neural-"))
    for session in ("ses01", "ses02"):
        truth = generate_session(
            settings, "rat01", session, SessionFiles.from_paths(paths, settings, "rat01", session)
        )
        cams = {
            c: {"frame_times": paths.synth_frame_times("rat01", session, c), "video": ""}
            for c in truth.cameras
        }
        out = f"{paths.results}/sync_{session}.json"
        sync_nwb_session(
            paths.synth_nwb("rat01", session),
            out,
            cameras=cams,
            fps=settings.fps,
            sync_series="video_frame_ttl",
        )
        saved = truth.video_exposure_index
        true_times = truth.video_to_neural(truth.exposure_times_video[saved])
        for cam, result in read_sync(out).items():
            off, drift, frame, found = _errors(
                result,
                truth.clock_offset_s,
                truth.clock_drift_ppm,
                true_times,
                np.flatnonzero(truth.dropped).tolist(),
            )
            print(
                f"virtual lab rat01/{session} {cam}: offset err {off:.4f} ms, drift err "
                f"{drift:.3f} ppm (true {truth.clock_drift_ppm:.2f}), frame time err max "
                f"{frame:.4f} ms, residual max {result.residual_max_ms:.3f} ms, dropped "
                f"{result.dropped_exposures} all found: {found}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration-s", type=float, default=600.0)
    args = parser.parse_args()
    clocks_only(args.sessions, args.duration_s)
    through_files()


if __name__ == "__main__":
    main()
