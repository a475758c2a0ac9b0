"""Rule wrapper: clean one camera's 2D pose (threshold, gap interpolation, smoothing), the pose
inferred here or a pose file the lab already has (videos sheet `pose`), imported first."""

from brainbehave.logs import rule_logging
from brainbehave.pose import save_pose
from brainbehave.pose2d.clean import CleanSettings, clean_pose
from brainbehave.pose2d.io import pose_to_clean

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
w = snakemake.wildcards

with rule_logging(snakemake.log[0]):
    raw = pose_to_clean(
        snakemake.input.raw,
        snakemake.params.pose_format,
        snakemake.input.video[0] if snakemake.input.video else None,
        camera=w.camera,
        subject=w.subject,
        session=w.session,
        keypoints=snakemake.params.keypoints,
    )
    cleaned = clean_pose(raw, CleanSettings.from_mapping(snakemake.params.clean))
    save_pose(cleaned, snakemake.output[0])
