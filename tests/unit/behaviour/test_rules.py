"""Rule sets: the shipped one on the virtual lab, hysteresis, durations, hierarchy, checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.metrics import f1_score

from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.labels import intervals, level_names, load_labels, save_labels
from brainbehave.behaviour.rules import apply_rule_set, load_rule_set
from brainbehave.errors import ConfigError
from brainbehave.synth.skeleton import KEYPOINTS

REPO = Path(__file__).resolve().parents[3]
DEFAULT_RULES = REPO / "config" / "behaviour_rules.yaml"


def _write(tmp_path: Path, rules: dict) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


def test_shipped_rules_find_the_virtual_labs_actions_and_activities(minute_session) -> None:
    ds, actions, activities = minute_session
    labels = apply_rule_set(load_rule_set(DEFAULT_RULES, KEYPOINTS), pose_view(ds))
    pred = np.asarray(level_names(labels, "action"))[labels["action"].values]
    assert f1_score(actions, pred, average="macro") > 0.85
    pred = np.asarray(level_names(labels, "activity"))[labels["activity"].values]
    assert f1_score(activities, pred, average="macro") > 0.85


def _speed_rules(hysteresis: float, min_s: float = 0.0) -> dict:
    return {
        "levels": [
            {
                "name": "action",
                "default": "rest",
                "rules": [
                    {
                        "label": "run",
                        "when": [{"feature": "speed", "above": 100, "hysteresis": hysteresis}],
                        "min_duration_s": min_s,
                    }
                ],
            },
            {
                "name": "state",
                "from": "action",
                "window_s": 1,
                "groups": {"busy": ["run"], "idle": ["rest"]},
            },
        ]
    }


def _ramp_pose(speeds: np.ndarray):
    from brainbehave.pose import pose_dataset
    from brainbehave.synth.skeleton import REST_POSE_MM

    y = np.concatenate([[0.0], np.cumsum(speeds[1:] + speeds[:-1]) / 2 / 30.0])
    xyz = np.repeat(REST_POSE_MM[None], speeds.shape[0], axis=0)
    xyz[..., 0] += y[:, None]
    return pose_dataset(xyz, None, KEYPOINTS, 30.0, source_software="t", units="mm")


def test_hysteresis_keeps_a_label_through_a_dip(tmp_path: Path) -> None:
    speeds = np.r_[np.full(30, 50.0), np.full(30, 120.0), np.full(30, 90.0), np.full(30, 120.0)]
    view = pose_view(_ramp_pose(speeds), smooth_s=0.0)
    without = apply_rule_set(load_rule_set(_write(tmp_path, _speed_rules(0))), view)
    with_h = apply_rule_set(load_rule_set(_write(tmp_path, _speed_rules(20))), view)
    assert (without["action"].values[65:85] == 1).all()  # dip to 90 mm/s: rest
    assert (with_h["action"].values[65:85] == 0).all()  # within 20 mm/s: still running


def test_short_bouts_are_given_to_their_neighbours(tmp_path: Path) -> None:
    speeds = np.r_[np.full(40, 50.0), np.full(6, 150.0), np.full(40, 50.0)]
    view = pose_view(_ramp_pose(speeds), smooth_s=0.0)
    labels = apply_rule_set(load_rule_set(_write(tmp_path, _speed_rules(0, min_s=0.5))), view)
    assert (labels["action"].values == 1).all()


def test_labels_and_intervals_round_trip(tmp_path: Path, minute_session) -> None:
    labels = apply_rule_set(load_rule_set(DEFAULT_RULES), pose_view(minute_session[0]))
    save_labels(labels, tmp_path / "l.nc", tmp_path / "i.tsv")
    back = load_labels(tmp_path / "l.nc")
    assert (back["action"].values == labels["action"].values).all()
    table = intervals(back)
    assert list(table.columns[:4]) == ["level", "label", "start", "stop"]
    assert set(table["source"]) == {"rules"} and set(table["level"]) == {"action", "activity"}
    act = table[table.level == "action"]
    assert (
        np.isclose(act["stop"].max(), 60.0)
        and (act["start"].values[1:] == act["stop"].values[:-1]).all()
    )


def test_missing_pose_gets_no_label(minute_session) -> None:
    ds = minute_session[0].copy(deep=True)
    ds["position"][100:160] = np.nan
    labels = apply_rule_set(load_rule_set(DEFAULT_RULES), pose_view(ds))
    assert (labels["action"].values[100:160] == -1).all()
    assert (labels["action"].values[:90] >= 0).all()


def test_rule_naming_an_unknown_keypoint_is_refused(tmp_path: Path) -> None:
    rules = _speed_rules(0)
    rules["levels"][0]["rules"][0]["when"][0]["feature"] = "height(snout)"
    with pytest.raises(
        ConfigError, match=r"rule 'run'.*unknown keypoint\(s\) \['snout'\].*Valid keypoints"
    ):
        load_rule_set(_write(tmp_path, rules), KEYPOINTS)


def test_rule_set_typos_are_refused_with_where(tmp_path: Path) -> None:
    rules = _speed_rules(0)
    rules["levels"][0]["rules"][0]["when"][0]["abvoe"] = 3
    with pytest.raises(ConfigError, match=r"at 'levels.0.rules.0.when.0'.*abvoe"):
        load_rule_set(_write(tmp_path, rules))
    rules = _speed_rules(0)
    rules["levels"][1]["groups"]["busy"] = ["runn"]
    with pytest.raises(
        ConfigError, match=r"group 'busy' lists \['runn'\].*Valid labels: \['run', 'rest'\]"
    ):
        load_rule_set(_write(tmp_path, rules))
