"""The behaviour plan: targets, switches, parse-time checks, params per step."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from brainbehave.behaviour.plan import BehaviourPlan, resolve_rules_file
from brainbehave.config import validate_config
from brainbehave.errors import ConfigError
from brainbehave.paths import Paths
from brainbehave.synth.skeleton import KEYPOINTS

REPO = Path(__file__).resolve().parents[3]


def _plan(behaviour: dict | None = None) -> BehaviourPlan:
    config = validate_config(
        {"behaviour": behaviour or {}}, REPO / "config" / "schemas" / "config.schema.yaml"
    )
    rules = resolve_rules_file(config["behaviour"]["rules"], REPO)
    return BehaviourPlan(config["behaviour"], [("rat01", "ses01")], Paths(), rules)


def test_targets_follow_the_mae_switch_and_gpu_is_opt_in() -> None:
    assert len(_plan().targets()) == 4 and "gpu" not in _plan().train_resources()
    off = _plan({"mae": {"enabled": False, "gpu": True}})
    assert not any("mae" in t for t in off.targets())
    assert off.mae_labels(SimpleNamespace(subject="rat01", session="ses01")) == []
    assert off.train_resources()["gpu"] == 1


def test_segment_settings_do_not_touch_the_rules_params() -> None:
    a, b = _plan(), _plan({"segment": {"action": {"n_clusters": 5}}})
    assert a.params("rules") == b.params("rules") and a.params("mae") == b.params("mae")
    assert a.params("segment") != b.params("segment")
    assert _plan({"mae": {"threads": 4}}).params("mae") == a.params("mae")


def test_check_names_bad_body_keypoints() -> None:
    _plan().check(KEYPOINTS)
    with pytest.raises(ConfigError, match=r"behaviour.body names keypoint\(s\) \['snout'\]"):
        _plan({"body": {"nose": "snout"}}).check(KEYPOINTS)


def test_misspelt_behaviour_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['stpes'\] at 'behaviour.mae'"):
        _plan({"mae": {"stpes": 3}})
