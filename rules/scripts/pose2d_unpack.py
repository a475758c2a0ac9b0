"""Rule wrapper: unpack the trained model's archive to the folder DeepLabCut reads."""

from brainbehave.logs import rule_logging
from brainbehave.pose2d.model_archive import unpack_model

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    unpack_model(snakemake.input[0], snakemake.output[0])
