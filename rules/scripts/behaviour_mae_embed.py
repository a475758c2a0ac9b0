"""Rule wrapper: MAE embeddings of one session (logic in brainbehave.behaviour.session)."""

import torch

from brainbehave.behaviour.session import BehaviourSettings, embed_session
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    embed_session(
        snakemake.input.pose,
        snakemake.input.model,
        snakemake.output[0],
        BehaviourSettings.from_mapping(snakemake.params.settings),
    )
