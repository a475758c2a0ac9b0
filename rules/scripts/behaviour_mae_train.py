"""Rule wrapper: train the hierarchical MAE over the cohort (brainbehave.behaviour.session)."""

import torch

from brainbehave.behaviour.session import BehaviourSettings, train_mae
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)  # one per batch slice while they train
    train_mae(
        list(snakemake.input),
        snakemake.output[0],
        snakemake.params.checkpoint,
        BehaviourSettings.from_mapping(snakemake.params.settings),
        threads=snakemake.threads,  # batch slices trained at once, one thread each
        device=snakemake.params.device,
    )
