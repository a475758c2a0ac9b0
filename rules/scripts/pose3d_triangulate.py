"""Rule wrapper: triangulate one session (logic in brainbehave.pose3d.session)."""

from brainbehave.logs import rule_logging
from brainbehave.pose import save_pose
from brainbehave.pose3d.session import Pose3dSettings, triangulate_session, write_qc

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    pose, qc = triangulate_session(
        dict(zip(snakemake.params.cameras, snakemake.input.pose2d, strict=True)),
        snakemake.input.calibration,
        Pose3dSettings.from_mapping(snakemake.params.settings),
        subject=snakemake.wildcards.subject,
        session=snakemake.wildcards.session,
        threads=snakemake.threads,
    )
    save_pose(pose, snakemake.output.pose3d)
    write_qc(qc, snakemake.output.qc)
