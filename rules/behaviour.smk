# Stage 3 - behaviour: per-session features and rule-based labels from 3D pose
# (PATHS.pose3d, pose data model, mm), a hierarchical masked autoencoder trained over the
# cohort, its per-level embeddings and unsupervised segments, and an ethogram per session.
from brainbehave.behaviour.plan import BehaviourPlan, resolve_rules_file
from brainbehave.synth.skeleton import KEYPOINTS as SYNTH_KEYPOINTS

BEHAVIOUR = config["behaviour"]
# Code of the package that each behaviour rule runs: part of params, so an edit reruns them.
_BEHAVIOUR_BASE = ["behaviour/features", "behaviour/session", "pose", "paths"]
BEHAVIOUR_CODE = {
    "rules": code_hash([*_BEHAVIOUR_BASE, "behaviour/rules", "behaviour/labels"]),
    "mae": code_hash(
        [
            *_BEHAVIOUR_BASE, "behaviour/mae", "behaviour/mae_model", "behaviour/mae_config",
            "torch_device",
        ]
    ),
    "segment": code_hash(
        [
            *_BEHAVIOUR_BASE, "behaviour/segment", "behaviour/segment_spec",
            "behaviour/oscillation", "behaviour/rules", "behaviour/labels",
        ]
    ),
    "ethogram": code_hash(["behaviour/ethogram", "behaviour/labels", "behaviour/evaluation"]),
}
# Targets, input functions and checks: brainbehave.behaviour.plan (tested there).
BEHAVIOUR_PLAN = BehaviourPlan(
    settings=BEHAVIOUR,
    sessions=COHORT.session_keys(),
    paths=PATHS,
    rules_file=resolve_rules_file(BEHAVIOUR["rules"], workflow.basedir),
)
# Unknown features or keypoints in the rule set stop the run here, when it is parsed.
BEHAVIOUR_PLAN.check(BEHAVIOUR["keypoints"] or (list(SYNTH_KEYPOINTS) if USE_SYNTH else None))

STAGE_TARGETS.append(BEHAVIOUR_PLAN.targets)


rule behaviour_rules:
    input:
        pose=PATHS.pose3d("{subject}", "{session}"),
        rules=BEHAVIOUR_PLAN.rules_file,
    output:
        # features and rule-based labels come from one job: both read the same view of the
        # pose, and a cohort has one job per session to plan and submit instead of two
        features=PATHS.behaviour_features("{subject}", "{session}"),
        labels=PATHS.behaviour_labels("{subject}", "{session}", "rules"),
        intervals=PATHS.behaviour_intervals("{subject}", "{session}", "rules"),
    log:
        PATHS.session_log("behaviour_rules", "{subject}", "{session}"),
    params:
        settings=BEHAVIOUR_PLAN.params("rules"),
        code=BEHAVIOUR_CODE["rules"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/behaviour.yaml"
    script:
        "scripts/behaviour_rules.py"


rule behaviour_mae_train:
    input:
        session_targets(PATHS.pose3d),
    output:
        PATHS.behaviour_mae_model(),
    cache: True
    log:
        PATHS.cohort_log("behaviour_mae_train"),
    params:
        settings=BEHAVIOUR_PLAN.params("mae"),
        checkpoint=PATHS.behaviour_mae_checkpoint(),
        device="auto" if BEHAVIOUR["mae"]["gpu"] else "cpu",
        code=BEHAVIOUR_CODE["mae"],
    threads: BEHAVIOUR["mae"]["threads"]
    resources:
        **BEHAVIOUR_PLAN.train_resources(),
    conda:
        "../envs/behaviour.yaml"
    script:
        "scripts/behaviour_mae_train.py"


rule behaviour_mae_embed:
    input:
        pose=PATHS.pose3d("{subject}", "{session}"),
        model=PATHS.behaviour_mae_model(),
    output:
        PATHS.behaviour_embeddings("{subject}", "{session}"),
    log:
        PATHS.session_log("behaviour_mae_embed", "{subject}", "{session}"),
    params:
        settings=BEHAVIOUR_PLAN.params("mae"),
        code=BEHAVIOUR_CODE["mae"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/behaviour.yaml"
    script:
        "scripts/behaviour_mae_embed.py"


rule behaviour_segment_fit:
    input:
        session_targets(PATHS.behaviour_embeddings),
    output:
        PATHS.behaviour_segmenter(),
    log:
        PATHS.cohort_log("behaviour_segment_fit"),
    params:
        settings=BEHAVIOUR_PLAN.params("segment"),
        code=BEHAVIOUR_CODE["segment"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/behaviour.yaml"
    script:
        "scripts/behaviour_segment_fit.py"


rule behaviour_segment:
    input:
        embeddings=PATHS.behaviour_embeddings("{subject}", "{session}"),
        segmenter=PATHS.behaviour_segmenter(),
    output:
        labels=PATHS.behaviour_labels("{subject}", "{session}", "mae"),
        intervals=PATHS.behaviour_intervals("{subject}", "{session}", "mae"),
    log:
        PATHS.session_log("behaviour_segment", "{subject}", "{session}"),
    params:
        code=BEHAVIOUR_CODE["segment"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/behaviour.yaml"
    script:
        "scripts/behaviour_segment.py"


rule behaviour_ethogram:
    input:
        rules=PATHS.behaviour_labels("{subject}", "{session}", "rules"),
        mae=BEHAVIOUR_PLAN.mae_labels,
        truth=session_truth,
    output:
        PATHS.behaviour_ethogram("{subject}", "{session}"),
    log:
        PATHS.session_log("behaviour_ethogram", "{subject}", "{session}"),
    params:
        code=BEHAVIOUR_CODE["ethogram"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/behaviour.yaml"
    script:
        "scripts/behaviour_ethogram.py"
