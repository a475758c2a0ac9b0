# brainbehave: raw behaviour videos + NWB neural data -> joint brain-behaviour latents.
# This file only wires the stages together; see rules/*.smk and workflow_scripts/brainbehave.
from snakemake.utils import min_version

min_version("9.15")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/synth.smk"
include: "rules/pose2d.smk"
include: "rules/pose3d.smk"
include: "rules/neural.smk"
include: "rules/behaviour.smk"
include: "rules/latents.smk"
include: "rules/report.smk"


rule all:
    input:
        all_targets(),
    default_target: True
