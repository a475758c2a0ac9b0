"""Rule wrapper: fit one latent model on the cohort (brainbehave.latents.pipeline)."""

from pathlib import Path

from brainbehave import provenance
from brainbehave.latents.pipeline import Checkpoints, ModelSpec, fit_cohort, read_session
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    import torch

    torch.set_num_threads(snakemake.threads)
    spec = ModelSpec.from_dict(dict(snakemake.params.spec))
    truths = list(snakemake.input.truth) or [None] * len(snakemake.input.aligned)
    sessions = [
        read_session(aligned, truth, key)
        for aligned, truth, key in zip(
            snakemake.input.aligned, truths, snakemake.params.sessions, strict=True
        )
    ]
    fit_cohort(
        spec,
        sessions,
        snakemake.output[0],  # one archive: the model and the embeddings in session order
        snakemake.params.members[0],
        list(snakemake.params.members[1:]),
        device=snakemake.params.device,
        checkpoints=Checkpoints(
            Path(snakemake.params.checkpoints), int(snakemake.params.checkpoint_every)
        ),
        provenance={
            "tool": "brainbehave latents_fit",
            "code": snakemake.params.code,
            **provenance.versions(["numpy", "torch", "scikit-learn"]),
        },
        threads=snakemake.threads,  # fits side by side, one thread each
    )
