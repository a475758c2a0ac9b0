"""Rule wrapper: the trust scorecard (JSON) and embedding plot of one latent model."""

from brainbehave.latents.scorecard import score_model
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    import torch

    torch.set_num_threads(snakemake.threads)
    score_model(
        list(snakemake.params.embeddings),  # files inside input.fit, the fit's one output
        snakemake.params.model,
        snakemake.output.scorecard,
        snakemake.output.plot,
    )
