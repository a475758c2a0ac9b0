"""The one place that builds output paths.

Rules and package code both call these methods, so a file is named in exactly one place.
Every method formats plain strings: called with ``"{subject}"``-style arguments it returns the
Snakemake pattern, called with real IDs it returns the concrete path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """Output layout: ``<results>/<stage>/<subject>/<session>/…`` and ``<logs>/<rule>/…``.

    Parameters
    ----------
    results
        Root of all outputs.
    logs
        Root of all rule logs.
    """

    results: str = "results"
    logs: str = "logs"

    def _session(self, stage: str, subject: str, session: str) -> str:
        return f"{self.results}/{stage}/{subject}/{session}"

    # -- virtual lab ---------------------------------------------------------------------
    def synth_session_dir(self, subject: str, session: str) -> str:
        """Folder holding one virtual-lab session."""
        return self._session("synth", subject, session)

    def synth_video(self, subject: str, session: str, camera: str) -> str:
        """Rendered video of one camera."""
        return f"{self.synth_session_dir(subject, session)}/videos/{camera}.mp4"

    def synth_frame_times(self, subject: str, session: str, camera: str) -> str:
        """The camera's frame timestamps (video clock) of the saved frames."""
        return f"{self.synth_session_dir(subject, session)}/videos/{camera}_frame_times.csv"

    def synth_calibration(self, subject: str, session: str) -> str:
        """Anipose-style calibration of the session's cameras."""
        return f"{self.synth_session_dir(subject, session)}/calibration.toml"

    def synth_nwb(self, subject: str, session: str) -> str:
        """The session's neural recording (units, frame-sync TTL) as NWB."""
        return f"{self.synth_session_dir(subject, session)}/{subject}_{session}.nwb"

    def synth_truth(self, subject: str, session: str) -> str:
        """Ground truth of the session (labels, 3D, 2D, latents, clocks)."""
        return f"{self.synth_session_dir(subject, session)}/truth.h5"

    def synth_dlc_project(self) -> str:
        """DeepLabCut project of labelled frames rendered from the ground truth."""
        return f"{self.results}/synth/dlc_project"

    def synth_sheet(self, kind: str) -> str:
        """Cohort sheet (``sessions`` or ``videos``) describing the virtual-lab cohort."""
        return f"{self.results}/synth/{kind}.tsv"

    # -- stages: each stage adds its own section below, above the logs ------------------

    # -- logs ----------------------------------------------------------------------------
    def session_log(self, rule: str, subject: str, session: str) -> str:
        """Log of a per-session rule."""
        return f"{self.logs}/{rule}/{subject}/{session}.log"

    def cohort_log(self, rule: str) -> str:
        """Log of a cohort-level rule."""
        return f"{self.logs}/{rule}/cohort.log"

    def resolve(self, path: str) -> Path:
        """A path from this layout as a ``Path``."""
        return Path(path)
