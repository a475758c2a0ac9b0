"""Rule wrapper: bin a session's neural data and behaviour on the video's time base
(brainbehave.align)."""

from brainbehave import provenance
from brainbehave.align import align_nwb_session
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    inputs, params = snakemake.input, snakemake.params
    align_nwb_session(
        inputs.nwb,
        inputs.sync,
        snakemake.output[0],
        subject=snakemake.wildcards.subject,
        session=snakemake.wildcards.session,
        bin_s=params.bin_s,
        test_fraction=params.test_fraction,
        n_blocks=params.n_blocks,
        naive_start_ok=params.naive_start_ok,
        pose2d=dict(zip(params.cameras, inputs.pose2d, strict=True)),
        pose3d=inputs.pose3d,
        features=inputs.features,
        labels=dict(zip(params.label_sources, inputs.labels, strict=True)),
        provenance={
            "tool": "brainbehave neural_align",
            "code": params.code,
            **provenance.versions(["numpy", "pynwb", "xarray"]),
        },
    )
