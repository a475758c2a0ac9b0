"""Rule wrapper: the cohort report (logic in brainbehave.report)."""

from brainbehave.logs import rule_logging
from brainbehave.report import session_inputs, write_cohort_report

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    files = {key: list(snakemake.input[key]) for key in snakemake.input.keys()}
    write_cohort_report(
        snakemake.output[0],
        session_inputs(snakemake.params.sessions, snakemake.params.cameras, files),
        scorecards=files["scorecards"],
        embeddings=files["embeddings"],
        evaluation=files["evaluation"][0] if files["evaluation"] else None,
        notes=snakemake.params.notes,
        edges=snakemake.params.edges,
    )
