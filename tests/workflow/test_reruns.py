"""Rerun only what changed: Snakemake's dry-run plan after one kind of edit at a time.

One real run of the cheap behaviour rule (features and rule-based labels) on 3D pose placed where
the 3D stage writes it; each test edits a copy of that folder and reads the dry run's plan:
which rule runs for which session, and why.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from workflow_runner import POSE3D_SYNTH, place_motion_pose3d, run_snakemake

from brainbehave.paths import Paths
from brainbehave.provenance import PACKAGE_ROOT

SYNTH = POSE3D_SYNTH
CONFIG = {"synth": SYNTH, "behaviour": {"mae": {"enabled": False}}}
SESSIONS = ("ses01", "ses02")
PATHS = Paths()
TARGETS = [
    target
    for s in SESSIONS
    for target in (
        PATHS.behaviour_features("rat01", s),
        PATHS.behaviour_intervals("rat01", s, "rules"),
    )
]


def plan(output: str) -> dict[tuple[str, str], str]:
    """(rule, session or "") -> reason, for every job of a dry run's printed plan."""
    jobs: dict[tuple[str, str], str] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", "\n" + output):
        head = re.match(r"(?:local)?rule (\w+):\n", block)
        if not head:
            continue
        session = re.search(r"^\s+wildcards:.*\bsession=([\w-]+)", block, re.M)
        reason = re.search(r"^\s+reason: (.*)$", block, re.M)
        key = (head.group(1), session.group(1) if session else "")
        jobs[key] = reason.group(1) if reason else ""
    return jobs


def dry_run(repo: Path, workdir: Path) -> dict[tuple[str, str], str]:
    run = run_snakemake(repo, workdir, "-n", "--cores", "1", *TARGETS, config=CONFIG)
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-4000:]
    return plan(text)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the package, imported instead of the checkout (PYTHONPATH first)."""
    root = tmp_path_factory.mktemp("package")
    shutil.copytree(
        PACKAGE_ROOT, root / "brainbehave", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


@pytest.fixture
def with_package_copy(package_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Snakemake (a subprocess) imports the copy; the rules' code hashes are the copy's."""
    path = os.pathsep.join(filter(None, [str(package_copy), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)
    return package_copy / "brainbehave"


@pytest.fixture(scope="module")
def finished_run(repo: Path, tmp_path_factory: pytest.TempPathFactory, package_copy: Path) -> Path:
    """A work folder where the behaviour rules ran once, from the package copy."""
    workdir = tmp_path_factory.mktemp("reruns")
    for j, session in enumerate(SESSIONS):
        place_motion_pose3d(workdir, SYNTH, session, j)
    rules = workdir / "config" / "behaviour_rules.yaml"
    rules.parent.mkdir(parents=True)
    shutil.copy(repo / "config" / "behaviour_rules.yaml", rules)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(package_copy))
        run = run_snakemake(repo, workdir, "--cores", "2", *TARGETS, config=CONFIG)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return workdir


@pytest.fixture
def work(finished_run: Path, tmp_path: Path, with_package_copy: Path) -> Path:
    """A copy of the finished run (outputs, times and Snakemake's records) to edit."""
    return Path(shutil.copytree(finished_run, tmp_path / "work", symlinks=True))


def test_no_op_rerun_plans_nothing(repo: Path, work: Path) -> None:
    run = run_snakemake(repo, work, "-n", "--cores", "1", *TARGETS, config=CONFIG)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Nothing to be done" in run.stdout + run.stderr
    assert plan(run.stdout + run.stderr) == {}


def test_edited_behaviour_rule_reruns_only_the_rule_based_labels(repo: Path, work: Path) -> None:
    rules = work / "config" / "behaviour_rules.yaml"
    text = rules.read_text()
    assert "above: 200" in text  # the rearing threshold this test edits
    rules.write_text(text.replace("above: 200", "above: 210", 1))

    jobs = dry_run(repo, work)
    assert set(jobs) == {("behaviour_rules", "ses01"), ("behaviour_rules", "ses02")}
    assert all("behaviour_rules.yaml" in reason for reason in jobs.values()), jobs


def test_one_session_input_reruns_that_session_only(repo: Path, work: Path) -> None:
    # new 3D pose for one session, as after its video was replaced and the 3D stage reran
    # (a touch alone is not enough: Snakemake skips inputs whose checksum did not change)
    place_motion_pose3d(work, SYNTH, "ses02", motion_seed=7)

    jobs = dry_run(repo, work)
    assert set(jobs) == {("behaviour_rules", "ses02")}
    assert all("pose3d.nc" in reason for reason in jobs.values()), jobs


def test_edited_package_module_reruns_only_the_rules_that_use_it(
    repo: Path, work: Path, with_package_copy: Path
) -> None:
    # behaviour/mae.py is the MAE rules' code, not behaviour_rules': nothing reruns
    unused = with_package_copy / "behaviour" / "mae.py"
    unused.write_text(unused.read_text() + "\n# an edit to the MAE\n")
    assert dry_run(repo, work) == {}

    module = with_package_copy / "behaviour" / "rules.py"
    module.write_text(module.read_text() + "\n# an edit to the rule engine\n")

    jobs = dry_run(repo, work)
    assert set(jobs) == {("behaviour_rules", "ses01"), ("behaviour_rules", "ses02")}
    assert all("Params have changed" in reason for reason in jobs.values()), jobs


# -- a latent-model parameter: a whole demo-sized plan, recorded without running ------------------
def _jobs(output: str) -> set[tuple[str, str]]:
    """(rule, session or model or "") of every job in a dry run's printed plan."""
    jobs = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", "\n" + output):
        head = re.match(r"(?:local)?rule (\w+):\n", block)
        if head:
            key = re.search(r"^\s+wildcards:.*\b(?:session|model)=([\w-]+)", block, re.M)
            jobs.add((head.group(1), key.group(1) if key else ""))
    return jobs


def _place_outputs(workdir: Path, output: str) -> None:
    """Empty outputs (folders for names without a suffix) for every job of a printed plan."""
    for line in re.findall(r"^\s+output: (.*)$", output, re.M):
        for name in filter(None, (p.strip() for p in line.split(", "))):
            path = workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir(exist_ok=True) if not path.suffix else path.touch()


def _demo_config(repo: Path, contrastive_steps: int) -> dict:
    """The demo config with the latent models spelt out (the schema's defaults, but for the
    contrastive model's steps). Both runs write it the same way (keys sorted): Snakemake compares
    params by their text, so reordering a model's keys alone would also rerun it."""
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    config.setdefault("latents", {})["models"] = {
        "contrastive": {"kind": "contrastive", "conditional": "behaviour", "steps": 300},
        "hybrid": {"kind": "hybrid", "conditional": "time", "steps": 300},
        "pivae": {"kind": "generative", "steps": 300},
    }
    for model in config["latents"]["models"].values():
        model["batch_size"] = 256
    config["latents"]["models"]["contrastive"]["steps"] = contrastive_steps
    return config


@pytest.fixture(scope="module")
def recorded_demo(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo cohort's whole plan with placeholder outputs, recorded by `--touch --forceall`
    (which runs nothing but stores each job's params and code hash as a real run would)."""
    workdir = tmp_path_factory.mktemp("demo_plan")
    config = _demo_config(repo, 300)
    plan_run = run_snakemake(repo, workdir, "-n", "--cores", "1", config=config)
    assert plan_run.returncode == 0, plan_run.stderr[-3000:]
    _place_outputs(workdir, plan_run.stdout + plan_run.stderr)
    touch = run_snakemake(repo, workdir, "--touch", "--forceall", "--cores", "1", config=config)
    assert touch.returncode == 0, touch.stderr[-3000:]
    return workdir


def test_latent_model_parameter_reruns_that_model_and_what_reads_it(
    repo: Path, recorded_demo: Path
) -> None:
    noop = run_snakemake(repo, recorded_demo, "-n", "--cores", "1", config=_demo_config(repo, 300))
    assert "Nothing to be done" in noop.stdout + noop.stderr, noop.stdout[-3000:]

    run = run_snakemake(repo, recorded_demo, "-n", "--cores", "1", config=_demo_config(repo, 301))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    sessions = {"ses01", "ses02"}
    # the edited model is refitted and rescored; the derived NWBs (which hold its embeddings)
    # and the report are rewritten; the other models and every upstream stage are untouched
    assert _jobs(out) == {
        ("latents_fit", "contrastive"),
        ("latents_unpack", "contrastive"),
        ("latents_score", "contrastive"),
        *{("neural_nwb", s) for s in sessions},
        ("report_cohort", ""),
        ("all", ""),
    }
    assert "Params have changed" in out
