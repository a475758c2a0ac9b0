"""Rule wrapper: the virtual lab's DeepLabCut project of labelled frames."""

from brainbehave.logs import rule_logging
from brainbehave.synth.cohort import generate_dlc_project
from brainbehave.synth.settings import SynthSettings

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    generate_dlc_project(SynthSettings.from_mapping(snakemake.params.settings), snakemake.output[0])
