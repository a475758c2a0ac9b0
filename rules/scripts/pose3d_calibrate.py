"""Rule wrapper: calibrate a session's cameras from ChArUco board videos
(logic in brainbehave.pose3d.charuco)."""

from brainbehave.logs import rule_logging
from brainbehave.pose3d.charuco import BoardSpec, calibrate_from_videos

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    calibrate_from_videos(
        {camera: snakemake.input[camera] for camera in snakemake.params.cameras},
        BoardSpec.from_mapping(snakemake.params.board),
        snakemake.output.calibration,
        snakemake.output.qc,
        where=f"session {snakemake.wildcards.subject}/{snakemake.wildcards.session}",
    )
