# Stage 2 - 3D pose: triangulate the 2D pose of every camera of a session with the session's
# calibration. Inputs: PATHS.pose2d(subject, session, camera) for each camera (pose data model,
# px) and the session's calibration.toml; outputs: PATHS.pose3d (pose data model, mm) + QC JSON.
from brainbehave.pose3d.plan import Pose3dPlan

POSE3D = config["pose3d"]
# Code of the package that the pose3d rules run: part of params, so an edit reruns them.
POSE3D_CODE = code_hash(
    [
        *(f"pose3d/{m}" for m in ("kernels", "triangulation", "validate", "filters", "qc", "session")),
        "pose",
        "calibration",
        "paths",
    ]
)
# Targets and input functions: brainbehave.pose3d.plan.Pose3dPlan (tested there).
POSE3D_PLAN = Pose3dPlan(cohort=COHORT, paths=PATHS)

STAGE_TARGETS.append(POSE3D_PLAN.targets)


rule pose3d_triangulate:
    input:
        pose2d=POSE3D_PLAN.pose2d_inputs,
        calibration=session_calibration,
    output:
        pose3d=PATHS.pose3d("{subject}", "{session}"),
        qc=PATHS.pose3d_qc("{subject}", "{session}"),
    log:
        PATHS.session_log("pose3d_triangulate", "{subject}", "{session}"),
    params:
        cameras=POSE3D_PLAN.cameras,
        settings=POSE3D,
        code=POSE3D_CODE,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/pose3d.yaml"
    script:
        "scripts/pose3d_triangulate.py"
