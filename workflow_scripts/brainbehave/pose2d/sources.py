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


def _source_from(record: dict, subject: str, session: str, camera: str) -> VideoSource:
    source = VideoSource(
        subject=subject,
        session=session,
        camera=camera,
        video=str(record["video"]),
        pose=_text(record.get("pose")),
        pose_format=_text(record.get("pose_format")),
    )
    if source.imported and source.pose_format is None:
        raise ConfigError(
            f"{source.where}: the videos sheet gives a pose file ({source.pose}) but no "
            "pose_format; set it to dlc, sleap or lightning_pose."
        )
    return source


def _lookup(
    index: dict[tuple[str, str], dict[str, dict]], subject: str, session: str, camera: str
) -> VideoSource:
    cameras = index.get((subject, session))
    if not cameras:
        raise ConfigError(
            f"Session {subject}/{session} has no rows in the videos sheet; add its cameras' "
            "videos there."
        )
    if camera not in cameras:
        raise ConfigError(
            f"{subject}/{session}: camera {camera!r} is not in the videos sheet (it lists "
            f"{sorted(cameras)}). Add a row for it, or ask only for listed cameras."
        )
    return _source_from(cameras[camera], subject, session, camera)


def _index(videos: pd.DataFrame) -> dict[tuple[str, str], dict[str, dict]]:
    """(subject, session) -> camera -> videos-sheet record, in sheet order."""
    index: dict[tuple[str, str], dict[str, dict]] = {}
    for rec in videos.to_dict("records"):
        index.setdefault((str(rec["subject"]), str(rec["session"])), {})[str(rec["camera"])] = rec
    return index


def video_source(videos: pd.DataFrame, subject: str, session: str, camera: str) -> VideoSource:
    """The videos-sheet row of one camera of one session.

    Raises
    ------
    ConfigError
        The camera (or session) is not in the sheet, or a ``pose`` file has no
        ``pose_format``; the message lists the cameras the sheet has for that session.
    """
    return _lookup(_index(videos), subject, session, camera)


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

    def __post_init__(self) -> None:
        # Index the sheet once: input functions run for every job, and filtering the table
        # on each call dominated planning time for large cohorts (benchmarks/scale_dag.py).
        object.__setattr__(self, "_index", _index(self.videos))
        object.__setattr__(self, "_sources", {})

    def source(self, subject: str, session: str, camera: str) -> VideoSource:
        """The videos-sheet row of one camera (see :func:`video_source`)."""
        key = (subject, session, camera)
        if key not in self._sources:
            self._sources[key] = _lookup(self._index, subject, session, camera)
        return self._sources[key]

    def keys(self) -> list[tuple[str, str, str]]:
        """(subject, session, camera) of every video, in sheet order."""
        return [(s, j, c) for (s, j), cams in self._index.items() for c in cams]

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

    def train_inputs(self, wildcards=None) -> list[str]:
        """The training rule's input files: the virtual lab's project folder (a rule's output),
        or a lab project file by file (:func:`~brainbehave.pose2d.project.project_files`:
        Snakemake's cache hashes files, not folders; new labels rerun training)."""
        from brainbehave.pose2d.project import project_files

        project = self.train_project()
        if project == self.paths.synth_dlc_project():
            return [project]
        return project_files(project)

    def model_input(self, wildcards) -> list[str]:
        """The analyse rule's model input (none for SuperAnimal)."""
        return [self.paths.pose2d_model()] if self.method == "train" else []

    def raw_input(self, wildcards) -> str:
        """The cleaning rule's pose: the lab's file (imported as it is cleaned), or the pose
        inferred from the video."""
        source = self.source(wildcards.subject, wildcards.session, wildcards.camera)
        if source.imported:
            return source.pose
        return self.paths.pose2d_raw(source.subject, source.session, source.camera)

    def imported_video(self, wildcards) -> list[str]:
        """The cleaning rule's video: [the video] for an imported file (its fps and length are
        checked against the file), [] for inferred pose (the inference read it)."""
        source = self.source(wildcards.subject, wildcards.session, wildcards.camera)
        return [source.video] if source.imported else []

    def pose_format(self, wildcards) -> str | None:
        """The cleaning rule's format of an imported file (None: inferred here)."""
        return self.source(wildcards.subject, wildcards.session, wildcards.camera).pose_format

    def session_poses(self, wildcards) -> list[str]:
        """Cleaned pose of every camera of one session."""
        key = (wildcards.subject, wildcards.session)
        return [self.paths.pose2d(*key, c) for c in self._index.get(key, {})]

    def targets(self) -> list[str]:
        """Cleaned pose of every camera, the model's evaluation and (with truth) accuracy."""
        out = [self.paths.pose2d(*key) for key in self.keys()]
        if self.needs_model():
            out.append(self.paths.pose2d_evaluation())
        if self.with_truth:
            out += [self.paths.pose2d_accuracy(s, j) for s, j in self.sessions()]
        return out
