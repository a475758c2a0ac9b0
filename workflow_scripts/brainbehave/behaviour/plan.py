"""What the behaviour rules need at parse time: targets, input functions, the rule set.

Kept in the package (as ``brainbehave.neural_plan.NeuralPlan``) so ``rules/behaviour.smk`` holds
rules only and this logic is tested without Snakemake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainbehave.behaviour.features import BodyParts, check_body_parts
from brainbehave.behaviour.rules import load_rule_set
from brainbehave.paths import Paths

# MAE settings that change where or whether it runs, not what it computes.
_NOT_MODEL = ("enabled", "gpu", "threads")


def resolve_rules_file(given: str, workflow_dir: str | Path) -> str:
    """The rule set: relative to the run folder, else the repository's file of that name."""
    path = Path(given)
    if path.is_absolute() or path.exists():
        return str(path)
    return str(Path(workflow_dir) / path)


@dataclass(frozen=True)
class BehaviourPlan:
    """The behaviour stage of one cohort.

    Parameters
    ----------
    settings
        The validated ``behaviour`` config block.
    sessions
        (subject, session) pairs.
    paths
        The output layout.
    rules_file
        The resolved rule set path.
    """

    settings: Mapping[str, Any]
    sessions: Sequence[tuple[str, str]]
    paths: Paths
    rules_file: str

    @property
    def mae_enabled(self) -> bool:
        """Whether the MAE rules run."""
        return bool(self.settings["mae"]["enabled"])

    def check(self, keypoints: Sequence[str] | None) -> None:
        """Check the rule set (and body roles) against the keypoints; raises ConfigError."""
        load_rule_set(self.rules_file, keypoints)
        if keypoints:
            body = dict(self.settings["body"])
            body["forepaws"] = tuple(body["forepaws"])
            check_body_parts(BodyParts(**body), keypoints, "config behaviour.body")

    def targets(self) -> list[str]:
        """Features, rule intervals, MAE intervals (if enabled) and an ethogram per session."""
        out = []
        for sub, ses in self.sessions:
            out += [
                self.paths.behaviour_features(sub, ses),
                self.paths.behaviour_intervals(sub, ses, "rules"),
                self.paths.behaviour_ethogram(sub, ses),
            ]
            if self.mae_enabled:
                out.append(self.paths.behaviour_intervals(sub, ses, "mae"))
        return out

    def mae_labels(self, wildcards: Any) -> list[str]:
        """Input function: the session's MAE labels ([] when the MAE is switched off)."""
        if not self.mae_enabled:
            return []
        return [self.paths.behaviour_labels(wildcards.subject, wildcards.session, "mae")]

    def params(self, step: str) -> dict[str, Any]:
        """The part of the settings a step depends on (so other edits do not rerun it)."""
        pose = {"body": self.settings["body"], "smooth_s": self.settings["smooth_s"]}
        mae = {k: v for k, v in self.settings["mae"].items() if k not in _NOT_MODEL}
        if step == "rules":  # the features and rule-based labels
            return pose
        if step == "mae":
            return {**pose, "mae": mae}
        if step == "segment":
            return {"segment": self.settings["segment"], "mae": {"seed": mae["seed"]}}
        raise KeyError(f"No behaviour step {step!r}.")

    def train_resources(self) -> dict[str, int]:
        """Resources of the training rule: gpu=1 only when the config asks for it."""
        res = {"mem_mb": 4000, "runtime": 120}
        if self.settings["mae"]["gpu"]:
            res["gpu"] = 1
        return res
