"""Rule wrapper: map every video frame of a session onto the neural clock (brainbehave.sync)."""

from brainbehave.logs import rule_logging
from brainbehave.sync import SyncTolerance, sync_nwb_session

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    session = dict(snakemake.params.session)
    sync_nwb_session(
        snakemake.input.nwb,
        snakemake.output[0],
        cameras=dict(session["cameras"]),
        fps=session["fps"],
        sync_series=session["sync_series"],
        offset_s=session["offset_s"],
        drift_ppm=session["drift_ppm"],
        tolerance=SyncTolerance(**snakemake.params.tolerance),
    )
