"""The pose2d rules under Snakemake: planning, the import path, bad input, a tiny real run."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_runner import run_snakemake

from brainbehave.pose import load_pose

TINY = {
    "synth": {
        "seed": 4,
        "subjects": 1,
        "sessions_per_subject": 2,
        "duration_s": 2,
        "cameras": 2,
        "image_size": [96, 72],
        "n_units": 5,
        "dropped_frames": 1,
        "dlc_labelled_frames": 16,
    },
    "pose2d": {"train": {"epochs": 1, "device": "cpu"}, "threads": {"train": 1}},
}


def snakemake(repo: Path, workdir: Path, config: dict, *args: str):
    """The shared runner, returning the process and its whole output."""
    run = run_snakemake(repo, workdir, *args, config=config)
    return run, run.stdout + run.stderr


def _sheets_cohort(tmp_path: Path, pose_for: set[str]) -> dict:
    """Two cameras of one session on disk (placeholder files: enough for planning)."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("s.nwb", "calibration.toml", "camA.mp4", "camB.mp4", "camA.slp", "camB.slp"):
        (data / name).write_text("placeholder")
    (data / "sessions.tsv").write_text(
        "subject\tsession\tnwb\tcalibration\nm1\td1\ts.nwb\tcalibration.toml\n"
    )
    rows = ["subject\tsession\tcamera\tvideo\tpose\tpose_format"]
    for cam in ("camA", "camB"):
        pose = (f"{cam}.slp", "sleap") if cam in pose_for else ("", "")
        rows.append("\t".join(["m1", "d1", cam, f"{cam}.mp4", *pose]))
    (data / "videos.tsv").write_text("\n".join(rows) + "\n")
    return {
        "cohort": {
            "source": "sheets",
            "sessions": str(data / "sessions.tsv"),
            "videos": str(data / "videos.tsv"),
        }
    }


def test_demo_plan_trains_once_and_analyses_every_video(repo: Path, tmp_path: Path) -> None:
    run, out = snakemake(repo, tmp_path, {}, "-n", "--cores", "2", "--forceall")
    assert run.returncode == 0, out
    assert out.count("rule pose2d_train:") == 1
    assert out.count("rule pose2d_analyze:") == 12 and out.count("rule pose2d_clean:") == 12
    assert out.count("rule pose2d_accuracy:") == 4


def test_videos_with_pose_files_skip_inference(repo: Path, tmp_path: Path) -> None:
    config = _sheets_cohort(tmp_path, pose_for={"camA", "camB"})
    targets = ["results/pose2d/m1/d1/camA.nc", "results/pose2d/m1/d1/camB.nc"]
    run, out = snakemake(repo, tmp_path, config, "-n", "--cores", "1", *targets)
    assert run.returncode == 0, out
    # each pose file is imported and cleaned in one job, with its video as input
    assert out.count("rule pose2d_clean:") == 2 and out.count("_raw.nc") == 0
    assert "camA.mp4" in out and "camA.slp" in out
    assert "rule pose2d_train:" not in out and "rule pose2d_analyze:" not in out


def test_training_without_a_project_stops_the_plan_saying_what_to_set(
    repo: Path, tmp_path: Path
) -> None:
    config = _sheets_cohort(tmp_path, pose_for={"camB"})
    run, out = snakemake(repo, tmp_path, config, "-n", "results/pose2d/m1/d1/camA.nc")
    assert run.returncode != 0 and "pose2d.dlc_project is not set" in out


def test_project_bodyparts_that_differ_from_config_stop_the_plan(
    repo: Path, tmp_path: Path, shared_data: Path
) -> None:
    config = _sheets_cohort(tmp_path, pose_for=set())
    config["pose2d"] = {
        "dlc_project": str(shared_data / "dlc_openfield"),
        "keypoints": ["nose", "leftear", "rightear", "tailbase"],
    }
    run, out = snakemake(repo, tmp_path, config, "-n", "results/pose2d/m1/d1/camA.nc")
    assert run.returncode != 0
    assert "dlc_openfield" in out and "missing ['nose'], extra ['snout']" in out


@pytest.mark.slow
def test_tiny_cohort_pose_and_a_truncated_video(repo: Path, tmp_path: Path) -> None:
    synth = ["results/synth/rat01/ses01/truth.h5", "results/synth/rat01/ses02/truth.h5"]
    run, out = snakemake(repo, tmp_path, TINY, "--cores", "2", *synth)
    assert run.returncode == 0, out[-3000:]
    # a damaged video in one session: that camera fails with a clear log, the rest runs
    broken = tmp_path / "results/synth/rat01/ses02/videos/camB.mp4"
    broken.write_bytes(broken.read_bytes()[:2000])
    targets = [
        f"results/pose2d/rat01/{ses}/{cam}.nc"
        for ses in ("ses01", "ses02")
        for cam in ("camA", "camB")
    ]
    run, out = snakemake(repo, tmp_path, TINY, "--cores", "2", "--keep-going", *targets)
    assert run.returncode != 0
    results = tmp_path / "results" / "pose2d" / "rat01"
    for ses, cam in (("ses01", "camA"), ("ses01", "camB"), ("ses02", "camA")):
        pose = load_pose(results / ses / f"{cam}.nc")
        assert pose.attrs["camera"] == cam and pose.sizes["keypoints"] == 12
        assert (results / ses / f"{cam}_dlc.h5").is_file()
    assert not (results / "ses02" / "camB.nc").exists()
    log = (tmp_path / "logs/pose2d_analyze/rat01/ses02_camB.log").read_text()
    assert "rat01/ses02 camera camB: video" in log and "camB.mp4" in log
    assert (tmp_path / "results/pose2d/model_evaluation.json").is_file()
    # training ran in its work folder and was moved onto the declared model folder
    assert (tmp_path / "results/pose2d/model/brainbehave_model.json").is_file()
    assert not (tmp_path / "results/pose2d/.model_training").exists()
