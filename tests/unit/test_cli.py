"""The `brainbehave synth` command writes a usable cohort."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from brainbehave.cli import main
from brainbehave.config import load_cohort


def test_synth_command_writes_a_cohort_its_sheets_describe(tmp_path: Path, repo: Path) -> None:
    args = ["synth", "--out", str(tmp_path), "--subjects", "1", "--sessions-per-subject", "1"]
    args += ["--duration-s", "2", "--cameras", "2", "--image-size", "64", "48"]
    args += ["--n-units", "6", "--dlc-labelled-frames", "2", "--dropped-frames", "1", "--jobs", "1"]
    assert main(args) == 0
    cohort = load_cohort(
        tmp_path / "synth" / "sessions.tsv",
        tmp_path / "synth" / "videos.tsv",
        repo / "config/schemas",
    )
    assert cohort.session_keys() == [("rat01", "ses01")]
    assert cohort.cameras("rat01", "ses01") == ["camA", "camB"]
    assert Path(cohort.video("rat01", "ses01", "camB")).is_file()


def test_console_entry_point_is_installed() -> None:
    exe = Path(sys.executable).with_name("brainbehave")
    run = subprocess.run([str(exe), "synth", "--help"], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "--seed" in run.stdout
