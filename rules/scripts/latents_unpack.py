"""Rule wrapper: unpack a latent model's fit archive to the folder the other rules read."""

from brainbehave.latents.fit_archive import unpack_fit
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    unpack_fit(snakemake.input[0], snakemake.output[0], list(snakemake.params.members))
