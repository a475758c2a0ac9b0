"""Rule-based behaviours from a declarative YAML rule set (no Python from the user).

A rule set names its hierarchy levels, finest first. A **frame level** labels each frame by
the first rule whose conditions all hold, else its ``default``::

    levels:
      - name: action
        default: still
        rules:
          - label: rear
            when:
              - {feature: body_pitch, above: 12, hysteresis: 4}
            min_duration_s: 0.3

A condition compares a feature expression (:mod:`.features`: ``speed``, ``height(nose)``,
``distance(nose, left_forepaw)``) with ``above`` or ``below``; optional ``abs: true`` takes
the magnitude, ``stat: mean|std`` with ``window_s`` a centred rolling statistic, and
``hysteresis`` (same unit) keeps a condition on until the value falls back past the
threshold by that much. Bouts shorter than ``min_duration_s`` are given to their neighbours.
A **grouped level** builds coarser labels from a finer level (``from``): each frame takes the
group with most frames of its members in a centred window of ``window_s``::

      - name: activity
        from: action
        window_s: 4
        min_duration_s: 3
        groups: {explore: [walk, trot, turn, rear], rest: [still, sniff]}

:func:`load_rule_set` checks the file against a schema and every feature and keypoint name
(the workflow calls it when it is parsed); :func:`apply_rule_set` labels a session.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import xarray as xr
import yaml

from brainbehave.behaviour.features import Expression, PoseView, evaluate, parse_expression
from brainbehave.behaviour.labels import bouts, labels_dataset
from brainbehave.errors import ConfigError

logger = logging.getLogger(__name__)

_CONDITION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["feature"],
    "properties": {
        "feature": {"type": "string"},
        "above": {"type": "number"},
        "below": {"type": "number"},
        "abs": {"type": "boolean", "default": False},
        "stat": {"enum": ["value", "mean", "std"], "default": "value"},
        "window_s": {"type": "number", "exclusiveMinimum": 0, "default": 0.5},
        "hysteresis": {"type": "number", "minimum": 0, "default": 0},
    },
    "oneOf": [{"required": ["above"]}, {"required": ["below"]}],
}
_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["label", "when"],
    "properties": {
        "label": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
        "when": {"type": "array", "minItems": 1, "items": _CONDITION},
        "min_duration_s": {"type": "number", "minimum": 0, "default": 0},
    },
}
_LEVEL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
        "default": {"type": "string"},
        "default_min_duration_s": {"type": "number", "minimum": 0},
        "rules": {"type": "array", "minItems": 1, "items": _RULE},
        "from": {"type": "string"},
        "window_s": {"type": "number", "exclusiveMinimum": 0},
        "min_duration_s": {"type": "number", "minimum": 0},
        "groups": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "oneOf": [{"required": ["rules", "default"]}, {"required": ["from", "groups", "window_s"]}],
}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["levels"],
    "properties": {
        "description": {"type": "string"},
        "smooth_s": {"type": "number", "minimum": 0, "default": 0.05},
        "levels": {"type": "array", "minItems": 1, "items": _LEVEL},
    },
}


@dataclass(frozen=True)
class Condition:
    """One comparison of a feature expression with a threshold."""

    expr: Expression
    above: float | None
    below: float | None
    abs: bool
    stat: str
    window_s: float
    hysteresis: float


@dataclass(frozen=True)
class Rule:
    """A label given where all its conditions hold."""

    label: str
    when: tuple[Condition, ...]
    min_duration_s: float


@dataclass(frozen=True)
class Level:
    """A frame level (``rules`` + ``default``) or a grouped level (``source`` + ``groups``)."""

    name: str
    rules: tuple[Rule, ...] = ()
    default: str = ""
    default_min_duration_s: float = 0.0
    source: str = ""
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    window_s: float = 0.0
    min_duration_s: float = 0.0

    @property
    def names(self) -> list[str]:
        """Label names of the level (indices are the per-frame codes)."""
        if self.source:
            return [g for g, _ in self.groups]
        return list(dict.fromkeys([*(r.label for r in self.rules), self.default]))


@dataclass(frozen=True)
class RuleSet:
    """A parsed, checked rule set; levels finest first."""

    levels: tuple[Level, ...]
    smooth_s: float
    path: str


def load_rule_set(path: str | Path, keypoints: Sequence[str] | None = None) -> RuleSet:
    """Read and check a rule set file.

    Parameters
    ----------
    path
        YAML rule set.
    keypoints
        The pose's keypoint names; when given, keypoint arguments are checked against them.

    Raises
    ------
    ConfigError
        Naming the file and the rule, for schema violations, unknown features or keypoints
        (with the valid names), and grouped levels naming unknown levels or labels.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Rule set {str(path)!r} does not exist; set behaviour.rules.")
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(raw), key=str)
    if errors:
        where = [".".join(str(p) for p in e.absolute_path) or "(top)" for e in errors]
        details = "; ".join(f"at '{w}': {e.message}" for w, e in zip(where, errors, strict=True))
        raise ConfigError(f"Rule set {path}: {details}")
    levels: list[Level] = []
    for i, spec in enumerate(raw["levels"]):
        where = f"rule set {path} level {spec['name']!r}"
        if "from" in spec:
            levels.append(_grouped_level(spec, levels, where))
        else:
            levels.append(_frame_level(spec, keypoints, where, i))
    return RuleSet(tuple(levels), float(raw.get("smooth_s", 0.05)), str(path))


def _frame_level(
    spec: dict[str, Any], keypoints: Sequence[str] | None, where: str, index: int
) -> Level:
    if index != 0:
        raise ConfigError(f"{where}: only the first (finest) level may have rules.")
    rules = []
    for r in spec["rules"]:
        conds = tuple(
            Condition(
                expr=parse_expression(c["feature"], keypoints, f"{where} rule {r['label']!r}"),
                above=c.get("above"),
                below=c.get("below"),
                abs=bool(c.get("abs", False)),
                stat=c.get("stat", "value"),
                window_s=float(c.get("window_s", 0.5)),
                hysteresis=float(c.get("hysteresis", 0.0)),
            )
            for c in r["when"]
        )
        rules.append(Rule(r["label"], conds, float(r.get("min_duration_s", 0.0))))
    return Level(
        name=spec["name"],
        rules=tuple(rules),
        default=spec["default"],
        default_min_duration_s=float(spec.get("default_min_duration_s", 0.0)),
    )


def _grouped_level(spec: dict[str, Any], finer: list[Level], where: str) -> Level:
    known = {lvl.name: lvl for lvl in finer}
    if spec["from"] not in known:
        raise ConfigError(f"{where}: 'from: {spec['from']}' names no earlier level {list(known)}.")
    valid = known[spec["from"]].names
    for group, members in spec["groups"].items():
        if bad := [m for m in members if m not in valid]:
            raise ConfigError(
                f"{where}: group {group!r} lists {bad}, not labels of level "
                f"{spec['from']!r}. Valid labels: {valid}."
            )
    return Level(
        name=spec["name"],
        source=spec["from"],
        groups=tuple((g, tuple(m)) for g, m in spec["groups"].items()),
        window_s=float(spec["window_s"]),
        min_duration_s=float(spec.get("min_duration_s", 0.0)),
    )


# -- evaluation -----------------------------------------------------------------------------
def _condition_values(cond: Condition, view: PoseView) -> np.ndarray:
    x = evaluate(cond.expr, view)
    if cond.abs:
        x = np.abs(x)
    if cond.stat != "value":
        win = max(2, int(round(cond.window_s * view.fps)))
        roll = pd.Series(x).rolling(win, center=True, min_periods=max(1, win // 2))
        x = (roll.mean() if cond.stat == "mean" else roll.std()).to_numpy()
    return x


def _hysteresis(x: np.ndarray, cond: Condition) -> np.ndarray:
    """On where the threshold is crossed; stays on until it is passed back by hysteresis."""
    if cond.above is not None:
        on, off = x > cond.above, x < cond.above - cond.hysteresis
    else:
        on, off = x < cond.below, x > cond.below + cond.hysteresis
    state = pd.Series(np.where(on, 1.0, np.where(off, 0.0, np.nan)))
    return state.ffill().fillna(0.0).to_numpy() > 0.5


def absorb_short_bouts(codes: np.ndarray, code: int, min_frames: int) -> np.ndarray:
    """Give bouts of ``code`` shorter than ``min_frames`` to the bout before (else after)."""
    if min_frames <= 1:
        return codes
    codes = codes.copy()
    starts, stops = bouts(codes)
    for i, (a, b) in enumerate(zip(starts, stops, strict=True)):
        if codes[a] == code and b - a < min_frames and len(starts) > 1:
            codes[a:b] = codes[a - 1] if a > 0 else codes[stops[i]]
    return codes


def _label_frames(level: Level, view: PoseView) -> np.ndarray:
    names = level.names
    n_t = view.xyz.shape[0]
    codes = np.full(n_t, names.index(level.default), dtype=np.int16)
    claimed = np.zeros(n_t, dtype=bool)
    missing = np.zeros(n_t, dtype=bool)
    for rule in level.rules:
        active = np.ones(n_t, dtype=bool)
        for cond in rule.when:
            x = _condition_values(cond, view)
            missing |= ~np.isfinite(x)
            active &= _hysteresis(x, cond)
        take = active & ~claimed
        codes[take] = names.index(rule.label)
        claimed |= take
    for rule in level.rules:
        codes = absorb_short_bouts(
            codes, names.index(rule.label), _frames(rule.min_duration_s, view)
        )
    codes = absorb_short_bouts(
        codes, names.index(level.default), _frames(level.default_min_duration_s, view)
    )
    codes[missing] = -1
    return codes


def _frames(seconds: float, view: PoseView) -> int:
    return int(round(seconds * view.fps))


def _label_groups(
    level: Level, finer: np.ndarray, finer_names: list[str], fps: float
) -> np.ndarray:
    win = max(1, int(round(level.window_s * fps)))
    votes = []
    for _, members in level.groups:
        member = np.isin(finer, [finer_names.index(m) for m in members]).astype(float)
        votes.append(pd.Series(member).rolling(win, center=True, min_periods=1).mean().to_numpy())
    codes = np.argmax(np.stack(votes, axis=1), axis=1).astype(np.int16)
    for code in range(len(level.groups)):
        codes = absorb_short_bouts(codes, code, int(round(level.min_duration_s * fps)))
    codes[finer < 0] = -1
    return codes


def apply_rule_set(rule_set: RuleSet, view: PoseView) -> xr.Dataset:
    """Per-frame labels of every level of the rule set (labels contract, source ``rules``).

    Frames where a feature a rule needs is NaN (missing keypoints) get no label (-1).
    """
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    for level in rule_set.levels:
        if level.source:
            finer_names, finer = out[level.source]
            codes = _label_groups(level, finer, finer_names, view.fps)
        else:
            codes = _label_frames(level, view)
        out[level.name] = (level.names, codes)
        n_missing = int((codes < 0).sum())
        if n_missing:
            logger.warning(
                "%s: %d of %d frames have no %s label (a feature the rules need is NaN).",
                view.where,
                n_missing,
                codes.shape[0],
                level.name,
            )
    coarse_first = dict(reversed(list(out.items())))
    return labels_dataset(coarse_first, view.fps, "rules", {"rule_set": rule_set.path})
