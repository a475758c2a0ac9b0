"""Scale: DAG build (`snakemake -n`) and a no-op rerun over a large cohort sheet.

Goals (issue 8): < 10 s for the dry run and < 20 s for the no-op rerun of 1,000 sessions.

The cohort is a sheet of N sessions x 2 cameras whose files exist but are tiny placeholders
(nothing runs). Every video names an existing pose file (pose_format dlc), as in a lab that has
its 2D pose already, so no DeepLabCut model is planned. The dry run plans the whole workflow
(`rule all`). For the no-op rerun every output of that plan is placed (same time stamp, newer than
the sheet's files), then `snakemake --cores 2` must find nothing to do.

    python benchmarks/scale_dag.py [--sessions 1000] [--workdir DIR]
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


def write_cohort(root: Path, n_sessions: int) -> dict:
    """Placeholder files and sheets for n_sessions (10 sessions per subject); the config."""
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
            videos.append(
                {
                    "subject": subject,
                    "session": session,
                    "camera": camera,
                    "video": f"data/{stem}_{camera}.mp4",
                    "pose": f"data/{stem}_{camera}.h5",
                    "pose_format": "dlc",
                }
            )
    pd.DataFrame(sessions).to_csv(root / "sessions.tsv", sep="\t", index=False)
    pd.DataFrame(videos).to_csv(root / "videos.tsv", sep="\t", index=False)
    return {
        "cohort": {
            "source": "sheets",
            "sessions": str(root / "sessions.tsv"),
            "videos": str(root / "videos.tsv"),
        }
    }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU_S: dict[str, float] = {}


def snakemake(workdir: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time and result of Snakemake on the repository's Snakefile in workdir.

    Its CPU time (user + system; what a busy shared machine does not inflate) goes to
    ``CPU_S`` under the joined arguments.
    """
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--workflow-profile", "none", *args]
    start, cpu = time.perf_counter(), _children_cpu_s()
    run = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=600,
        check=False,
    )
    CPU_S[" ".join(args)] = _children_cpu_s() - cpu
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bb_scale_"))
    config = write_cohort(workdir / "cohort", args.sessions)
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))

    dry_s, dry = snakemake(workdir, "-n", "--cores", "2", "--quiet", "rules")
    if dry.returncode != 0:
        sys.exit(f"dry run failed:\n{(dry.stdout + dry.stderr)[-3000:]}")
    full_s, full = snakemake(workdir, "-n", "--cores", "2")
    text = full.stdout + full.stderr
    jobs = re.search(r"^total\s+(\d+)", text, re.M)
    outputs = planned_outputs(text)
    place_outputs(workdir, outputs)
    noop_s, noop = snakemake(workdir, "--cores", "2")
    noop_text = noop.stdout + noop.stderr
    if noop.returncode != 0 or "Nothing to be done" not in noop_text:
        sys.exit(f"the no-op rerun planned work:\n{noop_text[-3000:]}")
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"sessions: {args.sessions}  jobs planned: {jobs.group(1) if jobs else '?'}")
    cpu = list(CPU_S.values())
    print(f"dry run (snakemake -n --quiet rules): {dry_s:.1f} s, {cpu[0]:.1f} s CPU (goal < 10 s)")
    print(f"dry run printing every job:           {full_s:.1f} s, {cpu[1]:.1f} s CPU")
    print(f"no-op rerun (snakemake --cores 2):    {noop_s:.1f} s, {cpu[2]:.1f} s CPU (goal < 20 s)")
    print(f"load average at the end:              {os.getloadavg()[0]:.1f}")
    print(f"peak RSS of one snakemake:            {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
