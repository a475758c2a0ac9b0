# The virtual lab: a synthetic cohort with ground truth at every stage (the demo cohort).

# Code of the package that the synth rules run: part of params, so an edit reruns them.
SYNTH_CODE = code_hash(["synth", "calibration", "nwb/synth", "nwb/read", "truth", "paths"])


rule synth_session:
    output:
        videos=[PATHS.synth_video("{subject}", "{session}", c) for c in camera_names(SYNTH)],
        frame_times=[
            PATHS.synth_frame_times("{subject}", "{session}", c) for c in camera_names(SYNTH)
        ],
        calibration=PATHS.synth_calibration("{subject}", "{session}"),
        nwb=PATHS.synth_nwb("{subject}", "{session}"),
        truth=PATHS.synth_truth("{subject}", "{session}"),
    log:
        PATHS.session_log("synth_session", "{subject}", "{session}"),
    params:
        settings=SYNTH.session_params(),
        cameras=camera_names(SYNTH),
        code=SYNTH_CODE,
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    conda:
        "../envs/synth.yaml"
    script:
        "scripts/synth_session.py"


rule synth_dlc_project:
    output:
        directory(PATHS.synth_dlc_project()),
    log:
        PATHS.cohort_log("synth_dlc_project"),
    params:
        settings=SYNTH.labelling_params(),
        code=SYNTH_CODE,
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    conda:
        "../envs/synth.yaml"
    script:
        "scripts/synth_dlc_project.py"


rule synth_sheets:
    input:
        session_targets(PATHS.synth_truth),
    output:
        sessions=PATHS.synth_sheet("sessions"),
        videos=PATHS.synth_sheet("videos"),
    log:
        PATHS.cohort_log("synth_sheets"),
    params:
        # the planned cohort (paths as the synth rules write them), written out as sheets
        sessions=COHORT.sessions.to_dict("records"),
        videos=COHORT.videos.to_dict("records"),
    localrule: True
    conda:
        "../envs/synth.yaml"
    script:
        "scripts/synth_sheets.py"
