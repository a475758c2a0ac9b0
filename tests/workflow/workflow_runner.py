"""Running the repository's Snakefile from tests: one helper and one tiny virtual-lab config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

# A virtual-lab cohort small enough for a workflow test (seconds per rule).
TINY_SYNTH = {
    "seed": 3,
    "subjects": 1,
    "sessions_per_subject": 2,
    "duration_s": 3,
    "cameras": 2,
    "image_size": [96, 72],
    "n_units": 10,
    "dropped_frames": 1,
    "dlc_labelled_frames": 4,
}

# A cohort whose 3D pose tests place themselves (place_motion_pose3d): nothing upstream of
# the 3D pose runs, so the videos can be tiny.
POSE3D_SYNTH = {
    "seed": 5,
    "subjects": 1,
    "sessions_per_subject": 2,
    "duration_s": 8,
    "cameras": 2,
    "image_size": [64, 48],
    "n_units": 5,
    "dropped_frames": 0,
    "dlc_labelled_frames": 2,
}


def synth_sheets_cohort(
    out: Path, sessions: int = 3, duration_s: float = 3, n_units: int = 10
) -> Path:
    """A virtual-lab cohort written by the ``brainbehave synth`` command (one subject, 2 cameras
    of 96x72), read back through its sheets: returns ``<out>/synth`` (sessions.tsv, videos.tsv).
    """
    cmd = [sys.executable, "-m", "brainbehave.cli", "synth", "--out", str(out), "--seed", "3"]
    cmd += ["--subjects", "1", "--sessions-per-subject", str(sessions)]
    cmd += ["--duration-s", str(duration_s), "--cameras", "2", "--image-size", "96", "72"]
    cmd += ["--n-units", str(n_units), "--dropped-frames", "1", "--dlc-labelled-frames", "2"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return out / "synth"


def truncate(path: Path) -> Path:
    """Cut a file to half its size, as an interrupted copy or a full disk leaves it."""
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def run_snakemake(
    repo: Path, workdir: Path, *args: str, config: dict | None = None, timeout: int = 900
) -> subprocess.CompletedProcess:
    """Snakemake on the repository's Snakefile in ``workdir``.

    The Snakefile reads ``config/config.yaml`` in the working directory, as a user's would:
    the repository's (``config=None``) or ``config`` is written there first.
    """
    cfg = workdir / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    text = (repo / "config/config.yaml").read_text() if config is None else yaml.safe_dump(config)
    cfg.write_text(text)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile")]
    return subprocess.run(
        [*cmd, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"),
        timeout=timeout,
        check=False,
    )


def place_truth_pose(workdir: Path, synth: dict, sessions: list[tuple[str, str]]) -> None:
    """Write the virtual lab's sessions plus their truth 2D (per camera) and 3D pose where
    the pose stages write them, so a run downstream of pose skips DeepLabCut training and
    triangulation (whose tiny-cohort models are too poor to feed later stages)."""
    from brainbehave.behaviour.evaluation import truth_pose
    from brainbehave.paths import Paths
    from brainbehave.pose import pose_dataset, save_pose
    from brainbehave.synth.cohort import SessionFiles, generate_session
    from brainbehave.synth.settings import SynthSettings

    settings = SynthSettings.from_mapping(synth)
    paths = Paths(results=str(Path(workdir) / "results"))
    for subject, session in sessions:
        files = SessionFiles.from_paths(paths, settings, subject, session)
        truth = generate_session(settings, subject, session, files)
        saved = truth.video_exposure_index
        for cam in truth.cameras:
            ds = pose_dataset(
                truth.pose2d[cam][saved],
                None,
                truth.keypoints,
                truth.fps,
                source_software="truth",
                units="px",
                camera=cam,
            )
            save_pose(ds, paths.pose2d(subject, session, cam))
        save_pose(truth_pose(truth), paths.pose3d(subject, session))


def place_motion_pose3d(
    workdir: Path, synth: dict, session: str, motion_seed: int, subject: str = "rat01"
) -> None:
    """3D pose where the 3D stage writes it: the virtual lab's motion, without rendering
    videos or writing a truth file (cheap)."""
    from brainbehave.paths import Paths
    from brainbehave.pose import pose_dataset, save_pose
    from brainbehave.synth.cohort import simulate_motion
    from brainbehave.synth.settings import SynthSettings
    from brainbehave.synth.skeleton import KEYPOINTS

    settings = SynthSettings.from_mapping(synth)
    motion = simulate_motion(settings, settings.n_frames, 0, motion_seed)
    ds = pose_dataset(
        motion.body.keypoints, None, KEYPOINTS, settings.fps, source_software="test", units="mm"
    )
    save_pose(ds, str(Path(workdir) / Paths().pose3d(subject, session)))
