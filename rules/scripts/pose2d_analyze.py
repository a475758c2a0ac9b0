"""Rule wrapper: 2D pose of one video (trained DeepLabCut or SuperAnimal) to the pose model."""

from brainbehave.logs import rule_logging
from brainbehave.pose import save_pose, with_provenance
from brainbehave.pose2d.analyze import analyze_video
from brainbehave.pose2d.dlc import output_to_log
from brainbehave.pose2d.io import dlc_h5_to_pose
from brainbehave.pose2d.progress import frame_progress_in_log
from brainbehave.pose2d.superanimal import SuperAnimalSettings, analyze_superanimal

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
w, params = snakemake.wildcards, snakemake.params
where = params.where
options = {
    "batch_size": params.analyze["batch_size"],
    "device": params.analyze["device"],
    "threads": snakemake.threads,
    "where": where,
}

with (
    rule_logging(snakemake.log[0]),
    output_to_log(snakemake.log[0]),
    frame_progress_in_log(where),  # frames done / total and frames/s, a line every ~10 s
):
    if params.method == "superanimal":
        settings = SuperAnimalSettings(**params.superanimal)
        info = analyze_superanimal(snakemake.input.video, snakemake.output.h5, settings, **options)
        keypoints = None  # SuperAnimal has its own bodyparts
    else:
        labeled = getattr(snakemake.output, "labeled", None)  # declared if asked for
        info = analyze_video(
            snakemake.input.model[0],
            snakemake.input.video,
            snakemake.output.h5,
            labeled_video=labeled,
            autocast=params.analyze["autocast"],
            channels_last=params.analyze["channels_last"],
            **options,
        )
        keypoints = params.keypoints
    pose = dlc_h5_to_pose(
        snakemake.output.h5,
        info.fps,
        camera=w.camera,
        subject=w.subject,
        session=w.session,
        keypoints=keypoints,
        n_frames=info.n_frames,
        where=where,
    )
    step = {"method": params.method, "video": str(snakemake.input.video), **params.analyze}
    save_pose(with_provenance(pose, "pose2d_analyze", step), snakemake.output.pose)
