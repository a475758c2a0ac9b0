"""What the pose3d rules need from the cohort: targets and input functions (cheap, no numba).

The workflow builds one :class:`Pose3dPlan` when it is parsed; its methods are the rules' target
list and input functions, kept here (not in the rule file) so tests reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brainbehave.config import Cohort
from brainbehave.paths import Paths


@dataclass(frozen=True)
class Pose3dPlan:
    """Triangulation targets of a cohort.

    Parameters
    ----------
    cohort
        The validated cohort (sessions and their cameras).
    paths
        The output layout.
    """

    cohort: Cohort
    paths: Paths

    def sessions(self) -> list[tuple[str, str]]:
        """Sessions with at least two cameras (one camera cannot be triangulated)."""
        return [
            (subject, session)
            for subject, session in self.cohort.session_keys()
            if len(self.cohort.cameras(subject, session)) >= 2
        ]

    def targets(self) -> list[str]:
        """3D pose and QC of every session that can be triangulated."""
        return [
            path
            for subject, session in self.sessions()
            for path in (
                self.paths.pose3d(subject, session),
                self.paths.pose3d_qc(subject, session),
            )
        ]

    def cameras(self, wildcards: Any) -> list[str]:
        """Camera names of a session, in sheet order (the order of :meth:`pose2d_inputs`)."""
        return self.cohort.cameras(wildcards.subject, wildcards.session)

    def pose2d_inputs(self, wildcards: Any) -> list[str]:
        """The 2D pose file of each camera of a session."""
        return [
            self.paths.pose2d(wildcards.subject, wildcards.session, camera)
            for camera in self.cameras(wildcards)
        ]
