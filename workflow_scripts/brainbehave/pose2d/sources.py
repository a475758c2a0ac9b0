"""Where a video's 2D pose comes from: DeepLabCut inference, or a pose file the lab already has.

Cheap (no heavy imports): the workflow calls these when it is parsed, so a camera missing from
the videos sheet, or a ``pose`` file without its ``pose_format``, stops the run before any job.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from brainbehave.errors import ConfigError
from brainbehave.paths import Paths


@dataclass(frozen=True)
class VideoSource:
    """One camera of one session, as the videos sheet describes it."""

    subject: str
    session: str
    camera: str
    video: str
    pose: str | None = None
    pose_format: str | None = None

    @property
    def imported(self) -> bool:
        """True when the pose exists already (inference is skipped)."""
        return self.pose is not None

    @property
    def where(self) -> str:
        """How error messages name this video."""
        return f"{self.subject}/{self.session} camera {self.camera}"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def video_source(videos: pd.DataFrame, subject: str, session: str, camera: str) -> VideoSource:
    """The videos-sheet row of one camera of one session.

    Raises
    ------
    ConfigError
        The camera (or session) is not in the sheet, or a ``pose`` file has no
        ``pose_format``; the message lists the cameras the sheet has for that session.
    """
    rows = videos[(videos["subject"] == subject) & (videos["session"] == session)]
    if rows.empty:
        raise ConfigError(
            f"Session {subject}/{session} has no rows in the videos sheet; add its cameras' "
            "videos there."
        )
    row = rows[rows["camera"] == camera]
    if row.empty:
        raise ConfigError(
            f"{subject}/{session}: camera {camera!r} is not in the videos sheet (it lists "
            f"{sorted(rows['camera'])}). Add a row for it, or ask only for listed cameras."
        )
    rec = row.iloc[0].to_dict()
    source = VideoSource(
        subject=subject,
        session=session,
        camera=camera,
        video=str(rec["video"]),
        pose=_text(rec.get("pose")),
        pose_format=_text(rec.get("pose_format")),
    )
    if source.imported and source.pose_format is None:
        raise ConfigError(
            f"{source.where}: the videos sheet gives a pose file ({source.pose}) but no "
            "pose_format; set it to dlc, sleap or lightning_pose."
        )
    return source


@dataclass(frozen=True)
class Pose2dPlan:
    """Which file each pose2d rule reads and which files the stage delivers.

    The rules use its methods as input functions (called with Snakemake's wildcards), so
    the choices live here, where tests reach them, not in the rule file.

    Attributes
    ----------
    videos
        The cohort's videos sheet (subject, session, camera, video [, pose, pose_format]).
    paths
        The output layout.
    method
        ``train`` or ``superanimal``.
    project
        The DeepLabCut project to train on (None: not configured).
    with_truth
        Whether the cohort has ground truth (the virtual lab): adds the accuracy targets.
    """

    videos: pd.DataFrame
    paths: Paths
    method: str = "train"
    project: str | None = None
    with_truth: bool = False

    def source(self, subject: str, session: str, camera: str) -> VideoSource:
        """The videos-sheet row of one camera (see :func:`video_source`)."""
        return video_source(self.videos, subject, session, camera)

    def keys(self) -> list[tuple[str, str, str]]:
        """(subject, session, camera) of every video, in sheet order."""
        cols = self.videos[["subject", "session", "camera"]]
        return [tuple(str(v) for v in row) for row in cols.itertuples(index=False)]

    def sessions(self) -> list[tuple[str, str]]:
        """(subject, session) pairs, in sheet order."""
        return list(dict.fromkeys((s, j) for s, j, _ in self.keys()))

    def needs_model(self) -> bool:
        """Whether any video is analysed with a model trained here."""
        return self.method == "train" and any(not self.source(*k).imported for k in self.keys())

    def train_project(self, wildcards=None) -> str:
        """The training rule's input: the project folder, or an error saying what to set."""
        if not self.project:
            raise ConfigError(
                "pose2d.method is 'train' and some videos have no pose file, but "
                "pose2d.dlc_project is not set. Set it to your DeepLabCut project folder, give "
                "every video a pose file in the videos sheet, or use pose2d.method: superanimal."
            )
        return self.project

    def model_input(self, wildcards) -> list[str]:
        """The analyse rule's model input (none for SuperAnimal)."""
        return [self.paths.pose2d_model()] if self.method == "train" else []

    def raw_input(self, wildcards) -> str:
        """The cleaning rule's input: the imported pose, or the pose inferred from the video."""
        key = (wildcards.subject, wildcards.session, wildcards.camera)
        if self.source(*key).imported:
            return self.paths.pose2d_imported(*key)
        return self.paths.pose2d_raw(*key)

    def imported_file(self, wildcards) -> str:
        """The import rule's input: the pose file the videos sheet names."""
        source = self.source(wildcards.subject, wildcards.session, wildcards.camera)
        if not source.imported:
            raise ConfigError(f"{source.where}: no pose file in the videos sheet to import.")
        return source.pose

    def pose_format(self, wildcards) -> str | None:
        """The import rule's format parameter."""
        return self.source(wildcards.subject, wildcards.session, wildcards.camera).pose_format

    def session_poses(self, wildcards) -> list[str]:
        """Cleaned pose of every camera of one session."""
        return [
            self.paths.pose2d(s, j, c)
            for s, j, c in self.keys()
            if (s, j) == (wildcards.subject, wildcards.session)
        ]

    def targets(self) -> list[str]:
        """Cleaned pose of every camera, the model's evaluation and (with truth) accuracy."""
        out = [self.paths.pose2d(*key) for key in self.keys()]
        if self.needs_model():
            out.append(self.paths.pose2d_evaluation())
        if self.with_truth:
            out += [self.paths.pose2d_accuracy(s, j) for s, j in self.sessions()]
        return out
