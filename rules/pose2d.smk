# Stage 1 - 2D pose per camera: DeepLabCut (train once per cohort, analyse every video) or a
# pose file the lab already has; then cleaning. Output contract: PATHS.pose2d(subject, session,
# camera), the pose data model (brainbehave.pose) as netCDF.
from brainbehave.pose2d.project import check_bodyparts, read_project
from brainbehave.pose2d.sources import Pose2dPlan
from brainbehave.synth.skeleton import KEYPOINTS as SYNTH_KEYPOINTS

POSE2D = config["pose2d"]
# Code of the package that the pose2d rules run: part of params, so an edit reruns them.
POSE2D_CODE = code_hash(["pose2d", "folder_archive", "pose", "paths"])
# Bodyparts expected downstream: the config's, else the virtual lab's (empty: the project's).
POSE2D_KEYPOINTS = list(POSE2D["keypoints"]) or (list(SYNTH_KEYPOINTS) if USE_SYNTH else [])
POSE2D_GPU = int(POSE2D["gpu"])
# Input functions and targets: brainbehave.pose2d.sources.Pose2dPlan (tested there).
POSE2D_PLAN = Pose2dPlan(
    videos=COHORT.videos,
    paths=PATHS,
    method=POSE2D["method"],
    project=PATHS.synth_dlc_project() if USE_SYNTH else POSE2D["dlc_project"],
    with_truth=USE_SYNTH,
)
if not USE_SYNTH and POSE2D["dlc_project"] and POSE2D_PLAN.needs_model():
    # a lab's project exists already: refuse bodyparts that differ before any job starts
    check_bodyparts(
        read_project(Path(POSE2D["dlc_project"]) / "config.yaml"),
        POSE2D_KEYPOINTS,
        f"DeepLabCut project {POSE2D['dlc_project']}",
    )

STAGE_TARGETS.append(POSE2D_PLAN.targets)


rule pose2d_train:
    input:
        project=POSE2D_PLAN.train_inputs,
    output:
        # one multiext of files (outputs `archive`, `evaluation`): Snakemake caches it. A cached
        # folder would come back stale (snakemake#3097): pose2d_unpack makes the folder.
        multiext(PATHS.pose2d_model(), **PATHS.pose2d_train_suffixes()),
    log:
        PATHS.cohort_log("pose2d_train"),
    params:
        project=POSE2D_PLAN.train_project,
        settings=POSE2D["train"],
        keypoints=POSE2D_KEYPOINTS,
        work=PATHS.pose2d_model_training(),
        code=POSE2D_CODE,
    threads: POSE2D["threads"]["train"]
    cache: True
    resources:
        mem_mb=6000,
        runtime=240,
        gpu=POSE2D_GPU,
    conda:
        "../envs/pose2d.yaml"
    script:
        "scripts/pose2d_train.py"


rule pose2d_unpack:
    input:
        PATHS.pose2d_model_archive(),
    output:
        directory(PATHS.pose2d_model()),
    log:
        PATHS.cohort_log("pose2d_unpack"),
    params:
        code=POSE2D_CODE,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    localrule: True
    conda:
        "../envs/pose2d.yaml"
    script:
        "scripts/pose2d_unpack.py"


rule pose2d_analyze:
    input:
        model=POSE2D_PLAN.model_input,
        video=session_video,
    output:
        # one multiext (output names h5, pose and, if asked for, labeled): cacheable
        multiext(
            PATHS.pose2d_video_prefix("{subject}", "{session}", "{camera}"),
            **PATHS.pose2d_analyze_suffixes(POSE2D["analyze"]["labeled_video"]),
        ),
    log:
        PATHS.session_log("pose2d_analyze", "{subject}", "{session}_{camera}"),
    params:
        method=POSE2D["method"],
        analyze=POSE2D["analyze"],
        superanimal=POSE2D["superanimal"],
        keypoints=POSE2D_KEYPOINTS,
        # named in messages; also keys the cache: the virtual lab's videos of one session
        # come from one job, so nothing else in the provenance hash tells cameras apart
        where="{subject}/{session} camera {camera}",
        code=POSE2D_CODE,
    threads: POSE2D["threads"]["analyze"]
    cache: True
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=POSE2D_GPU,
    conda:
        "../envs/pose2d.yaml"
    script:
        "scripts/pose2d_analyze.py"


rule pose2d_clean:
    input:
        # the pose inferred from the video, or the lab's pose file (with its video): a pose
        # file is imported and cleaned in one job (one job per camera to plan and submit)
        raw=POSE2D_PLAN.raw_input,
        video=POSE2D_PLAN.imported_video,
    output:
        PATHS.pose2d("{subject}", "{session}", "{camera}"),
    wildcard_constraints:
        # <camera>_raw.nc is the inference's output, not a camera
        camera=r"[A-Za-z0-9][A-Za-z0-9_-]*(?<!_raw)",
    log:
        PATHS.session_log("pose2d_clean", "{subject}", "{session}_{camera}"),
    params:
        pose_format=POSE2D_PLAN.pose_format,
        keypoints=POSE2D_KEYPOINTS,
        clean=POSE2D["clean"],
        code=POSE2D_CODE,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/pose2d.yaml"
    script:
        "scripts/pose2d_clean.py"


rule pose2d_accuracy:
    input:
        pose=POSE2D_PLAN.session_poses,
        truth=session_truth,
    output:
        PATHS.pose2d_accuracy("{subject}", "{session}"),
    log:
        PATHS.session_log("pose2d_accuracy", "{subject}", "{session}"),
    params:
        code=POSE2D_CODE,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/pose2d.yaml"
    script:
        "scripts/pose2d_accuracy.py"
