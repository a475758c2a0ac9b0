"""Rule wrapper: train DeepLabCut on the cohort's labelled frames (logic in brainbehave.pose2d)."""

from brainbehave.logs import rule_logging
from brainbehave.pose2d.dlc import TrainSettings, output_to_log
from brainbehave.pose2d.model_archive import train_model_archive

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]), output_to_log(snakemake.log[0]):
    train_model_archive(
        snakemake.params.project,
        snakemake.output.archive,
        TrainSettings.from_mapping(snakemake.params.settings),
        snakemake.output.evaluation,
        keypoints=snakemake.params.keypoints,
        threads=snakemake.threads,
        work_dir=snakemake.params.work,
    )
