"""Time the generation of the default virtual-lab cohort.

Usage: python benchmarks/synth_generation.py [--jobs 2] [--out DIR]
Prints wall time per stage of one session and for the whole default cohort.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

from brainbehave.synth.cohort import generate_cohort
from brainbehave.synth.settings import SynthSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = args.out or tempfile.mkdtemp(prefix="bb-synth-")
    settings = SynthSettings()
    t0 = time.perf_counter()
    generate_cohort(settings, out, jobs=args.jobs)
    wall = time.perf_counter() - t0
    n = settings.subjects * settings.sessions_per_subject
    print(
        f"default cohort ({n} sessions x {settings.duration_s:g} s x {settings.cameras} cameras, "
        f"{settings.image_size[0]}x{settings.image_size[1]}): {wall:.1f} s with {args.jobs} jobs "
        f"-> {out}"
    )


if __name__ == "__main__":
    main()
