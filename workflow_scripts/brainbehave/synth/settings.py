"""Virtual-lab settings and the cohort they describe (cheap: no simulation, no heavy imports).

The workflow imports this module when it is parsed, to plan the cohort's sessions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from brainbehave.paths import Paths
from brainbehave.synth.arena import Arena


@dataclass(frozen=True)
class SynthSettings:
    """Parameters of the virtual lab (the ``synth`` block of the config)."""

    seed: int = 0
    subjects: int = 2
    sessions_per_subject: int = 2
    duration_s: float = 60.0
    fps: float = 30.0
    cameras: int = 3
    image_size: tuple[int, int] = (256, 192)
    arena_size_mm: float = 600.0
    n_units: int = 120
    n_latents: int = 3
    dropped_frames: int = 4
    path: str = "random"
    trajectories_dir: str = "../shared/data/ratinabox_trajectories"
    rig_jitter_mm: float = 5.0
    rig_jitter_deg: float = 1.0
    dlc_labelled_frames: int = 120
    dlc_scorer: str = "virtuallab"

    @classmethod
    def from_mapping(cls, values: Mapping) -> SynthSettings:
        """Build from a config mapping; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(values) - names):
            raise ValueError(f"Unknown synth setting(s) {unknown}; known: {sorted(names)}.")
        kwargs = dict(values)
        if "image_size" in kwargs:
            kwargs["image_size"] = tuple(int(v) for v in kwargs["image_size"])
        return cls(**kwargs)

    @property
    def n_frames(self) -> int:
        """Camera exposures per session."""
        return max(1, int(round(self.duration_s * self.fps)))

    def session_params(self) -> dict:
        """The settings a session's files depend on.

        Streams are keyed by subject and session index, so the cohort's size and the DLC
        project's settings do not change an existing session: leaving them out lets
        Snakemake rerun only what a settings change really affects.
        """
        skip = {"subjects", "sessions_per_subject", "dlc_labelled_frames", "dlc_scorer"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def labelling_params(self) -> dict:
        """The settings the DeepLabCut project depends on."""
        skip = {"subjects", "sessions_per_subject", "n_units", "n_latents", "dropped_frames"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def arena(self) -> Arena:
        """The arena, its object scaled with the floor size."""
        scale = self.arena_size_mm / 600.0
        return Arena(
            size_mm=self.arena_size_mm,
            object_xy_mm=(140.0 * scale, -120.0 * scale),
            object_radius_mm=35.0 * scale,
        )


SUBJECT_PREFIX, SESSION_PREFIX = "rat", "ses"


def subject_ids(settings: SynthSettings) -> list[str]:
    """IDs of the virtual subjects."""
    return [f"{SUBJECT_PREFIX}{i + 1:02d}" for i in range(settings.subjects)]


def session_ids(settings: SynthSettings) -> list[str]:
    """IDs of each subject's sessions."""
    return [f"{SESSION_PREFIX}{j + 1:02d}" for j in range(settings.sessions_per_subject)]


def session_index(subject: str, session: str) -> tuple[int, int]:
    """(subject, session) indices encoded in virtual-lab IDs (``rat03`` -> 2), which key the
    random streams: independent of the cohort's size."""
    out = []
    for value, prefix, what in (
        (subject, SUBJECT_PREFIX, "subject"),
        (session, SESSION_PREFIX, "session"),
    ):
        digits = value[len(prefix) :]
        if not value.startswith(prefix) or not digits.isdigit() or int(digits) < 1:
            raise KeyError(
                f"{what} {value!r} is not a virtual-lab ID (expected {prefix}01, {prefix}02, ...)."
            )
        out.append(int(digits) - 1)
    return out[0], out[1]


def camera_names(settings: SynthSettings) -> list[str]:
    """Names of the virtual cameras."""
    return [f"cam{chr(ord('A') + i)}" for i in range(settings.cameras)]


def plan_cohort(settings: SynthSettings, paths: Paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sessions and videos sheets of the cohort, without generating anything."""
    sessions, videos = [], []
    for subject in subject_ids(settings):
        for session in session_ids(settings):
            sessions.append(
                {
                    "subject": subject,
                    "session": session,
                    "nwb": paths.synth_nwb(subject, session),
                    "calibration": paths.synth_calibration(subject, session),
                    "fps": float(settings.fps),
                    "sync_series": "video_frame_ttl",
                    "truth": paths.synth_truth(subject, session),
                }
            )
            for camera in camera_names(settings):
                videos.append(
                    {
                        "subject": subject,
                        "session": session,
                        "camera": camera,
                        "video": paths.synth_video(subject, session, camera),
                        "frame_times": paths.synth_frame_times(subject, session, camera),
                    }
                )
    return pd.DataFrame(sessions), pd.DataFrame(videos)
