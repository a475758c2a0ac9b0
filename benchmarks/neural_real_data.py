"""The neural stage on real NWB files written by other tools.

Usage: python benchmarks/neural_real_data.py [--data ../shared/data]
nelpy_linear_track: 31 rat hippocampal units + LED position (60 Hz) -> aligned dataset at
60 Hz bins; spike counts per unit compared with the source. nwb_pynapple_small: read.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from brainbehave.align import align_nwb_session, load_aligned
from brainbehave.nwb import read_neural


def nelpy(data: Path) -> None:
    nwb = data / "nelpy_linear_track" / "nelpy_linear_track.nwb"
    out = Path(tempfile.mkdtemp(prefix="bb-nelpy-")) / "aligned.nc"
    t0 = time.perf_counter()
    recording = read_neural(nwb)
    align_nwb_session(nwb, None, out, subject="rat", session="linear_track", bin_s=1 / 60)
    wall = time.perf_counter() - t0
    ds = load_aligned(out)
    source = np.array([len(t) for t in recording.units.spike_times])
    binned = ds["neural"].sum("time").values.astype(int)
    pos = ds["behaviour_behavior_Position_LED"].values
    print(
        f"nelpy_linear_track: {len(source)} units, {source.sum()} spikes in the source, "
        f"{binned.sum()} binned; per-unit counts equal: {np.array_equal(source, binned)}\n"
        f"  {ds.sizes['time']} bins of 1/60 s ({ds.sizes['time'] / 60:.0f} s), valid "
        f"{100 * ds['valid'].mean():.2f}% (position NaN outside its span), position x range "
        f"{np.nanmin(pos[:, 0]):.0f}..{np.nanmax(pos[:, 0]):.0f} px; read+bin+save {wall:.2f} s"
    )


def pynapple(data: Path) -> None:
    nwb = data / "nwb_pynapple_small" / "A8604-211122.nwb"
    recording = read_neural(nwb)
    n = [len(t) for t in recording.units.spike_times]
    print(
        f"nwb_pynapple_small: read without error: units {recording.units.ids.tolist()} with "
        f"{n} spikes, columns {list(recording.units.columns.columns)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    nelpy(args.data)
    pynapple(args.data)


if __name__ == "__main__":
    main()
