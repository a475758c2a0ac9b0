"""Scale: DAG build (`snakemake -n`) and a no-op rerun over a large cohort sheet.

Goals (issue 8): < 10 s for the dry run and < 20 s for the no-op rerun of 1,000 sessions.

The cohort is a sheet of N sessions x 2 cameras whose files exist but are tiny placeholders
(nothing runs). Every video names an existing pose file (pose_format dlc), as in a lab that has
its 2D pose already, so no DeepLabCut model is planned; --pose2d inferred plans DeepLabCut
inference of every video instead (SuperAnimal, which needs no training project: one more job
per camera). The dry run plans the whole workflow (`rule all`), timed three ways:
`snakemake -n --quiet` (Snakemake builds the DAG and prints the job counts: the goal's figure),
`-n --quiet rules` (the dry-run scheduler also walks every job, its descriptions hidden) and
`-n` (every job printed). For the no-op rerun every output of that plan is placed (same time stamp,
newer than the sheet's files), then `snakemake --cores 2` must find nothing to do. Placed files
have no Snakemake metadata, so that rerun skips the params/code/input checks. With --with-metadata,
`snakemake --touch -F` then records metadata for every job (as a real run does; ~10 min for 1,000
sessions on 2 cores) and the no-op rerun is timed again: the figure a lab sees after a real run.
--noop-only times that rerun again in such a folder (e.g. after a code change).

--models N keeps the first N of the default latent models (their planning cost grows with the
cohort: compare 1 and 3); --dry-only stops after the dry run.

    python benchmarks/scale_dag.py [--sessions 1000] [--models N] [--pose2d imported|inferred]
        [--workdir DIR] [--with-metadata]
    python benchmarks/scale_dag.py --dry-only [--sessions 1000] [--models N]
    python benchmarks/scale_dag.py --noop-only --workdir DIR
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
CAMERAS = ("camA", "camB")


def latent_models(n_models: int | None) -> dict | None:
    """The first n_models of the schema's default latent models (None: leave the default)."""
    if n_models is None:
        return None
    schema = yaml.safe_load((REPO / "config" / "schemas" / "config.schema.yaml").read_text())
    models = schema["properties"]["latents"]["properties"]["models"]["default"]
    if not 1 <= n_models <= len(models):
        sys.exit(f"--models must be between 1 and {len(models)}, got {n_models}.")
    return dict(list(models.items())[:n_models])


def write_cohort(root: Path, n_sessions: int, pose2d: str = "imported") -> dict:
    """Placeholder files and sheets for n_sessions (10 sessions per subject); the config.

    ``pose2d``: ``imported`` (every video names a pose file) or ``inferred`` (DeepLabCut
    SuperAnimal inference of every video)."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    sessions, videos = [], []
    for i in range(n_sessions):
        subject, session = f"m{i // 10:04d}", f"s{i % 10:02d}"
        stem = f"{subject}_{session}"
        for name in (f"{stem}.nwb", f"{stem}_calibration.toml"):
            (data / name).write_bytes(b"placeholder")
        sessions.append(
            {
                "subject": subject,
                "session": session,
                "nwb": f"data/{stem}.nwb",
                "calibration": f"data/{stem}_calibration.toml",
            }
        )
        for camera in CAMERAS:
            for name in (f"{stem}_{camera}.mp4", f"{stem}_{camera}.h5"):
                (data / name).write_bytes(b"placeholder")
            video = {
                "subject": subject,
                "session": session,
                "camera": camera,
                "video": f"data/{stem}_{camera}.mp4",
            }
            if pose2d == "imported":
                video.update(pose=f"data/{stem}_{camera}.h5", pose_format="dlc")
            videos.append(video)
    pd.DataFrame(sessions).to_csv(root / "sessions.tsv", sep="\t", index=False)
    pd.DataFrame(videos).to_csv(root / "videos.tsv", sep="\t", index=False)
    config = {
        "cohort": {
            "source": "sheets",
            "sessions": str(root / "sessions.tsv"),
            "videos": str(root / "videos.tsv"),
        }
    }
    if pose2d == "inferred":
        config["pose2d"] = {"method": "superanimal"}
    return config


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU_S: list[float] = []
# `snakemake --touch` sleeps 0.1 s per job (13,000 jobs: 22 min); for recording metadata here the
# touch executor runs without that pause (placed outputs share one time stamp anyway).
NO_TOUCH_PAUSE = (
    "import sys; import snakemake.executors.touch as t; t.Executor.SLEEPING_TIME = 0; "
    "from snakemake.cli import main; sys.argv[0] = 'snakemake'; main()"
)


def snakemake(
    workdir: Path,
    *args: str,
    python_args: tuple[str, ...] = ("-m", "snakemake"),
    timeout_s: int = 600,
) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time and result of Snakemake on the repository's Snakefile in workdir.

    Its CPU time (user + system; what a busy shared machine does not inflate) is appended
    to ``CPU_S``.
    """
    cmd = [sys.executable, *python_args, "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--workflow-profile", "none", *args]
    start, cpu = time.perf_counter(), _children_cpu_s()
    run = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=timeout_s,
        check=False,
    )
    CPU_S.append(_children_cpu_s() - cpu)
    return time.perf_counter() - start, run


def planned_outputs(text: str) -> list[str]:
    """Every output path of every job in a dry run's printed plan."""
    out = []
    for line in re.findall(r"^\s+output: (.*)$", text, re.M):
        out += [p.strip() for p in line.split(", ") if p.strip()]
    return out


def place_outputs(workdir: Path, outputs: list[str]) -> None:
    """Empty files for every output (folders for outputs without a suffix), one time stamp."""
    stamp = time.time() + 5
    for name in outputs:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix:
            path.touch()
        else:
            path.mkdir(exist_ok=True)
        os.utime(path, (stamp, stamp))


def check_noop(run: subprocess.CompletedProcess) -> None:
    """Stop unless Snakemake found nothing to do."""
    text = run.stdout + run.stderr
    if run.returncode != 0 or "Nothing to be done" not in text:
        sys.exit(f"the no-op rerun planned work:\n{text[-3000:]}")


def record_metadata(workdir: Path) -> None:
    """Metadata for every job, as a real run leaves it (``snakemake --touch -F``)."""
    touch_s, touch = snakemake(
        workdir,
        "--cores",
        "2",
        "--touch",
        "-F",
        "--quiet",
        "all",
        python_args=("-c", NO_TOUCH_PAUSE),
        timeout_s=3600,  # ~10 min on an idle 2-core machine; much longer on a busy one
    )
    if touch.returncode != 0:
        sys.exit(f"--touch -F failed:\n{(touch.stdout + touch.stderr)[-3000:]}")
    print(f"recording metadata (--touch -F):       {touch_s:.1f} s, {CPU_S[-1]:.1f} s CPU")


def time_noop(workdir: Path, what: str) -> None:
    """Time ``snakemake --cores 2`` in workdir; it must find nothing to do."""
    noop_s, noop = snakemake(workdir, "--cores", "2")
    check_noop(noop)
    print(f"no-op rerun, {what}: {noop_s:.1f} s, {CPU_S[-1]:.1f} s CPU (goal < 20 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument(
        "--models",
        type=int,
        default=None,
        help="fit only the first N of the default latent models (default: all three)",
    )
    parser.add_argument(
        "--dry-only",
        action="store_true",
        help="only time the dry run (no placed outputs, no no-op rerun)",
    )
    parser.add_argument(
        "--pose2d",
        choices=("imported", "inferred"),
        default="imported",
        help="imported: every video names a pose file (default); inferred: DeepLabCut "
        "(SuperAnimal) inference of every video",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--with-metadata",
        action="store_true",
        help="also record metadata (--touch -F: ~10 min for 1,000 sessions on 2 cores) and "
        "time the no-op rerun that follows, as after a real run",
    )
    parser.add_argument(
        "--noop-only",
        action="store_true",
        help="only time the no-op rerun in an existing --workdir (e.g. one left with metadata "
        "by --with-metadata: compare code versions without recording it again)",
    )
    args = parser.parse_args()
    if args.noop_only:
        if args.workdir is None:
            sys.exit("--noop-only needs the --workdir of an earlier run.")
        time_noop(args.workdir, "existing folder")
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bb_scale_"))
    config = write_cohort(workdir / "cohort", args.sessions, args.pose2d)
    if models := latent_models(args.models):
        config["latents"] = {"models": models}
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))

    dry_s, dry = snakemake(workdir, "-n", "--cores", "2", "--quiet")
    if dry.returncode != 0:
        sys.exit(f"dry run failed:\n{(dry.stdout + dry.stderr)[-3000:]}")
    dry_cpu = CPU_S[-1]
    rules_s, rules = snakemake(workdir, "-n", "--cores", "2", "--quiet", "rules")
    jobs = re.search(r"^total\s+(\d+)", rules.stdout + rules.stderr, re.M)  # the job counts
    print(f"sessions: {args.sessions}  pose2d: {args.pose2d}  latent models: ", end="")
    print(f"{args.models or 'default'}  jobs planned: {jobs.group(1) if jobs else '?'}")
    print(f"dry run (snakemake -n --quiet):        {dry_s:.1f} s, {dry_cpu:.1f} s CPU", end="")
    print(" (goal < 10 s)")
    print(f"dry run (snakemake -n --quiet rules):  {rules_s:.1f} s, {CPU_S[-1]:.1f} s CPU")
    if args.dry_only:
        return
    full_s, full = snakemake(workdir, "-n", "--cores", "2")
    text = full.stdout + full.stderr
    print(f"dry run printing every job (-n):       {full_s:.1f} s, {CPU_S[-1]:.1f} s CPU")
    place_outputs(workdir, planned_outputs(text))
    time_noop(workdir, "placed outputs, no metadata")
    if args.with_metadata:
        record_metadata(workdir)
        time_noop(workdir, "with metadata (as after a run)")
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"load average at the end:               {os.getloadavg()[0]:.1f}")
    print(f"peak RSS of one snakemake:             {rss_mb:.0f} MB")
    print(f"working folder:                        {workdir}")


if __name__ == "__main__":
    main()
