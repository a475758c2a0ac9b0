"""Rule wrapper: cohort clustering of the MAE levels (logic in brainbehave.behaviour.session)."""

from brainbehave.behaviour.session import BehaviourSettings, fit_segmenter
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    fit_segmenter(
        list(snakemake.input),
        snakemake.output[0],
        BehaviourSettings.from_mapping(snakemake.params.settings),
    )
