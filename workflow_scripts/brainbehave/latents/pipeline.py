"""What the latent rules call: read a cohort's aligned sessions, fit a model, write embeddings.

One model name in the config → one spec (:class:`ModelSpec`). ``latents_fit`` fits it on the
cohort (one multi-session model, or one model per session) for every seed, plus the null
controls (labels block-shuffled, neural data time-shifted), and writes one embedding file per
session (netCDF: ``embedding`` (seed, time, dim), ``embedding_null_<control>``, the behaviour
used, ``split`` and, for the virtual lab, the true latents).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from brainbehave.align import load_aligned
from brainbehave.atomic import atomic_path, write_netcdf
from brainbehave.errors import ConfigError, InputDataError
from brainbehave.latents.groundtruth import aligned_behaviour, session_arrays, truth_on_bins

logger = logging.getLogger(__name__)

KINDS = ("contrastive", "hybrid", "generative")
NULLS = ("shuffled_labels", "time_shifted")
_COMMON = {"seeds", "scope", "behaviour", "null_controls", "kind"}


def _estimator_class(kind: str):
    from brainbehave.latents import ContrastiveEmbedding, HybridEmbedding, PoissonVAE

    return {
        "contrastive": ContrastiveEmbedding,
        "hybrid": HybridEmbedding,
        "generative": PoissonVAE,
    }[kind]


def _accepted(kind: str) -> set[str]:
    cls = _estimator_class(kind)
    names = set()
    for c in cls.__mro__:
        if c is object:
            continue
        names |= {
            n
            for n, p in inspect.signature(c.__init__).parameters.items()
            if n != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
        }
    return names - {"seed", "device", "checkpoint", "checkpoint_every", "multi_session"}


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
    """

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    scope: str = "cohort"
    behaviour: str = "position"
    null_controls: bool = True

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
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (Snakemake params; what a change of reruns)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "params": dict(self.params),
            "seeds": list(self.seeds),
            "scope": self.scope,
            "behaviour": self.behaviour,
            "null_controls": self.null_controls,
        }

    def needs_labels(self) -> bool:
        """Whether the fit uses behaviour labels."""
        if self.kind == "generative":
            return True
        return self.params.get("conditional", "time") != "time" or bool(
            self.params.get("behaviour_weight", 0)
        )


@dataclass
class SessionData:
    """One session's arrays at its usable bins."""

    key: str
    x: np.ndarray
    behaviour: dict[str, np.ndarray]
    split: np.ndarray
    time: np.ndarray


def read_session(
    aligned: str | os.PathLike, truth: str | os.PathLike | None, key: str
) -> SessionData:
    """An aligned dataset's neural data and behaviour (the truth's, for the virtual lab)."""
    ds = load_aligned(aligned)
    if truth:
        from brainbehave.truth import read_truth

        behaviour = truth_on_bins(read_truth(truth), ds["time"].values)
    else:
        behaviour = aligned_behaviour(ds)
    x, behaviour, split, keep = session_arrays(ds, behaviour, str(aligned))
    return SessionData(key, x, behaviour, split, time=ds["time"].values[keep])


def drop_silent(session: SessionData) -> SessionData:
    """The session without units that never fire in its usable bins (logged)."""
    active = session.x.any(axis=0)
    if not active.all():
        logger.warning(
            "%s: dropping %d of %d units without spikes in the usable bins",
            session.key,
            int((~active).sum()),
            len(active),
        )
    return SessionData(
        session.key, session.x[:, active], session.behaviour, session.split, session.time
    )


def labels_of(spec: ModelSpec, session: SessionData) -> np.ndarray:
    """The continuous behaviour variable ``spec.behaviour`` of a session.

    Raises
    ------
    InputDataError
        If the session has no such variable (the message lists those it has).
    """
    if spec.behaviour not in session.behaviour:
        raise InputDataError(
            f"{session.key}: no behaviour variable {spec.behaviour!r} for model {spec.name!r}; "
            f"it has {sorted(session.behaviour)}. Set latents.behaviour to one of them."
        )
    return np.asarray(session.behaviour[spec.behaviour], dtype=np.float64)


def _fit_one(spec, xs, ys, seed, device, multi):
    cls = _estimator_class(spec.kind)
    kwargs = {**spec.params, "seed": seed, "device": device}
    if spec.kind != "generative":
        kwargs["multi_session"] = multi
    model = cls(**kwargs)
    return model.fit(xs if multi else xs[0], (ys if multi else ys[0]) if ys else None)


def _transform(model, spec: ModelSpec, x: np.ndarray, index: int, y: np.ndarray | None):
    if spec.kind == "generative":
        return model.transform(x, y)
    return model.transform(x, index)


def fit_embeddings(
    spec: ModelSpec,
    sessions: Sequence[SessionData],
    xs: Sequence[np.ndarray] | None = None,
    ys: Sequence[np.ndarray] | None = None,
    seed: int = 0,
    device: str = "auto",
) -> tuple[list[np.ndarray], list[Any]]:
    """Fit one seed of ``spec`` on the sessions; return each session's embedding and models.

    The fit sees only the training blocks (``split == 0``): a behaviour-conditioned model
    fitted on the test blocks' labels would make held-out decoding meaningless. Every bin
    is then embedded. ``xs``/``ys`` replace the sessions' neural data / labels (the nulls).
    """
    xs = [s.x for s in sessions] if xs is None else list(xs)
    if ys is None and spec.needs_labels():
        ys = [labels_of(spec, s) for s in sessions]
    train = [s.split == 0 for s in sessions]
    fit_xs = [x[m] for x, m in zip(xs, train, strict=True)]
    fit_ys = None if ys is None else [y[m] for y, m in zip(ys, train, strict=True)]
    if spec.scope == "cohort" and len(sessions) > 1:
        model = _fit_one(spec, fit_xs, fit_ys, seed, device, multi=True)
        return [_transform(model, spec, x, i, None) for i, x in enumerate(xs)], [model]
    models = [
        _fit_one(spec, [x], None if fit_ys is None else [fit_ys[i]], seed, device, multi=False)
        for i, x in enumerate(fit_xs)
    ]
    return [_transform(m, spec, x, 0, None) for m, x in zip(models, xs, strict=True)], models


def null_inputs(
    spec: ModelSpec, sessions: Sequence[SessionData], control: str
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Inputs of a null control: labels block-shuffled, or neural data rolled half a session."""
    from brainbehave.latents.metrics import block_shuffle, time_shift

    ys = [labels_of(spec, s) for s in sessions] if spec.needs_labels() else None
    if control == "shuffled_labels":
        rng = np.random.default_rng(12345)
        return [s.x for s in sessions], None if ys is None else [block_shuffle(y, rng) for y in ys]
    if control == "time_shifted":
        return [time_shift(s.x) for s in sessions], ys
    raise ValueError(f"Unknown null control {control!r}; known: {NULLS}.")


def fit_cohort(
    spec: ModelSpec,
    sessions: Sequence[SessionData],
    model_out: str | os.PathLike,
    embedding_outs: Sequence[str | os.PathLike],
    device: str = "auto",
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Fit every seed (and the null controls), save the seed-0 model(s) and the embeddings."""
    sessions = [drop_silent(s) for s in sessions]
    per_seed, first_models = [], None
    for seed in spec.seeds:
        logger.info(
            "fitting %s (%s) seed %d on %d sessions", spec.name, spec.kind, seed, len(sessions)
        )
        emb, models = fit_embeddings(spec, sessions, seed=seed, device=device)
        per_seed.append(emb)
        first_models = first_models or models
    nulls: dict[str, list[np.ndarray]] = {}
    if spec.null_controls:
        for control in NULLS:
            if control == "shuffled_labels" and not spec.needs_labels():
                continue  # a self-supervised fit uses no labels: its null is the time shift
            xs, ys = null_inputs(spec, sessions, control)
            logger.info("fitting %s null control %s", spec.name, control)
            nulls[control] = fit_embeddings(spec, sessions, xs, ys, spec.seeds[0], device)[0]
    _save_models(first_models, spec, sessions, model_out)
    for i, (session, out) in enumerate(zip(sessions, embedding_outs, strict=True)):
        ds = embedding_dataset(
            session,
            np.stack([emb[i] for emb in per_seed]),
            {k: v[i] for k, v in nulls.items()},
            spec,
            provenance,
        )
        write_netcdf(ds, out)


def _save_models(models, spec, sessions, out) -> None:
    import torch

    state = {
        "spec": spec.to_dict(),
        "sessions": [s.key for s in sessions],
        "models": [m.to_state() for m in models],
    }
    with atomic_path(out) as tmp:
        torch.save(state, tmp)


def embedding_dataset(
    session: SessionData,
    embedding: np.ndarray,
    nulls: Mapping[str, np.ndarray],
    spec: ModelSpec,
    provenance: Mapping[str, Any] | None,
) -> xr.Dataset:
    """One session's embeddings (seed, time, dim), null-control embeddings and behaviour."""
    data = {
        "embedding": (("seed", "time", "dim"), embedding.astype(np.float32)),
        "split": ("time", session.split.astype(np.int8)),
        "neural": (("time", "unit"), session.x),
    }
    for control, emb in nulls.items():
        data[f"embedding_null_{control}"] = (("time", "dim"), emb.astype(np.float32))
    for name, values in session.behaviour.items():
        v = np.asarray(values)
        dims = ("time",) if v.ndim == 1 else ("time", f"{name}_dim")
        data[f"behaviour_{name}"] = (dims, v)
    return xr.Dataset(
        data,
        coords={"time": session.time, "seed": list(spec.seeds)},
        attrs={
            "session": session.key,
            "model": spec.name,
            "spec": json.dumps(spec.to_dict()),
            "provenance": json.dumps(dict(provenance or {}), default=str),
        },
    )


def load_models(path: str | os.PathLike) -> tuple[ModelSpec, list[Any]]:
    """The spec and the fitted (first-seed) models written by :func:`fit_cohort`."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=False)
    spec = ModelSpec(**{**state["spec"], "seeds": tuple(state["spec"]["seeds"])})
    cls = _estimator_class(spec.kind)
    return spec, [cls.from_state(part) for part in state["models"]]


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
        """Every session's embedding file of one model (``{model}`` patterns allowed)."""
        return [self.paths.latents_embedding(model, s, j) for s, j in self.keys()]

    def embeddings_of(self, wildcards: Any) -> list[str]:
        """Input function: the embeddings of the rule's ``{model}``."""
        return self.embeddings(wildcards.model)

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
