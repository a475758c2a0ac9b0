"""Rule wrapper: features of one session (logic in brainbehave.behaviour.session)."""

from brainbehave.behaviour.session import BehaviourSettings, write_features
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    write_features(
        snakemake.input.pose,
        snakemake.output[0],
        BehaviourSettings.from_mapping(snakemake.params.settings),
    )
