"""Command line: ``brainbehave synth`` writes a virtual-lab cohort."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Sequence

from brainbehave import __version__

logger = logging.getLogger(__name__)


def _synth_parser(sub: argparse._SubParsersAction) -> None:
    from brainbehave.synth.settings import SynthSettings

    p = sub.add_parser(
        "synth",
        help="write a virtual-lab cohort (videos, calibration, NWB, ground truth, DLC project)",
        description="Write a virtual-lab cohort, deterministic from --seed, under OUT "
        "(OUT/synth/<subject>/<session>/…, sheets OUT/synth/sessions.tsv and videos.tsv).",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    for field in dataclasses.fields(SynthSettings):
        flag = "--" + field.name.replace("_", "-")
        if field.name == "image_size":
            p.add_argument(flag, type=int, nargs=2, metavar=("W", "H"), default=field.default)
        else:
            p.add_argument(flag, type=type(field.default), default=field.default)


def _run_synth(args: argparse.Namespace) -> int:
    from brainbehave.synth.cohort import generate_cohort
    from brainbehave.synth.settings import SynthSettings

    names = {f.name for f in dataclasses.fields(SynthSettings)}
    settings = SynthSettings.from_mapping({k: v for k, v in vars(args).items() if k in names})
    if args.jobs < 1:
        raise SystemExit("--jobs must be at least 1.")
    t0 = time.perf_counter()
    paths = generate_cohort(settings, args.out, jobs=args.jobs)
    logger.info(
        "virtual-lab cohort written to %s in %.1f s; sheets: %s, %s",
        args.out,
        time.perf_counter() - t0,
        paths.synth_sheet("sessions"),
        paths.synth_sheet("videos"),
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brainbehave`` command."""
    parser = argparse.ArgumentParser(prog="brainbehave", description=__doc__)
    parser.add_argument("--version", action="version", version=f"brainbehave {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _synth_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "synth":
        return _run_synth(args)
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
