"""Input functions and targets of the neural rules (``rules/neural.smk``), from the cohort.

Kept in the package so the rule file holds no logic and the planning is tested here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from brainbehave.paths import Paths


def _cell(row: Mapping[str, Any], key: str) -> Any:
    value = row.get(key)
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


@dataclass(frozen=True)
class NeuralPlan:
    """Input functions and targets of the neural rules, from the cohort (tested here).

    Parameters
    ----------
    sessions, videos
        The cohort sheets (:class:`brainbehave.config.Cohort`'s tables).
    paths
        The output layout.
    label_sources
        Behaviour label sources whose labels are aligned (``rules``, and ``mae`` when the
        behaviour MAE is enabled).
    latent_models
        Enabled latent models whose embeddings go into the derived NWB.
    """

    sessions: pd.DataFrame
    videos: pd.DataFrame
    paths: Paths
    label_sources: Sequence[str] = ("rules",)
    latent_models: Sequence[str] = ()

    # The sheets indexed once: input functions run for every job, and filtering the tables on
    # each call dominated planning time for large cohorts (benchmarks/scale_dag.py).
    @cached_property
    def _rows(self) -> dict[tuple[str, str], dict]:
        return {(r["subject"], r["session"]): r for r in self.sessions.to_dict("records")}

    @cached_property
    def _cameras(self) -> dict[tuple[str, str], dict[str, dict]]:
        out: dict[tuple[str, str], dict[str, dict]] = {}
        for r in self.videos.to_dict("records"):
            out.setdefault((r["subject"], r["session"]), {})[r["camera"]] = {
                "frame_times": _cell(r, "frame_times"),
                "video": r["video"],
            }
        return out

    def _row(self, wildcards: Any) -> Mapping[str, Any]:
        try:
            return dict(self._rows[(wildcards.subject, wildcards.session)])
        except KeyError:
            raise KeyError(
                f"No session {wildcards.subject}/{wildcards.session} in the cohort."
            ) from None

    def cameras(self, wildcards: Any) -> dict[str, dict]:
        """Per camera: its frame-times file (None when the sheet has none) and its video."""
        found = self._cameras.get((wildcards.subject, wildcards.session), {})
        return {camera: dict(entry) for camera, entry in found.items()}

    def camera_names(self, wildcards: Any) -> list[str]:
        """The session's cameras in sheet order (the order of :meth:`pose2d_inputs`)."""
        return list(self.cameras(wildcards))

    def sync_inputs(self, wildcards: Any) -> list[str]:
        """Files the sync reads per camera: frame times, else the video (to count frames)."""
        return [c["frame_times"] or c["video"] for c in self.cameras(wildcards).values()]

    def sync_params(self, wildcards: Any) -> dict[str, Any]:
        """Cameras, fps, sync series and sheet offset/drift of a session."""
        row = self._row(wildcards)
        fps = _cell(row, "fps")
        return {
            "cameras": self.cameras(wildcards),
            "fps": None if fps is None else float(fps),
            "sync_series": _cell(row, "sync_series"),
            "offset_s": _cell(row, "sync_offset_s"),
            "drift_ppm": _cell(row, "sync_drift_ppm"),
        }

    def pose2d_inputs(self, wildcards: Any) -> list[str]:
        """The cleaned 2D pose of every camera of the session, in sheet order."""
        return [
            self.paths.pose2d(wildcards.subject, wildcards.session, cam)
            for cam in self.camera_names(wildcards)
        ]

    def labels_inputs(self, wildcards: Any) -> list[str]:
        """The per-frame labels of every enabled source (order of ``label_sources``)."""
        return [
            self.paths.behaviour_labels(wildcards.subject, wildcards.session, source)
            for source in self.label_sources
        ]

    def latents_inputs(self) -> list[str]:
        """Every enabled latent model's fit folder (order of ``latent_models``): one input per
        model, the same for every session, so planning stays linear in sessions."""
        return [self.paths.latents_fit_dir(model) for model in self.latent_models]

    def latents_files(self, wildcards: Any) -> list[str]:
        """The session's embedding file inside each fit folder of :meth:`latents_inputs`."""
        return [
            self.paths.latents_embedding(model, wildcards.subject, wildcards.session)
            for model in self.latent_models
        ]

    def targets(self) -> list[str]:
        """The aligned dataset and the derived NWB of every session."""
        keys = list(zip(self.sessions["subject"], self.sessions["session"], strict=True))
        return [self.paths.neural_aligned(s, j) for s, j in keys] + [
            self.paths.neural_derived_nwb(s, j) for s, j in keys
        ]
