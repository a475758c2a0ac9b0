"""Rule wrapper: rule-based labels of one session (logic in brainbehave.behaviour.session)."""

from brainbehave.behaviour.session import BehaviourSettings, label_with_rules
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    label_with_rules(
        snakemake.input.pose,
        snakemake.input.rules,
        snakemake.output.labels,
        snakemake.output.intervals,
        BehaviourSettings.from_mapping(snakemake.params.settings),
    )
