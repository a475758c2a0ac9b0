"""Rule wrapper: features and rule-based labels of one session (brainbehave.behaviour.session)."""

from brainbehave.behaviour.session import BehaviourSettings, features_and_rule_labels
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    features_and_rule_labels(
        snakemake.input.pose,
        snakemake.input.rules,
        snakemake.output.features,
        snakemake.output.labels,
        snakemake.output.intervals,
        BehaviourSettings.from_mapping(snakemake.params.settings),
    )
