"""Rule wrapper: write a session's derived NWB (brainbehave.nwb.write_session_derived_nwb)."""

from brainbehave import provenance
from brainbehave.logs import rule_logging
from brainbehave.nwb import write_session_derived_nwb

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    inputs, params = snakemake.input, snakemake.params
    write_session_derived_nwb(
        snakemake.output[0],
        inputs.nwb,
        inputs.sync,
        pose2d=dict(zip(params.cameras, inputs.pose2d, strict=True)),
        pose3d=inputs.pose3d,
        labels=dict(zip(params.label_sources, inputs.labels, strict=True)),
        # the session's embedding file inside each model's fit folder (inputs.latents)
        latents=dict(zip(params.latent_models, params.latent_files, strict=True)),
        skeleton_edges=[tuple(edge) for edge in params.skeleton_edges],
        naive_start_ok=params.naive_start_ok,
        provenance={
            "tool": "brainbehave neural_nwb",
            "code": params.code,
            "parameters": {
                "skeleton_edges": [list(edge) for edge in params.skeleton_edges],
                "naive_start_ok": params.naive_start_ok,
            },
            **provenance.versions(["numpy", "pynwb", "ndx_pose", "hdmf", "xarray"]),
        },
    )
