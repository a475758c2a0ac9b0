"""Rule wrapper: lift one session from one camera (logic in brainbehave.pose3d.lift_session)."""

from brainbehave.logs import rule_logging
from brainbehave.pose import save_pose
from brainbehave.pose3d.lift_session import lift_session
from brainbehave.pose3d.session import write_qc

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    pose, qc = lift_session(
        snakemake.input.pose2d,
        snakemake.input.calibration,
        snakemake.params.camera,
        snakemake.input.model,
        subject=snakemake.wildcards.subject,
        session=snakemake.wildcards.session,
        truth_file=snakemake.input.get("truth"),
    )
    save_pose(pose, snakemake.output.pose3d)
    write_qc(qc, snakemake.output.qc)
