"""Assemble a virtual-lab cohort: sessions, DeepLabCut project and cohort sheets.

Everything is deterministic from ``SynthSettings.seed``. Each session draws from its own
random streams (``SeedSequence([seed, subject, session, component])``), so a session's files
do not depend on which other sessions exist or on the order they are generated in; the
neurons are fixed per subject (a chronic implant) and the camera rig is shared by the cohort
with a small per-session perturbation (each session has its own calibration file).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from brainbehave import provenance
from brainbehave.atomic import atomic_path
from brainbehave.calibration import write_calibration
from brainbehave.config import write_cohort_sheets
from brainbehave.nwb import write_synth_nwb
from brainbehave.paths import Paths
from brainbehave.synth import behaviour as bhv
from brainbehave.synth import body as bdy
from brainbehave.synth import clock as clk
from brainbehave.synth import neurons as nrn
from brainbehave.synth.dlc_project import write_dlc_project
from brainbehave.synth.render import render_session_videos
from brainbehave.synth.rig import make_rig
from brainbehave.synth.settings import (
    SynthSettings,
    camera_names,
    plan_cohort,
    session_ids,
    session_index,
    subject_ids,
)
from brainbehave.synth.skeleton import EDGES, KEYPOINTS
from brainbehave.truth import SessionTruth, write_truth

logger = logging.getLogger(__name__)

# Random-stream components: fixed numbers, so adding a component never shifts the others.
_RIG, _POPULATION, _LABELLING = 1, 2, 3
_BEHAVIOUR, _BODY, _CLOCK, _LATENTS, _SPIKES, _RENDER, _JITTER, _PATH = range(10, 18)
_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _rng(settings: SynthSettings, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([settings.seed, *key]))


def session_rig(settings: SynthSettings, subject: str, session: str) -> list:
    """The cameras of one session: the cohort rig with the session's small perturbation."""
    si, sj = session_index(subject, session)
    return _rig(settings, _rng(settings, si, sj, _JITTER))


def _rig(settings: SynthSettings, jitter_rng: np.random.Generator) -> list:
    return make_rig(
        settings.cameras,
        settings.image_size,
        settings.arena(),
        _rng(settings, _RIG),
        jitter_rng=jitter_rng,
        jitter_mm=settings.rig_jitter_mm,
        jitter_deg=settings.rig_jitter_deg,
    )


@dataclass(frozen=True)
class SessionFiles:
    """Where one session's files go (the rule's declared outputs)."""

    videos: Mapping[str, str | Path]
    frame_times: Mapping[str, str | Path]
    calibration: str | Path
    nwb: str | Path
    truth: str | Path

    @classmethod
    def from_paths(
        cls, paths: Paths, settings: SynthSettings, subject: str, session: str
    ) -> SessionFiles:
        """The pipeline's layout for one session."""
        return cls(
            videos={c: paths.synth_video(subject, session, c) for c in camera_names(settings)},
            frame_times={
                c: paths.synth_frame_times(subject, session, c) for c in camera_names(settings)
            },
            calibration=paths.synth_calibration(subject, session),
            nwb=paths.synth_nwb(subject, session),
            truth=paths.synth_truth(subject, session),
        )


@dataclass(frozen=True)
class Motion:
    """Behaviour and body of one simulated recording."""

    behaviour: bhv.BehaviourTruth
    body: bdy.BodyTruth


def simulate_motion(settings: SynthSettings, n_frames: int, *key: int) -> Motion:
    """Hierarchical behaviour and the 3D body that performs it."""
    arena = settings.arena()
    behaviour = bhv.simulate_behaviour(n_frames, settings.fps, _rng(settings, *key, _BEHAVIOUR))
    path = None
    if settings.path != "random":
        path = bdy.load_real_path(
            settings.path, settings.trajectories_dir, arena, _rng(settings, *key, _PATH)
        )
    body = bdy.simulate_body(behaviour, settings.fps, arena, _rng(settings, *key, _BODY), path)
    return Motion(behaviour=behaviour, body=body)


def generate_session(
    settings: SynthSettings, subject: str, session: str, out: SessionFiles
) -> SessionTruth:
    """Simulate one session and write its videos, calibration, NWB and ground truth.

    Each file is written whole (temp file, then rename) to where ``out`` says.
    """
    t0 = time.perf_counter()
    si, sj = session_index(subject, session)
    n = settings.n_frames
    motion = simulate_motion(settings, n, si, sj)
    behaviour, body = motion.behaviour, motion.body
    clock = clk.simulate_clock(
        n, settings.fps, _rng(settings, si, sj, _CLOCK), n_dropped=settings.dropped_frames
    )
    population = nrn.make_population(
        settings.n_units,
        len(bhv.ACTIONS),
        settings.n_latents,
        settings.arena(),
        _rng(settings, si, _POPULATION),
    )
    latents = nrn.simulate_latents(
        n, settings.fps, settings.n_latents, _rng(settings, si, sj, _LATENTS)
    )
    rates = nrn.firing_rates(
        population, body.position, body.speed, body.head_direction, behaviour.action, latents
    )
    spikes = nrn.sample_spikes(
        rates, clock.exposure_times_video, settings.fps, _rng(settings, si, sj, _SPIKES)
    )
    cameras = session_rig(settings, subject, session)
    if set(out.videos) != {c.name for c in cameras}:
        raise ValueError(
            f"Video outputs are named for cameras {sorted(out.videos)}, but the virtual rig "
            f"has {[c.name for c in cameras]}."
        )
    video_paths = {name: Path(p) for name, p in out.videos.items()}
    for p in video_paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    frames = clock.video_exposure_index
    visible_frames = render_session_videos(
        video_paths,
        cameras,
        body.keypoints,
        settings.arena(),
        settings.fps,
        _rng(settings, si, sj, _RENDER),
        frames=frames,
    )
    for target in out.frame_times.values():
        write_frame_times(target, clock.exposure_times_video[frames])
    pose2d, visible = {}, {}
    for cam in cameras:
        pose2d[cam.name] = cam.project(body.keypoints)
        vis = np.zeros((n, len(KEYPOINTS)), dtype=bool)
        vis[frames] = visible_frames[cam.name]
        visible[cam.name] = vis
    prov = {"tool": "brainbehave synth", **provenance.versions(), **_settings_strings(settings)}
    write_calibration(
        out.calibration,
        cameras,
        metadata={"source": "brainbehave virtual lab", "units": "mm"},
    )
    write_synth_nwb(
        out.nwb,
        session_id=session,
        subject_id=subject,
        session_start_time=_EPOCH + timedelta(days=7 * si + sj),
        spike_times_neural=[clock.video_to_neural_sampled(s) for s in spikes],
        unit_kind=list(population.kind),
        ttl_times_neural=clock.ttl_times_neural,
        description=(
            f"Virtual-lab session {subject}/{session} (synthetic data, seed {settings.seed})."
        ),
        provenance=prov,
    )
    truth = SessionTruth(
        subject=subject,
        session=session,
        fps=settings.fps,
        keypoints=list(KEYPOINTS),
        level_names={
            "activity": list(bhv.ACTIVITIES),
            "action": list(bhv.ACTIONS),
            "primitive": list(bhv.PRIMITIVES),
        },
        labels={
            "activity": behaviour.activity,
            "action": behaviour.action,
            "primitive": behaviour.primitive,
        },
        pose3d=body.keypoints,
        pose2d=pose2d,
        visible=visible,
        body={
            "position": body.position,
            "heading": body.heading,
            "head_direction": body.head_direction,
            "speed": body.speed,
            "pitch": body.pitch,
        },
        latents=latents,
        exposure_times_video=clock.exposure_times_video,
        ttl_times_neural=clock.ttl_times_neural,
        dropped=clock.dropped,
        clock_offset_s=clock.offset_s,
        clock_drift_ppm=clock.drift_ppm,
        unit_kind=np.asarray(population.kind),
        attrs=prov,
    )
    write_truth(out.truth, truth)
    logger.info(
        "synth %s/%s: %d exposures (%d dropped), %d cameras, %d units in %.1f s",
        subject,
        session,
        n,
        int(clock.dropped.sum()),
        len(cameras),
        settings.n_units,
        time.perf_counter() - t0,
    )
    return truth


def _settings_strings(settings: SynthSettings) -> dict[str, str]:
    return {f"synth.{k}": str(v) for k, v in dataclasses.asdict(settings).items()}


def write_frame_times(path: str | Path, times_s: np.ndarray) -> None:
    """The camera's own timestamps of the saved frames (video clock), as acquisition software
    logs them beside each video: ``frame,timestamp_s``. Gaps of two frame periods are drops."""
    table = pd.DataFrame({"frame": np.arange(len(times_s)), "timestamp_s": np.round(times_s, 6)})
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def _pick_labelled_frames(
    action: np.ndarray, n_pick: int, rng: np.random.Generator, min_gap: int = 15
) -> np.ndarray:
    """Frames spread over actions (round robin) and time, so the labelled poses vary.

    Frames closer than ``min_gap`` to one already picked are skipped (no near-duplicates)
    until there are not enough left; then the rest is filled at random.
    """
    n_pick = min(n_pick, len(action))
    by_action = [rng.permutation(np.flatnonzero(action == a)) for a in np.unique(action)]
    longest = max(len(f) for f in by_action)
    order = [int(f[i]) for i in range(longest) for f in by_action if i < len(f)]
    picked: list[int] = []
    for f in order:
        if all(abs(f - p) >= min_gap for p in picked):
            picked.append(f)
            if len(picked) == n_pick:
                break
    if len(picked) < n_pick:
        rest = np.setdiff1d(np.arange(len(action)), picked)
        picked.extend(rng.choice(rest, n_pick - len(picked), replace=False).tolist())
    return np.sort(np.asarray(picked))


def generate_dlc_project(settings: SynthSettings, project_dir: str | Path) -> Path:
    """A DeepLabCut project labelled from the ground truth of separate labelling recordings.

    The labelled frames come from their own simulated recording (not a cohort session), so
    pose accuracy measured on the cohort is measured on unseen data. Frames are extracted
    from the encoded videos, as a lab would, and spread over actions for varied poses.
    """
    import cv2

    project_dir = Path(project_dir)
    staging = project_dir.parent / f".{project_dir.name}.videos"
    staging.mkdir(parents=True, exist_ok=True)
    n = max(settings.n_frames, int(round(60 * settings.fps)))
    motion = simulate_motion(settings, n, _LABELLING)
    cameras = _rig(settings, _rng(settings, _LABELLING, _JITTER))
    videos = {c.name: staging / f"label_{c.name}.mp4" for c in cameras}
    visibility = render_session_videos(
        videos,
        cameras,
        motion.body.keypoints,
        settings.arena(),
        settings.fps,
        _rng(settings, _LABELLING, _RENDER),
    )
    per_camera = -(-settings.dlc_labelled_frames // len(cameras))
    labelled = {}
    pick_rng = _rng(settings, _LABELLING, _SPIKES)
    for cam in cameras:
        frames = _pick_labelled_frames(motion.behaviour.action, per_camera, pick_rng)
        images = _read_frames(cv2, videos[cam.name], frames)
        uv = cam.project(motion.body.keypoints[frames])
        uv[~visibility[cam.name][frames]] = np.nan
        labelled[f"label_{cam.name}"] = (images, uv)
    config = write_dlc_project(
        project_dir,
        task="virtuallab",
        scorer=settings.dlc_scorer,
        bodyparts=list(KEYPOINTS),
        skeleton_edges=list(EDGES),
        labelled=labelled,
        videos={f"label_{c.name}": videos[c.name] for c in cameras},
    )
    for p in videos.values():
        p.unlink(missing_ok=True)
    staging.rmdir()
    return config


def _read_frames(cv2, video: Path, frames: np.ndarray) -> np.ndarray:
    """Decode the given frames (RGB) from an mp4 by reading it through once."""
    cap = cv2.VideoCapture(str(video))
    wanted, out, i = set(int(f) for f in frames), {}, 0
    try:
        while len(out) < len(wanted):
            ok, bgr = cap.read()
            if not ok:
                raise RuntimeError(f"{video}: could not decode frame {i}.")
            if i in wanted:
                out[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()
    return np.stack([out[int(f)] for f in frames])


def _generate_one(args: tuple[SynthSettings, str, str, Paths]) -> str:
    settings, subject, session, paths = args
    generate_session(
        settings, subject, session, SessionFiles.from_paths(paths, settings, subject, session)
    )
    return f"{subject}/{session}"


def generate_cohort(settings: SynthSettings, out_dir: str | Path, jobs: int = 1) -> Paths:
    """Generate the whole cohort under ``out_dir`` (the pipeline's layout) with ``jobs`` workers."""
    paths = Paths(results=str(Path(out_dir)))
    keys = [(s, j) for s in subject_ids(settings) for j in session_ids(settings)]
    work = [(settings, s, j, paths) for s, j in keys]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for done in pool.map(_generate_one, work):
                logger.info("done %s", done)
    else:
        for item in work:
            _generate_one(item)
    generate_dlc_project(settings, paths.synth_dlc_project())
    write_cohort_sheets(
        *plan_cohort(settings, paths), paths.synth_sheet("sessions"), paths.synth_sheet("videos")
    )
    return paths
