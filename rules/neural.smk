# Neural stage: read the NWB file (read-only), synchronise each video to the neural clock,
# bin the neural data onto one time base (the aligned session dataset, brainbehave.align).
# Pose and labels are binned too once a later stage passes them to align_session.
from brainbehave.align import NeuralPlan

NEURAL = config["neural"]
# Code of the package that the neural rules run: part of params, so an edit reruns them.
NEURAL_SYNC_CODE = code_hash(["sync", "nwb", "errors", "align"])
NEURAL_ALIGN_CODE = code_hash(["align", "sync", "nwb", "errors"])
# Input functions and targets: brainbehave.align.NeuralPlan (tested there).
NEURAL_PLAN = NeuralPlan(sessions=COHORT.sessions, videos=COHORT.videos, paths=PATHS)

STAGE_TARGETS.append(NEURAL_PLAN.targets)


rule neural_sync:
    input:
        nwb=session_nwb,
        frames=NEURAL_PLAN.sync_inputs,
    output:
        PATHS.neural_sync("{subject}", "{session}"),
    log:
        PATHS.session_log("neural_sync", "{subject}", "{session}"),
    params:
        session=NEURAL_PLAN.sync_params,
        tolerance=NEURAL["sync"],
        code=NEURAL_SYNC_CODE,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/neural.yaml"
    script:
        "scripts/neural_sync.py"


rule neural_align:
    input:
        nwb=session_nwb,
        sync=PATHS.neural_sync("{subject}", "{session}"),
    output:
        PATHS.neural_aligned("{subject}", "{session}"),
    log:
        PATHS.session_log("neural_align", "{subject}", "{session}"),
    params:
        bin_s=NEURAL["bin_s"],
        test_fraction=NEURAL["test_fraction"],
        n_blocks=NEURAL["n_blocks"],
        naive_start_ok=NEURAL["naive_start_ok"],
        code=NEURAL_ALIGN_CODE,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/neural.yaml"
    script:
        "scripts/neural_align.py"
