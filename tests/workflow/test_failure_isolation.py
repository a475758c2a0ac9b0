"""One broken session in a cohort from sheets: with --keep-going the others finish.

The cohort is a tiny virtual-lab cohort written by `brainbehave synth` and read back through its
sheets, as a lab's own cohort would be; one session's file is then broken as on a real rig.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from workflow_runner import run_snakemake, synth_sheets_cohort, truncate

from brainbehave.paths import Paths

SESSIONS = ("ses01", "ses02", "ses03")
BROKEN = "ses02"
PATHS = Paths()


@pytest.fixture(scope="module")
def synth_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short sessions and their sheets (<out>/synth/sessions.tsv, videos.tsv)."""
    return synth_sheets_cohort(tmp_path_factory.mktemp("cohort"))


def _break(cohort: Path, what: str) -> Path:
    """Break one file of session BROKEN; returns the broken file."""
    session = cohort / "rat01" / BROKEN
    if what == "nwb":  # a copy cut short (full disk, interrupted transfer)
        path = truncate(session / f"rat01_{BROKEN}.nwb")
    else:  # a camera's frame times exported with the wrong header
        path = session / "videos" / "camA_frame_times.csv"
        path.write_text("frame,time\n0,0.0\n1,0.033\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("nwb", "truncated file"),
        ("frame_times", "expected columns 'frame' and 'timestamp_s'"),
    ],
)
def test_broken_session_fails_alone_with_its_file_named(
    repo: Path, tmp_path: Path, synth_cohort: Path, what: str, message: str
) -> None:
    cohort = Path(shutil.copytree(synth_cohort, tmp_path / "cohort"))
    broken = _break(cohort, what)
    config = {
        "cohort": {
            "source": "sheets",
            "sessions": str(cohort / "sessions.tsv"),
            "videos": str(cohort / "videos.tsv"),
        }
    }
    targets = [PATHS.neural_sync("rat01", s) for s in SESSIONS]
    work = tmp_path / "work"
    run = run_snakemake(repo, work, "--cores", "2", "--keep-going", *targets, config=config)
    output = run.stdout + run.stderr

    assert run.returncode == 1, output[-3000:]
    # the rest of the cohort finished
    for session in SESSIONS:
        done = (work / PATHS.neural_sync("rat01", session)).is_file()
        assert done == (session != BROKEN), session
    # Snakemake names the failed job, its session and its log; the log says what is wrong
    assert output.count("Error in rule neural_sync:") >= 1
    assert f"output: {PATHS.neural_sync('rat01', BROKEN)}" in output
    log = work / PATHS.session_log("neural_sync", "rat01", BROKEN)
    assert message in log.read_text()
    assert str(broken) in output
    # the run ends with the failed sessions and how to leave them out of cohort-level rules
    assert "1 session(s) failed" in output
    assert f"rat01/{BROKEN}: failed in neural_sync" in output
    assert f"exclude: [rat01/{BROKEN}]" in output


def test_excluded_session_is_left_out_of_cohort_level_rules(
    repo: Path, tmp_path: Path, synth_cohort: Path
) -> None:
    config = {
        "cohort": {
            "source": "sheets",
            "sessions": str(synth_cohort / "sessions.tsv"),
            "videos": str(synth_cohort / "videos.tsv"),
            "exclude": [f"rat01/{BROKEN}"],
        },
        "pose2d": {"dlc_project": str(synth_cohort / "dlc_project")},
    }
    targets = [PATHS.latents_fit_dir("contrastive"), PATHS.report_html()]
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "1", *targets, config=config)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    # the latent model and the report are planned over the other two sessions only
    assert PATHS.neural_aligned("rat01", "ses01") in output
    assert PATHS.neural_aligned("rat01", "ses03") in output
    assert f"/rat01/{BROKEN}/" not in output
    assert "left out of this run: rat01/ses02" in output

    config["cohort"]["exclude"] = ["rat01/ses09"]
    run = run_snakemake(repo, tmp_path, "-n", "--cores", "1", *targets, config=config)
    assert run.returncode != 0
    assert (
        "cohort.exclude: ['rat01/ses09'] are not sessions of the cohort" in run.stdout + run.stderr
    )
