# The cohort report: one self-contained HTML page (brainbehave.report) with per-session QC,
# ethograms, 3D skeleton snapshots, latent embeddings and the scorecards. Its output is flagged
# for Snakemake's own report too: `snakemake --report results/report.zip` wraps it with the run's
# provenance (rules, parameters, software, runtimes).
from brainbehave.report import ReportPlan, report_notes
from brainbehave.synth.skeleton import EDGES as SYNTH_EDGES


REPORT_PLAN = ReportPlan(
    sessions=[(s, j, COHORT.cameras(s, j)) for s, j in COHORT.session_keys()],
    paths=PATHS,
    with_truth=USE_SYNTH,
    with_model=POSE2D_PLAN.needs_model(),
    latent_models=list(LATENTS_PLAN.models) if config["latents"]["enabled"] else [],
    notes=report_notes(
        mae=config["behaviour"]["mae"]["enabled"],
        latents=config["latents"]["enabled"],
        truth=USE_SYNTH,
        model=POSE2D_PLAN.needs_model(),
        excluded=config["cohort"]["exclude"],
    ),
)
STAGE_TARGETS.append(lambda: [PATHS.report_html()])


rule report_cohort:
    input:
        unpack(REPORT_PLAN.inputs),
    output:
        report(
            PATHS.report_html(),
            caption="report/cohort.rst",
            category="Cohort report",
        ),
    log:
        PATHS.cohort_log("report_cohort"),
    params:
        sessions=REPORT_PLAN.session_names(),
        cameras=REPORT_PLAN.cameras(),
        notes=REPORT_PLAN.notes,
        # the virtual lab's skeleton; a cohort from sheets gets points without edges
        edges=[list(e) for e in SYNTH_EDGES] if USE_SYNTH else [],
        code=code_hash(["report", "pose", "paths"]),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/latents.yaml"
    script:
        "scripts/report_cohort.py"
