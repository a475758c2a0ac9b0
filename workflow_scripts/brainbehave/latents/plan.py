"""The latent stage's configuration and plan: model specs from the config, rule targets.

Light to import (no torch, no xarray): the workflow reads it when it is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from brainbehave.errors import ConfigError
from brainbehave.latents.settings_keys import SETTINGS_KEYS

KINDS = ("contrastive", "hybrid", "generative")
_COMMON = {"seeds", "scope", "behaviour", "null_controls", "kind", "levels"}


def estimator_class(kind: str):
    """The estimator class of a model kind (imported on use: it needs torch)."""
    from brainbehave.latents import ContrastiveEmbedding, HybridEmbedding, PoissonVAE

    return {
        "contrastive": ContrastiveEmbedding,
        "hybrid": HybridEmbedding,
        "generative": PoissonVAE,
    }[kind]


def _accepted(kind: str) -> frozenset[str]:
    # a static table (kept equal to the estimators' signatures by a unit test): checking the
    # config when the workflow is parsed must not import torch
    return SETTINGS_KEYS[kind]


@dataclass(frozen=True)
class ModelSpec:
    """One configured latent model.

    Attributes
    ----------
    name
        The model's name in the config (its output folder).
    kind
        ``contrastive``, ``hybrid`` or ``generative``.
    params
        Estimator arguments (checked against the kind's estimator).
    seeds
        One fit per seed (consistency across seeds).
    scope
        ``cohort`` (one multi-session model) or ``session`` (one model per session);
        generative models are always per session.
    behaviour
        The continuous behaviour variable used as labels and decoded.
    null_controls
        Fit the null controls beside the real fit.
    levels
        Label variables (``label_<source>_<level>``) a ``discrete`` model is fitted on, one
        fit each; empty: every label variable the sessions share.
    """

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    scope: str = "cohort"
    behaviour: str = "position"
    null_controls: bool = True
    levels: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any], defaults: Mapping[str, Any]):
        """Build from a config entry (``models.<name>``) over the block's shared settings.

        Raises
        ------
        ConfigError
            For an unknown kind or a parameter the kind's estimator does not take.
        """
        merged = {**{k: v for k, v in defaults.items() if k in _COMMON}, **config}
        kind = merged.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"latents.models.{name}.kind must be one of {KINDS}, got {kind!r}.")
        params = {k: v for k, v in merged.items() if k not in _COMMON}
        if unknown := sorted(set(params) - _accepted(kind)):
            raise ConfigError(
                f"latents.models.{name}: {unknown} do not apply to a {kind} model; it takes "
                f"{sorted(_accepted(kind))}."
            )
        return cls(
            name=name,
            kind=kind,
            params=params,
            seeds=tuple(int(s) for s in merged.get("seeds", (0,))),
            scope="session" if kind == "generative" else merged.get("scope", "cohort"),
            behaviour=merged.get("behaviour", "position"),
            null_controls=bool(merged.get("null_controls", True)),
            levels=tuple(str(v) for v in merged.get("levels", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (Snakemake params; what a change of reruns).

        Parameters are sorted by name: Snakemake compares params as text, and reordering
        keys in the YAML must not rerun a fit.
        """
        return {
            "name": self.name,
            "kind": self.kind,
            "params": dict(sorted(self.params.items())),
            "seeds": list(self.seeds),
            "scope": self.scope,
            "behaviour": self.behaviour,
            "null_controls": self.null_controls,
            "levels": list(self.levels),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSpec:
        """The spec from :meth:`to_dict` (lists back to tuples)."""
        return cls(**{**d, "seeds": tuple(d["seeds"]), "levels": tuple(d.get("levels", ()))})

    @property
    def discrete(self) -> bool:
        """Whether the fit uses integer labels (one fit per label level)."""
        return self.kind != "generative" and self.params.get("conditional") == "discrete"

    def needs_labels(self) -> bool:
        """Whether the fit uses behaviour labels."""
        if self.kind == "generative":
            return True
        return self.params.get("conditional", "time") != "time" or bool(
            self.params.get("behaviour_weight", 0)
        )


@dataclass(frozen=True)
class LatentsPlan:
    """Input functions and targets of the latent rules, from the cohort (tested here).

    Parameters
    ----------
    sessions
        The cohort's sessions sheet (``subject``, ``session`` and, for the virtual lab,
        ``truth``).
    paths
        The output layout (:class:`brainbehave.paths.Paths`).
    models
        The configured models by name.
    """

    sessions: Any
    paths: Any
    models: Mapping[str, ModelSpec]

    def keys(self) -> list[tuple[str, str]]:
        """(subject, session) in sheet order."""
        return list(zip(self.sessions["subject"], self.sessions["session"], strict=True))

    def aligned(self) -> list[str]:
        """Every session's aligned dataset."""
        return [self.paths.neural_aligned(s, j) for s, j in self.keys()]

    def truths(self) -> list[str]:
        """The virtual lab's truth files in sheet order ([] unless every session has one)."""
        if "truth" not in self.sessions:
            return []
        truths = [t for t in self.sessions["truth"] if isinstance(t, str) and t]
        return truths if len(truths) == len(self.sessions) else []

    def embeddings(self, model: str) -> list[str]:
        """Every session's embedding file of one model, inside its fit folder, in sheet order
        (``{model}`` patterns allowed: the latent rules' params)."""
        return [self.paths.latents_embedding(model, s, j) for s, j in self.keys()]

    def fit_members(self) -> list[str]:
        """The model's and every session's embedding file (sheet order) as paths inside the
        fit folder: their names in the fit archive (the same for every model)."""
        folder = self.paths.latents_fit_dir("{model}") + "/"
        files = [self.paths.latents_model("{model}"), *self.embeddings("{model}")]
        if not all(f.startswith(folder) for f in files):
            raise ValueError(f"Paths puts a fit file outside {folder}: {files[:2]}...")
        return [f.removeprefix(folder) for f in files]

    def spec_of(self, wildcards: Any) -> dict[str, Any]:
        """Params function: the spec of the rule's ``{model}`` as a plain dict."""
        return self.models[wildcards.model].to_dict()

    def session_names(self) -> list[str]:
        """``subject/session`` per session (what the rule passes as keys)."""
        return ["/".join(k) for k in self.keys()]

    def targets(self) -> list[str]:
        """Every model's scorecard and plot."""
        return [
            path
            for name in self.models
            for path in (self.paths.latents_scorecard(name), self.paths.latents_plot(name))
        ]
