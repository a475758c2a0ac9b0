"""Rule wrapper: the virtual lab's 2D pose error in px, per camera and keypoint."""

from brainbehave.logs import rule_logging
from brainbehave.pose2d.accuracy import session_accuracy

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    session_accuracy(snakemake.input.pose, snakemake.input.truth[0], snakemake.output[0])
