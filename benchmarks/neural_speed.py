"""Speed and memory of the neural stage at scale.

Usage: python benchmarks/neural_speed.py [--hours 1] [--units 500] [--rate-hz 5]
1. Binning 1 h x 500 Poisson units at 30 Hz (bin_spike_counts, then the whole
   align_session and save_aligned).
2. Writing 1 h of pose at 30 fps to a derived NWB (3 cameras 2D + 3D, 12 keypoints), then
   the same with the behaviour intervals (2 sources x 2 levels, bouts of ~1 s / ~10 s) and
   the latent embeddings (3 models x 2 seeds x 8 dims at every 30 Hz bin) added.
Peak memory is the traced Python/numpy allocation peak (tracemalloc) of each step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainbehave.align import align_session, bin_edges, bin_spike_counts, save_aligned
from brainbehave.align_behaviour import label_intervals
from brainbehave.nwb import NeuralRecording, UnitsData, write_derived_nwb, write_synth_nwb
from brainbehave.pose import pose_dataset


def _measure(label: str, fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{label}: {wall:.2f} s, peak {peak:.0f} MiB")
    return out


def binning(hours: float, n_units: int, rate_hz: float, out: Path) -> None:
    rng = np.random.default_rng(0)
    duration = hours * 3600.0
    spikes = [
        np.sort(rng.uniform(0, duration, rng.poisson(rate_hz * duration))) for _ in range(n_units)
    ]
    n_spikes = sum(len(s) for s in spikes)
    print(f"binning: {n_units} units x {hours:g} h, {n_spikes / 1e6:.1f} M spikes, 30 Hz bins")
    edges = bin_edges(0.0, duration, 1 / 30)
    counts = _measure("  bin_spike_counts", lambda: bin_spike_counts(spikes, edges))
    assert counts.sum() == n_spikes
    recording = NeuralRecording(
        path="memory",
        identifier="bench",
        session_id="s",
        subject_id="r",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
        units=UnitsData(np.arange(n_units), spikes, pd.DataFrame(index=np.arange(n_units))),
    )
    ds = _measure(
        "  align_session",
        lambda: align_session(
            recording, subject="r", session="s", bin_s=1 / 30, t_start=0.0, t_stop=duration
        ),
    )
    _measure("  save_aligned", lambda: save_aligned(ds, out / "aligned.nc"))
    print(
        f"  aligned file {(out / 'aligned.nc').stat().st_size / 2**20:.0f} MiB, "
        f"{ds.sizes['time']} bins"
    )


def pose_nwb(hours: float, out: Path, n_keypoints: int = 12) -> None:
    n = int(hours * 3600 * 30)
    rng = np.random.default_rng(1)
    times = 5.0 + np.arange(n) / 30.0
    source = out / "source.nwb"
    write_synth_nwb(
        source,
        session_id="s",
        subject_id="r",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
        spike_times_neural=[np.sort(rng.uniform(5, 100, 100))],
        unit_kind=["place"],
        ttl_times_neural=times[:100],
        description="bench",
        provenance={"tool": "bench"},
    )
    kp = [f"k{i}" for i in range(n_keypoints)]
    pose = {
        cam: pose_dataset(
            rng.uniform(0, 500, (n, n_keypoints, 2)),
            rng.uniform(0, 1, (n, n_keypoints)),
            kp,
            30.0,
            source_software="bench",
            units="px",
            camera=cam,
        )
        for cam in ("camA", "camB", "camC")
    }
    pose["3d"] = pose_dataset(
        rng.normal(0, 100, (n, n_keypoints, 3)), None, kp, 30.0, source_software="bench", units="mm"
    )
    print(f"pose to NWB: {hours:g} h = {n} frames x {n_keypoints} keypoints, 3 cameras + 3D")
    path = out / "derived.nwb"
    _measure(
        "  write_derived_nwb",
        lambda: write_derived_nwb(
            path,
            source,
            pose=pose,
            frame_times_neural={k: times for k in pose},
            skeleton_edges=[(0, 1)],
            provenance={"tool": "bench"},
        ),
    )
    print(f"  derived file {path.stat().st_size / 2**20:.0f} MiB")
    intervals = pd.concat(
        [
            label_intervals(
                times,
                {
                    "action": np.repeat(rng.integers(0, 8, n // 30 + 1), 30)[:n],
                    "activity": np.repeat(rng.integers(0, 3, n // 300 + 1), 300)[:n],
                },
                {"action": [f"a{i}" for i in range(8)], "activity": ["x", "y", "z"]},
                source,
            )
            for source in ("rules", "mae")
        ],
        ignore_index=True,
    )
    latents = {
        model: xr.Dataset(
            {"embedding": (("seed", "time", "dim"), rng.normal(size=(2, n, 8)).astype(np.float32))},
            coords={"time": times, "seed": [0, 1]},
            attrs={"spec": "{}", "provenance": "{}"},
        )
        for model in ("contrastive", "hybrid", "pivae")
    }
    print(f"  + {len(intervals)} intervals, latents 3 models x 2 seeds x {n} bins x 8 dims")
    path = out / "derived_full.nwb"
    _measure(
        "  write_derived_nwb (pose + intervals + latents)",
        lambda: write_derived_nwb(
            path,
            source,
            pose=pose,
            frame_times_neural={k: times for k in pose},
            skeleton_edges=[(0, 1)],
            intervals=intervals,
            latents=latents,
            provenance={"tool": "bench"},
        ),
    )
    print(f"  derived file {path.stat().st_size / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--rate-hz", type=float, default=5.0)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bb-neural-speed-"))
    binning(args.hours, args.units, args.rate_hz, out)
    pose_nwb(args.hours, out)
    print(f"files in {out}")


if __name__ == "__main__":
    main()
