# Neural stage: read the NWB file (read-only), synchronise each video to the neural clock,
# bin the neural data, pose, features and behaviour labels onto one time base (the aligned
# session dataset, brainbehave.align), and write a derived NWB per session (units, ndx-pose,
# behaviour intervals, latent embeddings; brainbehave.nwb). The derived NWB waits for the
# latent models (rules/latents.smk), whose embedding paths PATHS builds.
from brainbehave.neural_plan import NeuralPlan
from brainbehave.synth.skeleton import EDGES as SYNTH_EDGES

NEURAL = config["neural"]
# Code of the package that the neural rules run: part of params, so an edit reruns them
# (the sync and the binning read NWB files but never write one: the writer is not listed).
NEURAL_SYNC_CODE = code_hash(["sync", "nwb/read", "nwb/synth", "errors"])
_NEURAL_BEHAVIOUR = ["align_behaviour", "sync", "nwb/read", "errors", "pose", "behaviour/labels"]
NEURAL_ALIGN_CODE = code_hash(["align", *_NEURAL_BEHAVIOUR])
NEURAL_NWB_CODE = code_hash(["nwb", *_NEURAL_BEHAVIOUR])
# Input functions and targets: brainbehave.neural_plan.NeuralPlan (tested there).
NEURAL_PLAN = NeuralPlan(
    sessions=COHORT.sessions,
    videos=COHORT.videos,
    paths=PATHS,
    label_sources=("rules", "mae") if config["behaviour"]["mae"]["enabled"] else ("rules",),
    latent_models=tuple(config["latents"]["models"]) if config["latents"]["enabled"] else (),
)

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
        pose2d=NEURAL_PLAN.pose2d_inputs,
        pose3d=PATHS.pose3d("{subject}", "{session}"),
        features=PATHS.behaviour_features("{subject}", "{session}"),
        labels=NEURAL_PLAN.labels_inputs,
    output:
        PATHS.neural_aligned("{subject}", "{session}"),
    log:
        PATHS.session_log("neural_align", "{subject}", "{session}"),
    params:
        bin_s=NEURAL["bin_s"],
        test_fraction=NEURAL["test_fraction"],
        n_blocks=NEURAL["n_blocks"],
        naive_start_ok=NEURAL["naive_start_ok"],
        cameras=NEURAL_PLAN.camera_names,
        label_sources=NEURAL_PLAN.label_sources,
        code=NEURAL_ALIGN_CODE,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/neural.yaml"
    script:
        "scripts/neural_align.py"


rule neural_nwb:
    input:
        nwb=session_nwb,
        sync=PATHS.neural_sync("{subject}", "{session}"),
        pose2d=NEURAL_PLAN.pose2d_inputs,
        pose3d=PATHS.pose3d("{subject}", "{session}"),
        labels=NEURAL_PLAN.labels_inputs,
        latents=NEURAL_PLAN.latents_inputs(),
    output:
        PATHS.neural_derived_nwb("{subject}", "{session}"),
    log:
        PATHS.session_log("neural_nwb", "{subject}", "{session}"),
    params:
        cameras=NEURAL_PLAN.camera_names,
        label_sources=NEURAL_PLAN.label_sources,
        latent_models=NEURAL_PLAN.latent_models,
        latent_files=NEURAL_PLAN.latents_files,
        # the virtual lab's skeleton; a cohort from sheets gets nodes without edges
        skeleton_edges=SYNTH_EDGES if USE_SYNTH else [],
        naive_start_ok=NEURAL["naive_start_ok"],
        code=NEURAL_NWB_CODE,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/neural.yaml"
    script:
        "scripts/neural_nwb.py"
