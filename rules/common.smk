# Validation of the config and cohort sheets, wildcard constraints and input functions.
# Everything here runs when the workflow is parsed: bad input stops the run before any job.
from pathlib import Path

from brainbehave.config import Cohort, load_cohort, validate_config
from brainbehave.dag_tuning import memoise_snakemake_helpers, tune_gc
from brainbehave.paths import Paths
from brainbehave.provenance import code_hash
from brainbehave.scheduler_fix import fix_single_job_resource_leak
from brainbehave.synth.settings import SynthSettings, camera_names, plan_cohort

# Fewer garbage-collector passes while Snakemake plans thousands of jobs (~10 % of a dry run of
# 1,000 sessions; brainbehave.dag_tuning). Affects this process only, not what runs.
tune_gc()
# Snakemake asks two pure helpers the same questions for every job (an input function's
# signature, whether a script path is a URI): remembered, ~2.5 s less per 1,000 sessions.
memoise_snakemake_helpers()
# Snakemake 9.10-9.15 does not book a lone ready job's cores yet frees them when it ends, so a
# local run drifts above --cores (snakemake#3815, #3913); brainbehave.scheduler_fix books them.
fix_single_job_resource_leak()

SCHEMAS = Path(workflow.basedir) / "config" / "schemas"

# Fill defaults and refuse unknown keys (a misspelt key is an error, not an ignored setting).
config.update(validate_config(config, SCHEMAS / "config.schema.yaml"))

PATHS = Paths(results=config["results"], logs=config["logs"])
SYNTH = SynthSettings.from_mapping(config["synth"])
USE_SYNTH = config["cohort"]["source"] == "synth"

if USE_SYNTH:
    # The virtual lab: the cohort is planned from the synth settings; its files are made
    # by the synth rules, so they are not checked for existence here.
    COHORT = Cohort(*plan_cohort(SYNTH, PATHS))
else:
    COHORT = load_cohort(config["cohort"]["sessions"], config["cohort"]["videos"], SCHEMAS)
# Sessions the config leaves out (e.g. those a --keep-going run reported failed): every stage's
# plan, the cohort-level rules included, is built without them.
COHORT = COHORT.without(config["cohort"]["exclude"])

ID = "[A-Za-z0-9][A-Za-z0-9_-]*"


wildcard_constraints:
    subject=ID,
    session=ID,
    camera=ID,


def session_targets(pattern_fn):
    """One target per session of the cohort from a Paths method."""
    return [pattern_fn(subject, session) for subject, session in COHORT.session_keys()]


def synth_targets():
    """Everything the virtual lab writes (empty for a cohort from sheets)."""
    if not USE_SYNTH:
        return []
    return [
        *session_targets(PATHS.synth_truth),
        PATHS.synth_dlc_project(),
        PATHS.synth_sheet("sessions"),
        PATHS.synth_sheet("videos"),
    ]


# -- input functions: a session's raw inputs, whether from the virtual lab or from sheets --
def session_nwb(wildcards):
    return COHORT.session(wildcards.subject, wildcards.session)["nwb"]


def session_calibration(wildcards):
    return COHORT.session(wildcards.subject, wildcards.session)["calibration"]


def session_truth(wildcards):
    """The virtual lab's ground truth of a session ([] for a cohort without truth)."""
    row = COHORT.session(wildcards.subject, wildcards.session)
    truth = row.get("truth")
    return [truth] if isinstance(truth, str) and truth else []


def session_video(wildcards):
    return COHORT.video(wildcards.subject, wildcards.session, wildcards.camera)


def session_cameras(subject, session):
    return COHORT.cameras(subject, session)


# Each stage's rule file appends a function returning its final targets.
STAGE_TARGETS = []


def all_targets():
    """The final outputs of every stage that exists."""
    return synth_targets() + [t for stage in STAGE_TARGETS for t in stage()]


onerror:
    # After a run with failures: list the failed sessions and how to leave them out of the
    # cohort-level rules (brainbehave.report.failed_sessions_message).
    from snakemake.logging import logger

    from brainbehave.report import failed_sessions_message

    logs = [log] if isinstance(log, str) else list(log or [])
    text = "".join(Path(p).read_text() for p in logs if Path(p).is_file())
    message = failed_sessions_message(text, ["/".join(k) for k in COHORT.session_keys()])
    if message:
        logger.error(message)
