"""Rule wrapper: ethogram of one session (logic in brainbehave.behaviour.ethogram)."""

from brainbehave.behaviour.ethogram import write_ethogram
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    write_ethogram(
        snakemake.input.rules,
        snakemake.input.mae[0] if snakemake.input.mae else None,
        snakemake.input.truth[0] if snakemake.input.truth else None,
        snakemake.output[0],
        f"{snakemake.wildcards.subject}/{snakemake.wildcards.session}",
    )
