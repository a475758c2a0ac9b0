"""Rule wrapper: bin a session's neural data on the video's time base (brainbehave.align)."""

from brainbehave import provenance
from brainbehave.align import align_nwb_session
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    align_nwb_session(
        snakemake.input.nwb,
        snakemake.input.sync,
        snakemake.output[0],
        subject=snakemake.wildcards.subject,
        session=snakemake.wildcards.session,
        bin_s=snakemake.params.bin_s,
        test_fraction=snakemake.params.test_fraction,
        n_blocks=snakemake.params.n_blocks,
        naive_start_ok=snakemake.params.naive_start_ok,
        provenance={
            "tool": "brainbehave neural_align",
            "code": snakemake.params.code,
            **provenance.versions(["numpy", "pynwb", "xarray"]),
        },
    )
