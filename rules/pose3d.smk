# Stage 2 - 3D pose. Sessions with two or more cameras are triangulated with the session's
# calibration; sessions with one camera (or listed in pose3d.lift.sessions) are lifted by a
# temporal network trained on the triangulated sessions. A session whose sheet 'calibration'
# names a folder of ChArUco board videos is calibrated first. Inputs: PATHS.pose2d per camera
# (pose data model, px); outputs: PATHS.pose3d (pose data model, mm) + QC JSON, either way.
from brainbehave.pose3d.plan import Pose3dPlan

POSE3D = config["pose3d"]
# the triangulation settings alone: a lifting or board setting does not rerun triangulation,
# nor does 'threads' (results are identical for any number of threads)
POSE3D_TRIANGULATION = {
    k: v for k, v in POSE3D.items() if k not in ("lift", "calibrate", "threads")
}
# Code of the package that the pose3d rules run: part of params, so an edit reruns them.
POSE3D_CODE = code_hash(
    [
        *(f"pose3d/{m}" for m in ("kernels", "triangulation", "validate", "filters", "qc", "session")),
        "pose",
        "calibration",
        "paths",
    ]
)
POSE3D_LIFT_CODE = code_hash(
    ["pose3d/lift", "pose3d/lift_session", "pose", "calibration", "truth", "torch_device"]
)
POSE3D_CALIBRATE_CODE = code_hash(["pose3d/charuco", "calibration"])
# Targets and input functions: brainbehave.pose3d.plan.Pose3dPlan (tested there).
POSE3D_PLAN = Pose3dPlan(cohort=COHORT, paths=PATHS, lift=POSE3D["lift"])

STAGE_TARGETS.append(POSE3D_PLAN.targets)


rule pose3d_calibrate:
    input:
        unpack(POSE3D_PLAN.calibration_videos),
    output:
        calibration=PATHS.pose3d_calibration("{subject}", "{session}"),
        qc=PATHS.pose3d_calibration_qc("{subject}", "{session}"),
    log:
        PATHS.session_log("pose3d_calibrate", "{subject}", "{session}"),
    params:
        cameras=POSE3D_PLAN.cameras,
        board=POSE3D["calibrate"],
        code=POSE3D_CALIBRATE_CODE,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/pose3d.yaml"
    script:
        "scripts/pose3d_calibrate.py"


rule pose3d_triangulate:
    input:
        pose2d=POSE3D_PLAN.pose2d_inputs,
        calibration=POSE3D_PLAN.calibration,
    output:
        pose3d=PATHS.pose3d("{subject}", "{session}"),
        qc=PATHS.pose3d_qc("{subject}", "{session}"),
    log:
        PATHS.session_log("pose3d_triangulate", "{subject}", "{session}"),
    params:
        cameras=POSE3D_PLAN.cameras,
        settings=POSE3D_TRIANGULATION,
        code=POSE3D_CODE,
    threads: POSE3D["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/pose3d.yaml"
    script:
        "scripts/pose3d_triangulate.py"


# Lifting rules exist only when some session is lifted. Otherwise every session's 3D pose
# would also be tried through pose3d_lift (a job built, then dropped for its not-this-route
# input): 1,000 such jobs were ~1.1 s of the 13.5 s dry run of 1,000 sessions.
if POSE3D_PLAN.lifted_sessions():

    rule pose3d_lift_train:
        input:
            POSE3D_PLAN.training_inputs(),
        output:
            model=PATHS.pose3d_lift_model(),
            evaluation=PATHS.pose3d_lift_evaluation(),
        log:
            PATHS.cohort_log("pose3d_lift_train"),
        params:
            sessions=POSE3D_PLAN.training_specs(),
            settings=POSE3D["lift"],
            code=POSE3D_LIFT_CODE,
        threads: 1
        resources:
            mem_mb=8000,
            runtime=120,
        conda:
            "../envs/pose3d.yaml"
        script:
            "scripts/pose3d_lift_train.py"


    rule pose3d_lift:
        input:
            unpack(POSE3D_PLAN.lift_inputs),
        output:
            pose3d=PATHS.pose3d("{subject}", "{session}"),
            qc=PATHS.pose3d_qc("{subject}", "{session}"),
        log:
            PATHS.session_log("pose3d_lift", "{subject}", "{session}"),
        params:
            camera=POSE3D_PLAN.lift_camera,
            code=POSE3D_LIFT_CODE,
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            "../envs/pose3d.yaml"
        script:
            "scripts/pose3d_lift.py"
