"""Rule wrapper: train the single-camera lifter (logic in brainbehave.pose3d.lift_session)."""

from brainbehave.logs import rule_logging
from brainbehave.pose3d.lift_session import LiftConfig, TrainingSession, train_lift_model

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    settings = {k: v for k, v in snakemake.params.settings.items()}
    train_lift_model(
        [TrainingSession(**spec) for spec in snakemake.params.sessions],
        LiftConfig.from_mapping(settings),
        snakemake.output.model,
        snakemake.output.evaluation,
        threads=snakemake.threads,
    )
