# Stage 5: joint latent models of neural activity and behaviour (contrastive, hybrid,
# generative), fitted on the cohort's aligned sessions, and each model's trust scorecard.
# Labels come from the aligned datasets (the behaviour stage's); the virtual lab's ground truth
# (continuous behaviour, true latents; its labels only where an aligned dataset has none) is
# read beside them. A killed fit resumes from PATHS.latents_checkpoints on rerun. Each fit is one
# archive (cacheable), unpacked to the folder that latents_score and neural_nwb read.
from brainbehave.latents.plan import LatentsPlan, ModelSpec

LATENTS = config["latents"]
# Input functions and targets: brainbehave.latents.plan.LatentsPlan (tested there).
LATENTS_PLAN = LatentsPlan(
    sessions=COHORT.sessions,
    paths=PATHS,
    models={
        name: ModelSpec.from_config(name, cfg, LATENTS)
        for name, cfg in (LATENTS["models"].items() if LATENTS["enabled"] else [])
    },
)
# Code of the package that the latent rules run: part of params, so an edit reruns them.
LATENTS_CODE = code_hash(
    ["latents", "folder_archive", "align", "truth", "errors", "torch_device"]
)

STAGE_TARGETS.append(LATENTS_PLAN.targets)


rule latents_fit:
    wildcard_constraints:
        model=ID,
    input:
        aligned=LATENTS_PLAN.aligned(),
        truth=LATENTS_PLAN.truths(),
    output:
        # one file per model, not one per session (each session's neural_nwb reading those made
        # planning quadratic in sessions); an archive, not a folder: the cache restores a
        # folder with a stale time stamp (snakemake#3097). latents_unpack unpacks it.
        PATHS.latents_fit_archive("{model}"),
    log:
        PATHS.model_log("latents_fit", "{model}"),
    params:
        spec=LATENTS_PLAN.spec_of,
        sessions=LATENTS_PLAN.session_names(),
        members=LATENTS_PLAN.fit_members(),  # the model, then the embeddings in sheet order
        device="auto" if LATENTS["gpu"] else "cpu",
        checkpoints=PATHS.latents_checkpoints("{model}"),
        checkpoint_every=LATENTS["checkpoint_every"],
        code=LATENTS_CODE,
    threads: LATENTS["threads"]
    cache: True
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1 if LATENTS["gpu"] else 0,
    conda:
        "../envs/latents.yaml"
    script:
        "scripts/latents_fit.py"


rule latents_unpack:
    wildcard_constraints:
        model=ID,
    input:
        PATHS.latents_fit_archive("{model}"),
    output:
        directory(PATHS.latents_fit_dir("{model}")),
    log:
        PATHS.model_log("latents_unpack", "{model}"),
    params:
        members=LATENTS_PLAN.fit_members(),
        code=code_hash(["folder_archive", "errors"]),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../envs/latents.yaml"
    script:
        "scripts/latents_unpack.py"


rule latents_score:
    wildcard_constraints:
        model=ID,
    input:
        fit=PATHS.latents_fit_dir("{model}"),
    output:
        scorecard=PATHS.latents_scorecard("{model}"),
        plot=PATHS.latents_plot("{model}"),
    log:
        PATHS.model_log("latents_score", "{model}"),
    params:
        # the files inside the fit folder
        model=PATHS.latents_model("{model}"),
        embeddings=LATENTS_PLAN.embeddings("{model}"),
        code=LATENTS_CODE,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/latents.yaml"
    script:
        "scripts/latents_score.py"
