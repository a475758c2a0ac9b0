"""Rule wrapper: unpack a latent model's fit archive to the folder the other rules read."""

from brainbehave.folder_archive import unpack_folder
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    unpack_folder(
        snakemake.input[0], snakemake.output[0], "latents_fit", list(snakemake.params.members)
    )
