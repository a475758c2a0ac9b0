"""What the latent rules call: read a cohort's aligned sessions, fit a model, write embeddings.

One model name in the config → one spec (:class:`ModelSpec`). ``latents_fit`` fits it on the
cohort (one multi-session model, or one model per session) for every seed, plus the null
controls (labels block-shuffled, neural data time-shifted), and writes one archive (the rule's
one output, whole or not at all: :mod:`brainbehave.folder_archive`) holding the model and
one embedding file per session (netCDF: ``embedding`` (seed, time, dim),
``embedding_null_<control>``, the behaviour used, ``split`` and, for the virtual lab, the true
latents). A model with ``conditional: discrete`` is fitted once per behaviour label level
(timescale mapping): its embeddings gain a leading ``level`` dimension.

Every fit writes a resumable checkpoint under the model's checkpoint folder, named by the fit
(level, seed or null control) and a fingerprint of its data and spec, so a killed job resumes
each unfinished fit on rerun and a changed input never resumes a stale one; the folder is
removed once every output is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from brainbehave.align import load_aligned
from brainbehave.atomic import atomic_path, write_netcdf
from brainbehave.errors import InputDataError
from brainbehave.folder_archive import check_member, packed_to
from brainbehave.latents.groundtruth import (
    LabelLevel,
    aligned_behaviour,
    label_levels,
    session_arrays,
    truth_on_bins,
    with_truth,
)
from brainbehave.latents.plan import KINDS, LatentsPlan, ModelSpec, estimator_class
from brainbehave.latents.solver import FIT_NAME

__all__ = ["KINDS", "NULLS", "Checkpoints", "LatentsPlan", "ModelSpec", "fit_cohort"]

logger = logging.getLogger(__name__)

NULLS = ("shuffled_labels", "time_shifted")


@dataclass
class SessionData:
    """One session's arrays at its usable bins."""

    key: str
    x: np.ndarray
    behaviour: dict[str, np.ndarray]
    split: np.ndarray
    time: np.ndarray
    labels: dict[str, LabelLevel] = field(default_factory=dict)
    label_source: str = "none"


def read_session(
    aligned: str | os.PathLike, truth: str | os.PathLike | None, key: str
) -> SessionData:
    """An aligned dataset's neural data and behaviour.

    Labels are the aligned dataset's ``label_*`` variables (the behaviour stage's). With a
    virtual-lab ``truth`` file, the continuous behaviour and true latents come from the truth,
    and so do the labels (``label_truth_<level>``) only where the aligned dataset has none.
    """
    ds = load_aligned(aligned)
    behaviour = aligned_behaviour(ds)
    source = "aligned" if any(k.startswith("label_") for k in behaviour) else "none"
    if truth:
        from brainbehave.truth import read_truth

        truth_vars = truth_on_bins(read_truth(truth), ds["time"].values)
        behaviour, source = with_truth(behaviour, truth_vars)
        logger.info("%s: behaviour labels from the %s (%s)", key, source, aligned)
    x, behaviour, split, keep = session_arrays(ds, behaviour, str(aligned))
    levels = label_levels(ds, [k for k in behaviour if k.startswith("label_")])
    return SessionData(
        key, x, behaviour, split, ds["time"].values[keep], labels=levels, label_source=source
    )


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
        session.key,
        session.x[:, active],
        session.behaviour,
        session.split,
        session.time,
        session.labels,
        session.label_source,
    )


def levels_of(spec: ModelSpec, sessions: Sequence[SessionData]) -> list[str]:
    """The label variables a discrete model is fitted on (``spec.levels`` or all shared ones).

    Raises
    ------
    InputDataError
        If the sessions share no label variable, or a requested one is missing.
    """
    shared = set.intersection(
        *({k for k in s.behaviour if k.startswith("label_")} for s in sessions)
    )
    wanted = list(spec.levels) or sorted(shared)
    if missing := [lv for lv in wanted if lv not in shared]:
        raise InputDataError(
            f"Model {spec.name!r} (conditional discrete) asks for label variables {missing}, "
            f"but the sessions share only {sorted(shared)}. Run the behaviour stage so the "
            "aligned datasets carry labels, or set latents.models.<name>.levels to those."
        )
    if not wanted:
        raise InputDataError(
            f"Model {spec.name!r} (conditional discrete) needs behaviour labels, but the "
            f"sessions {[s.key for s in sessions]} have no label variable in common."
        )
    return wanted


def labels_of(spec: ModelSpec, session: SessionData, level: str | None = None) -> np.ndarray:
    """The labels a fit of ``spec`` uses: integer label ``level``, or ``spec.behaviour``.

    Raises
    ------
    InputDataError
        If the session has no such variable (the message lists those it has).
    """
    if level is not None:
        return np.asarray(session.behaviour[level], dtype=np.int64)
    if spec.behaviour not in session.behaviour:
        raise InputDataError(
            f"{session.key}: no behaviour variable {spec.behaviour!r} for model {spec.name!r}; "
            f"it has {sorted(session.behaviour)}. Set latents.behaviour to one of them."
        )
    return np.asarray(session.behaviour[spec.behaviour], dtype=np.float64)


@dataclass(frozen=True)
class Checkpoints:
    """Where a model's fits keep their resumable checkpoints, and how often they write them."""

    folder: Path
    every: int = 100

    def path(self, spec: ModelSpec, tag: str, xs, ys) -> Path:
        """The checkpoint of one fit: its tag plus a fingerprint of its data and spec."""
        described = spec.to_dict()
        described["params"] = {k: v for k, v in spec.params.items() if k != "steps"}
        h = hashlib.sha256(json.dumps(described, sort_keys=True).encode())
        for a in list(xs) + list(ys or []):
            h.update(np.ascontiguousarray(a).tobytes())
        return self.folder / f"{tag}-{h.hexdigest()[:12]}.pt"


def _fit_one(spec, xs, ys, seed, device, multi, checkpoint=None, every=100):
    cls = estimator_class(spec.kind)
    kwargs = {**spec.params, "seed": seed, "device": device}
    if checkpoint is not None:
        kwargs.update(checkpoint=checkpoint, checkpoint_every=every)
    if spec.kind != "generative":
        kwargs["multi_session"] = multi
    model = cls(**kwargs)
    return model.fit(xs if multi else xs[0], (ys if multi else ys[0]) if ys else None)


def _transform(model, spec: ModelSpec, x: np.ndarray, index: int, y: np.ndarray | None):
    if spec.kind == "generative":
        return model.transform(x, y)
    return model.transform(x, index)


def _fit_units(
    spec: ModelSpec,
    sessions: Sequence[SessionData],
    xs: Sequence[np.ndarray] | None,
    ys: Sequence[np.ndarray] | None,
    seed: int,
    device: str,
    level: str | None,
    checkpoints: tuple[Checkpoints, str] | None,
) -> tuple[list[tuple[str, Callable[[], Any]]], Callable[[list[Any]], list[np.ndarray]]]:
    """One seed's independent model fits (named), and how their models embed every session.

    The fit sees only the training blocks (``split == 0``): a behaviour-conditioned model
    fitted on the test blocks' labels would make held-out decoding meaningless; a discrete
    fit also leaves out the bins without a label at ``level``. Every bin is then embedded.
    ``xs``/``ys`` replace the sessions' neural data / labels (the nulls); ``checkpoints``
    (where, and this fit's tag) makes the fit resumable.
    """
    xs = [s.x for s in sessions] if xs is None else list(xs)
    if ys is None and spec.needs_labels():
        ys = [labels_of(spec, s, level) for s in sessions]
    train = [s.split == 0 for s in sessions]
    if level is not None:
        train = [m & (y >= 0) for m, y in zip(train, ys, strict=True)]
    fit_xs = [x[m] for x, m in zip(xs, train, strict=True)]
    fit_ys = None if ys is None else [y[m] for y, m in zip(ys, train, strict=True)]

    def ckpt(tag_xs, tag_ys, part=""):
        if checkpoints is None:
            return {}
        where, tag = checkpoints
        return {"checkpoint": where.path(spec, tag + part, tag_xs, tag_ys), "every": where.every}

    if spec.scope == "cohort" and len(sessions) > 1:
        units = [
            (
                "",
                partial(_fit_one, spec, fit_xs, fit_ys, seed, device, True, **ckpt(fit_xs, fit_ys)),
            )
        ]
        return units, lambda models: [
            _transform(models[0], spec, x, i, None) for i, x in enumerate(xs)
        ]
    units = []
    for i, (session, x) in enumerate(zip(sessions, fit_xs, strict=True)):
        y = None if fit_ys is None else [fit_ys[i]]
        fit = partial(_fit_one, spec, [x], y, seed, device, False, **ckpt([x], y, f"-s{i}"))
        units.append((session.key, fit))
    return units, lambda models: [
        _transform(m, spec, x, 0, None) for m, x in zip(models, xs, strict=True)
    ]


def null_inputs(
    spec: ModelSpec, sessions: Sequence[SessionData], control: str, level: str | None = None
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Inputs of a null control: labels block-shuffled, or neural data rolled half a session."""
    from brainbehave.latents.metrics import block_shuffle, time_shift

    ys = [labels_of(spec, s, level) for s in sessions] if spec.needs_labels() else None
    if control == "shuffled_labels":
        rng = np.random.default_rng(12345)
        return [s.x for s in sessions], None if ys is None else [block_shuffle(y, rng) for y in ys]
    if control == "time_shifted":
        return [time_shift(s.x) for s in sessions], ys
    raise ValueError(f"Unknown null control {control!r}; known: {NULLS}.")


def fit_cohort(
    spec: ModelSpec,
    sessions: Sequence[SessionData],
    archive: str | os.PathLike,
    model_name: str,
    embedding_names: Sequence[str],
    device: str = "auto",
    provenance: Mapping[str, Any] | None = None,
    checkpoints: Checkpoints | None = None,
    threads: int = 1,
) -> None:
    """Fit every seed (and the null controls), save the seed-0 model(s) and the embeddings.

    Parameters
    ----------
    archive
        The ``.tar`` to write (``Paths.latents_fit_archive``): whole, or not at all.
    model_name, embedding_names
        The model's and each session's (``sessions`` order) file names in the archive: their
        paths inside ``Paths.latents_fit_dir``, where ``latents_unpack`` puts them.

    A discrete model repeats the fits for each label level (:func:`levels_of`); its saved models
    are those of the first level. ``checkpoints`` makes every fit resumable (see the module
    docstring); the checkpoint folder is removed once the archive is written. ``threads`` > 1
    runs that many fits (seeds, sessions, null controls) side by side, one intra-op thread
    each; the embeddings are the same as one at a time.
    """
    names = [check_member(n) for n in (model_name, *embedding_names)]
    sessions = [drop_silent(s) for s in sessions]
    levels: list[str | None] = levels_of(spec, sessions) if spec.discrete else [None]
    per_level, first_models = [], None
    from brainbehave.torch_device import side_by_side  # torch: imported where it is used

    with side_by_side(threads, "latent-fit") as pool:
        for level in levels:
            per_seed, nulls, models = _fit_level(spec, sessions, level, device, checkpoints, pool)
            per_level.append((per_seed, nulls))
            first_models = first_models or models
    with packed_to(archive) as folder:
        _save_models(first_models, spec, sessions, folder / names[0], levels[0])
        for i, (session, name) in enumerate(zip(sessions, names[1:], strict=True)):
            embedding = np.stack([np.stack([emb[i] for emb in seeds]) for seeds, _ in per_level])
            session_nulls = {
                k: np.stack([nulls[k][i] for _, nulls in per_level]) for k in per_level[0][1]
            }
            if not spec.discrete:  # no level dimension
                embedding = embedding[0]
                session_nulls = {k: v[0] for k, v in session_nulls.items()}
            ds = embedding_dataset(
                session,
                embedding,
                session_nulls,
                spec,
                provenance,
                None if not spec.discrete else levels,
            )
            write_netcdf(ds, folder / name)
    if checkpoints is not None and checkpoints.folder.is_dir():
        shutil.rmtree(checkpoints.folder)


def _fit_level(spec, sessions, level, device, checkpoints, pool=None):
    """All seeds and null controls of one fit (one label level for a discrete model).

    Their model fits are independent: with a ``pool`` they run side by side in its threads
    (each fit seeded on its own, so the result does not depend on the order they finish in).
    """
    prefix = "" if level is None else f"{level}-"
    about = "" if level is None else f" labels {level}"
    plans = []  # (null control or None, what, units, embed): the seeds, then the nulls
    for seed in spec.seeds:
        where = None if checkpoints is None else (checkpoints, f"{prefix}seed{seed}")
        units, embed = _fit_units(spec, sessions, None, None, seed, device, level, where)
        plans.append((None, f"seed {seed}{about}", units, embed))
    if spec.null_controls:
        for control in NULLS:
            if control == "shuffled_labels" and not spec.needs_labels():
                continue  # a self-supervised fit uses no labels: its null is the time shift
            xs, ys = null_inputs(spec, sessions, control, level)
            where = None if checkpoints is None else (checkpoints, f"{prefix}null_{control}")
            units, embed = _fit_units(spec, sessions, xs, ys, spec.seeds[0], device, level, where)
            plans.append((control, f"null control {control}{about}", units, embed))
    jobs = [
        _named(f"{spec.name} ({spec.kind}) {what}{' ' + key if key else ''}", fit)
        for _, what, units, _ in plans
        for key, fit in units
    ]
    models = iter(list(pool.map(lambda job: job(), jobs)) if pool else [job() for job in jobs])
    fitted = [[next(models) for _ in units] for _, _, units, _ in plans]
    per_seed, nulls = [], {}
    for (control, _, _, embed), fits in zip(plans, fitted, strict=True):
        if control is None:
            per_seed.append(embed(fits))
        else:
            nulls[control] = embed(fits)
    return per_seed, nulls, fitted[0]


def _named(name: str, fit: Callable[[], Any]) -> Callable[[], Any]:
    """``fit`` logging its start, with ``name`` in front of its solver's log lines."""

    def run():
        token = FIT_NAME.set(name)
        try:
            logger.info("fitting %s", name)
            return fit()
        finally:
            FIT_NAME.reset(token)

    return run


def _save_models(models, spec, sessions, out, level=None) -> None:
    import torch

    state = {
        "spec": spec.to_dict(),
        "sessions": [s.key for s in sessions],
        "models": [m.to_state() for m in models],
        "level": level,
    }
    with atomic_path(out) as tmp:
        torch.save(state, tmp)


def embedding_dataset(
    session: SessionData,
    embedding: np.ndarray,
    nulls: Mapping[str, np.ndarray],
    spec: ModelSpec,
    provenance: Mapping[str, Any] | None,
    levels: Sequence[str] | None = None,
) -> xr.Dataset:
    """One session's embeddings, null-control embeddings and behaviour.

    ``embedding`` is (seed, time, dim) and each ``embedding_null_<control>`` (time, dim); with
    ``levels`` (a discrete model, one fit per label level) both gain a leading ``level`` dim.
    Attributes record the label variables' source, level and names (``labels``, JSON) and
    where the labels came from (``label_source``: aligned, truth or none).
    """
    lead = ("level",) if levels is not None else ()
    data = {
        "embedding": ((*lead, "seed", "time", "dim"), embedding.astype(np.float32)),
        "split": ("time", session.split.astype(np.int8)),
        "neural": (("time", "unit"), session.x),
    }
    for control, emb in nulls.items():
        data[f"embedding_null_{control}"] = ((*lead, "time", "dim"), emb.astype(np.float32))
    for name, values in session.behaviour.items():
        v = np.asarray(values)
        dims = ("time",) if v.ndim == 1 else ("time", f"{name}_dim")
        data[f"behaviour_{name}"] = (dims, v)
    return xr.Dataset(
        data,
        coords={
            "time": session.time,
            "seed": list(spec.seeds),
            **({"level": list(levels)} if levels is not None else {}),
        },
        attrs={
            "session": session.key,
            "model": spec.name,
            "spec": json.dumps(spec.to_dict()),
            "provenance": json.dumps(dict(provenance or {}), default=str),
            "labels": json.dumps({k: vars(v) for k, v in session.labels.items()}),
            "label_source": session.label_source,
        },
    )


def load_models(path: str | os.PathLike) -> tuple[ModelSpec, list[Any]]:
    """The spec and the fitted (first-seed) models written by :func:`fit_cohort`."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=False)
    spec = ModelSpec.from_dict(state["spec"])
    cls = estimator_class(spec.kind)
    return spec, [cls.from_state(part) for part in state["models"]]
