"""Snakemake runs the behaviour stage on 3D pose placed where the 3D stage writes it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_runner import POSE3D_SYNTH, place_motion_pose3d
from workflow_runner import run_snakemake as snakemake

from brainbehave.behaviour.evaluation import truth_pose
from brainbehave.behaviour.labels import load_labels
from brainbehave.paths import Paths
from brainbehave.pose import save_pose
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings

SYNTH = {**POSE3D_SYNTH, "seed": 2}
BEHAVIOUR = {"mae": {"steps": 4, "batch_size": 4, "window_frames": 48}}
CONFIG = {"synth": SYNTH, "behaviour": BEHAVIOUR}
SESSIONS = ("ses01", "ses02")


def _targets(paths: Paths) -> list[str]:
    out = []
    for s in SESSIONS:
        out += [
            paths.behaviour_features("rat01", s),
            paths.behaviour_intervals("rat01", s, "rules"),
            paths.behaviour_intervals("rat01", s, "mae"),
            paths.behaviour_ethogram("rat01", s),
        ]
    return out


def _place_pose3d(workdir: Path) -> None:
    settings = SynthSettings.from_mapping(SYNTH)
    paths = Paths(results=str(workdir / "results"))
    for session in SESSIONS:
        files = SessionFiles.from_paths(paths, settings, "rat01", session)
        truth = generate_session(settings, "rat01", session, files)
        save_pose(truth_pose(truth, noise_mm=1.0), paths.pose3d("rat01", session))


def _place_motion_pose3d(workdir: Path) -> None:
    for j, session in enumerate(SESSIONS):
        place_motion_pose3d(workdir, SYNTH, session, j)


def test_dry_run_plans_the_behaviour_rules(repo: Path, tmp_path: Path) -> None:
    _place_motion_pose3d(tmp_path)
    run = snakemake(repo, tmp_path, "-n", "--cores", "1", *_targets(Paths()), config=CONFIG)
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-3000:]
    for rule, n in (
        ("behaviour_rules", 2),
        ("behaviour_mae_train", 1),
        ("behaviour_mae_embed", 2),
        ("behaviour_segment", 2),
        ("behaviour_ethogram", 2),
    ):
        assert text.count(f"rule {rule}:") == n, rule


def test_rule_set_with_an_unknown_feature_stops_the_parse(repo: Path, tmp_path: Path) -> None:
    rules = yaml.safe_load((repo / "config" / "behaviour_rules.yaml").read_text())
    rules["levels"][0]["rules"][0]["when"][0]["feature"] = "head_yawn"
    (tmp_path / "my_rules.yaml").write_text(yaml.safe_dump(rules))
    config = {**CONFIG, "behaviour": {**BEHAVIOUR, "rules": str(tmp_path / "my_rules.yaml")}}
    run = snakemake(repo, tmp_path, "-n", "--cores", "1", config=config)
    text = run.stdout + run.stderr
    assert run.returncode != 0
    assert "unknown feature 'head_yawn'" in text and "Valid features:" in text


@pytest.mark.slow
def test_behaviour_stage_runs_and_edits_to_the_rule_set_rerun_only_the_rules(
    repo: Path, tmp_path: Path
) -> None:
    _place_pose3d(tmp_path)
    rules_file = tmp_path / "config" / "behaviour_rules.yaml"
    rules_file.parent.mkdir(parents=True, exist_ok=True)
    rules_file.write_text((repo / "config" / "behaviour_rules.yaml").read_text())
    args = ("--cores", "1", *_targets(Paths()))
    run = snakemake(repo, tmp_path, *args, config=CONFIG)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    out = tmp_path / "results" / "behaviour" / "rat01" / "ses01"
    table = pd.read_csv(out / "rules_intervals.tsv", sep="\t")
    assert set(table["level"]) == {"action", "activity"} and set(table["source"]) == {"rules"}
    mae = load_labels(out / "mae_labels.nc")
    assert set(mae.data_vars) == {"activity", "action", "primitive"} and mae.sizes["time"] == 240
    assert (out / "ethogram.png").stat().st_size > 1000
    # removed once the model is written: a rerun (new pose, new code) trains afresh
    assert not (tmp_path / "results" / "behaviour" / "mae" / "checkpoint.pt").exists()

    rules_file.write_text(rules_file.read_text().replace("above: 200", "above: 210"))
    plan = snakemake(repo, tmp_path, "-n", *args, config=CONFIG)
    text = plan.stdout + plan.stderr
    assert "rule behaviour_rules:" in text and "rule behaviour_mae_train:" not in text
