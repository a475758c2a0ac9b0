"""Rule wrapper: simulate one virtual-lab session (logic in brainbehave.synth.cohort)."""

from brainbehave.logs import rule_logging
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    generate_session(
        SynthSettings.from_mapping(snakemake.params.settings),
        snakemake.wildcards.subject,
        snakemake.wildcards.session,
        SessionFiles(
            videos=dict(zip(snakemake.params.cameras, snakemake.output.videos, strict=True)),
            frame_times=dict(
                zip(snakemake.params.cameras, snakemake.output.frame_times, strict=True)
            ),
            calibration=snakemake.output.calibration,
            nwb=snakemake.output.nwb,
            truth=snakemake.output.truth,
        ),
    )
