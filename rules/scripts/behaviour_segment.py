"""Rule wrapper: MAE segments of one session (logic in brainbehave.behaviour.session)."""

from brainbehave.behaviour.session import segment_session
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    segment_session(
        snakemake.input.embeddings,
        snakemake.input.segmenter,
        snakemake.output.labels,
        snakemake.output.intervals,
    )
