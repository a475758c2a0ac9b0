"""Rule wrapper: a pose file the lab already has (videos sheet `pose`) to the pose model."""

from brainbehave.logs import rule_logging
from brainbehave.pose import save_pose
from brainbehave.pose2d.io import import_pose
from brainbehave.pose2d.video import check_video

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
w = snakemake.wildcards
where = f"{w.subject}/{w.session} camera {w.camera}"

with rule_logging(snakemake.log[0]):
    info = check_video(snakemake.input.video, where)
    pose = import_pose(
        snakemake.input.pose,
        snakemake.params.pose_format,
        fps=info.fps,
        camera=w.camera,
        subject=w.subject,
        session=w.session,
        keypoints=snakemake.params.keypoints,
        n_frames=info.n_frames,
        where=where,
    )
    save_pose(pose, snakemake.output[0])
