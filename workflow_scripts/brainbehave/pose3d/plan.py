"""What the pose3d rules need from the cohort: targets and input functions (cheap, no numba).

The workflow builds one :class:`Pose3dPlan` when it is parsed; its methods are the rules' target
list and input functions, kept here (not in the rule file) so tests reach them.

Each session gets its 3D pose one way:

- **triangulated** (``pose3d_triangulate``): two or more cameras, not listed in
  ``pose3d.lift.sessions``;
- **lifted** (``pose3d_lift``): one camera, or listed in ``pose3d.lift.sessions`` (lifted from
  ``pose3d.lift.camera``, default its first camera), when ``pose3d.lift.enabled``; the network
  (``pose3d_lift_train``) learns from the triangulated sessions.

The two rules write the same file; for the other kind of session each input function names a
file no rule makes (:func:`not_this_route`), which Snakemake reads, quietly, as "this rule
cannot make that file", so exactly one rule applies to each session. (Raising in the input
function works too, but Snakemake then prints a warning per job.) The lifting rules are
defined only when some session is lifted (``rules/pose3d.smk``): otherwise Snakemake would build
and drop a ``pose3d_lift`` job for every session while planning.

A session's ``calibration`` (sessions sheet) names a ``calibration.toml`` or a folder of
ChArUco board videos, one per camera (``<camera>.<ext>``); for a folder, ``pose3d_calibrate``
computes the calibration into ``Paths.pose3d_calibration``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainbehave.config import Cohort
from brainbehave.errors import ConfigError
from brainbehave.paths import Paths

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


def not_this_route(key: tuple[str, str], what: str) -> str:
    """A path no rule makes: the input of a rule for a session it does not handle.

    Should every route fail, Snakemake's message lists it, e.g.
    ``(pose3d-route)/rat01/ses01/triangulated-not-lifted``.
    """
    return f"(pose3d-route)/{key[0]}/{key[1]}/{what}"


@dataclass(frozen=True, repr=False)  # a repr of the cohort tables would fill lint messages
class Pose3dPlan:
    """Triangulation and lifting targets of a cohort.

    Parameters
    ----------
    cohort
        The validated cohort (sessions and their cameras).
    paths
        The output layout.
    lift
        The ``pose3d.lift`` config block (``enabled``, ``sessions``, ``camera``, ``target``).
    """

    cohort: Cohort
    paths: Paths
    lift: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Looked up once per job by the input functions: sets, computed once.
        object.__setattr__(self, "_tri_set", set(self._triangulated()))
        object.__setattr__(self, "_lift_set", set(self.lifted_sessions()))
        known = set(self.cohort.session_keys())
        forced = [tuple(s.split("/", 1)) for s in self.lift.get("sessions", [])]
        if unknown := sorted("/".join(k) for k in forced if k not in known):
            raise ConfigError(
                f"pose3d.lift.sessions: {unknown} are not sessions of the cohort; write each as "
                "subject/session, as in the sessions sheet."
            )
        if self.lift.get("target") == "truth":
            bare = ["/".join(k) for k in self._triangulated() if not self._truth(*k)]
            if bare and self.lifted_sessions():
                raise ConfigError(
                    f"pose3d.lift.target is 'truth' but sessions {bare[:5]} have no 'truth' file "
                    "(virtual lab only); set pose3d.lift.target: triangulated."
                )
        if self.lifted_sessions() and not self.training_sessions():
            raise ConfigError(
                f"Sessions {['/'.join(k) for k in self.lifted_sessions()][:5]} are to be lifted "
                "from one camera, but no session of the cohort has two or more cameras to train "
                "the lifting network on. Add multi-camera sessions or set pose3d.lift.enabled: "
                "false (those sessions then get no 3D pose)."
            )
        single = [k for k in self.cohort.session_keys() if len(self.cohort.cameras(*k)) < 2]
        if single and not self.lift.get("enabled", False):
            logger.warning(
                "pose3d: %d one-camera session(s) get no 3D pose (pose3d.lift.enabled is false)",
                len(single),
            )

    # -- which session goes which way --
    def _forced(self) -> set[tuple[str, str]]:
        return {tuple(s.split("/", 1)) for s in self.lift.get("sessions", [])}

    def _triangulated(self) -> list[tuple[str, str]]:
        forced = self._forced() if self.lift.get("enabled", False) else set()
        return [
            k
            for k in self.cohort.session_keys()
            if len(self.cohort.cameras(*k)) >= 2 and k not in forced
        ]

    def _truth(self, subject: str, session: str) -> str | None:
        truth = self.cohort.session(subject, session).get("truth")
        return truth if isinstance(truth, str) and truth else None

    def sessions(self) -> list[tuple[str, str]]:
        """Sessions triangulated (two or more cameras, not to be lifted)."""
        return self._triangulated()

    def lifted_sessions(self) -> list[tuple[str, str]]:
        """Sessions lifted from one camera (empty when lifting is disabled)."""
        if not self.lift.get("enabled", False):
            return []
        forced = self._forced()
        return [
            k
            for k in self.cohort.session_keys()
            if len(self.cohort.cameras(*k)) == 1 or k in forced
        ]

    def training_sessions(self) -> list[tuple[str, str]]:
        """Sessions the lifting network learns from: the triangulated ones."""
        return self._triangulated()

    def targets(self) -> list[str]:
        """3D pose and QC of every session, plus the lifting model when it is used."""
        keys = self._tri_set | self._lift_set
        out = [
            path
            for subject, session in self.cohort.session_keys()
            if (subject, session) in keys
            for path in (
                self.paths.pose3d(subject, session),
                self.paths.pose3d_qc(subject, session),
            )
        ]
        if self.lifted_sessions():
            out += [self.paths.pose3d_lift_model(), self.paths.pose3d_lift_evaluation()]
        return out

    # -- input functions --
    def cameras(self, wildcards: Any) -> list[str]:
        """Camera names of a session, in sheet order (the order of :meth:`pose2d_inputs`)."""
        return self.cohort.cameras(wildcards.subject, wildcards.session)

    def pose2d_inputs(self, wildcards: Any) -> list[str]:
        """The 2D pose file of each camera of a triangulated session."""
        key = (wildcards.subject, wildcards.session)
        if key not in self._tri_set:
            return [not_this_route(key, "not-triangulated")]
        return [self.paths.pose2d(*key, camera) for camera in self.cameras(wildcards)]

    def lift_camera(self, wildcards: Any) -> str:
        """The camera a lifted session is lifted from."""
        cams = self.cameras(wildcards)
        wanted = self.lift.get("camera")
        if len(cams) > 1 and wanted:
            if wanted not in cams:
                raise ConfigError(
                    f"pose3d.lift.camera {wanted!r} is not a camera of session "
                    f"{wildcards.subject}/{wildcards.session} (it has {cams})."
                )
            return wanted
        return cams[0]

    def lift_inputs(self, wildcards: Any) -> dict[str, str]:
        """2D pose of the lifted camera, calibration, model, and truth when there is one."""
        key = (wildcards.subject, wildcards.session)
        if key not in self._lift_set:
            return {"route": not_this_route(key, "not-lifted")}
        out = {
            "pose2d": self.paths.pose2d(*key, self.lift_camera(wildcards)),
            "calibration": self.calibration(wildcards),
            "model": self.paths.pose3d_lift_model(),
        }
        if truth := self._truth(*key):
            out["truth"] = truth
        return out

    def training_specs(self) -> list[dict[str, Any]]:
        """Files of each training session (plain dicts: rule params)."""
        kind = self.lift.get("target", "triangulated")
        specs = []
        for subject, session in self.training_sessions():
            cams = self.cohort.cameras(subject, session)
            specs.append(
                {
                    "subject": subject,
                    "session": session,
                    "pose2d": {c: self.paths.pose2d(subject, session, c) for c in cams},
                    "calibration": self._calibration(subject, session),
                    "target": (
                        self._truth(subject, session)
                        if kind == "truth"
                        else self.paths.pose3d(subject, session)
                    ),
                    "target_kind": kind,
                }
            )
        return specs

    def training_inputs(self, wildcards: Any = None) -> list[str]:
        """Every file :meth:`training_specs` names (the training rule's input)."""
        files = []
        for spec in self.training_specs():
            files += [*spec["pose2d"].values(), spec["calibration"]]
            files += [spec["target"]] if spec["target"] else []
        return files

    # -- calibration --
    def _calibration(self, subject: str, session: str) -> str:
        value = str(self.cohort.session(subject, session)["calibration"])
        if Path(value).is_dir():
            return self.paths.pose3d_calibration(subject, session)
        return value

    def calibration(self, wildcards: Any) -> str:
        """The session's calibration.toml: the sheet's file, or the one computed from videos."""
        return self._calibration(wildcards.subject, wildcards.session)

    def calibration_videos(self, wildcards: Any) -> dict[str, str]:
        """The board video of each camera of a session whose sheet names a video folder."""
        key = (wildcards.subject, wildcards.session)
        folder = Path(str(self.cohort.session(*key)["calibration"]))
        if not folder.is_dir():
            return {"route": not_this_route(key, "calibration-is-a-file-not-videos")}
        found = {p.stem: str(p) for p in sorted(folder.iterdir()) if p.suffix in VIDEO_SUFFIXES}
        cams = self.cohort.cameras(*key)
        if missing := [c for c in cams if c not in found]:
            raise ConfigError(
                f"session {'/'.join(key)}: calibration folder {folder} has no board video for "
                f"cameras {missing} (found {sorted(found)}); name them <camera>.mp4."
            )
        return {c: found[c] for c in cams}
