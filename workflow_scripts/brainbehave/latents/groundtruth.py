"""Behaviour and latents for the latent models: aligned variables, and the virtual lab's truth.

Behaviour labels come from the aligned dataset (the behaviour stage's ``label_<source>_<level>``
variables, ``source`` rules or mae). The virtual lab's ground truth (body, true latents and,
only for a session whose aligned dataset carries no labels, its labels per level as
``label_truth_<level>``) is brought onto the aligned time base through the TRUE video→neural
clock map, so evaluation is not blurred by the sync step's own error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from brainbehave.align import assign_labels, resample
from brainbehave.errors import InputDataError
from brainbehave.truth import SessionTruth


def truth_on_bins(truth: SessionTruth, centres: np.ndarray) -> dict[str, np.ndarray]:
    """The truth's behaviour variables, labels and latents at the bin centres (neural clock).

    Returns
    -------
    dict
        ``position`` (B, 2) mm, ``speed`` (B, 1) mm/s, ``head_direction`` (B, 2) as cos/sin,
        ``latents`` (B, D) linearly interpolated (NaN outside the recording), and
        ``label_truth_<level>`` (B,) int from the nearest exposure (-1 where none).
    """
    t = truth.video_to_neural(truth.exposure_times_video)
    gap = 2.5 / truth.fps
    hd = np.asarray(truth.body["head_direction"], dtype=float)
    out = {
        "position": resample(t, truth.body["position"], centres, gap),
        "speed": resample(t, truth.body["speed"], centres, gap),
        "head_direction": resample(t, np.c_[np.cos(hd), np.sin(hd)], centres, gap),
        "latents": resample(t, truth.latents, centres, gap),
    }
    for level, labels in truth.labels.items():
        out[f"label_truth_{level}"] = assign_labels(t, labels, centres, 1.0 / truth.fps)
    return out


def aligned_behaviour(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Behaviour variables of an aligned dataset: ``behaviour_*``, ``feature_*``, ``label_*``.

    Multi-dimensional variables are flattened to (time, columns); names lose their prefix
    except labels, which keep ``label_``.
    """
    out: dict[str, np.ndarray] = {}
    for name, var in ds.data_vars.items():
        for prefix in ("behaviour_", "feature_"):
            if name.startswith(prefix):
                out[name[len(prefix) :]] = var.values.reshape(ds.sizes["time"], -1)
        if name.startswith("label_"):
            out[name] = var.values
    return out


def with_truth(
    aligned: dict[str, np.ndarray], truth: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], str]:
    """The virtual lab's behaviour: the truth's, with the aligned labels where there are any.

    Returns
    -------
    behaviour, label_source
        The truth's continuous variables and latents, plus the aligned dataset's ``label_*``
        (source ``aligned``) or, only when it has none, the truth's (source ``truth``).
    """
    labels = {k: v for k, v in aligned.items() if k.startswith("label_")}
    if not labels:
        return dict(truth), "truth"
    out = {k: v for k, v in truth.items() if not k.startswith("label_")}
    return {**out, **labels}, "aligned"


@dataclass(frozen=True)
class LabelLevel:
    """What a ``label_*`` variable is: who labelled (``source``), which level, label names."""

    source: str
    level: str
    names: tuple[str, ...] = ()


def label_levels(ds: xr.Dataset | None, keys: list[str]) -> dict[str, LabelLevel]:
    """Source, level and names of each label variable (from its attrs where it has them).

    ``label_<source>_<level>`` variables carry ``source``, ``level`` and ``names`` (JSON)
    attributes; for others (the truth's, an older aligned file's ``label_<level>``) they are
    read from the name.
    """
    out = {}
    for key in keys:
        attrs = dict(ds[key].attrs) if ds is not None and key in ds else {}
        stem = key[len("label_") :]
        source, _, level = stem.partition("_") if "_" in stem else ("unknown", "", stem)
        names = attrs.get("names", "[]")
        out[key] = LabelLevel(
            source=str(attrs.get("source", source)),
            level=str(attrs.get("level", level)),
            names=tuple(json.loads(names) if isinstance(names, str) else names),
        )
    return out


def session_arrays(
    ds: xr.Dataset, behaviour: dict[str, np.ndarray], where: str
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Neural matrix, behaviour, split and the kept-bin mask, at bins usable for fitting.

    A bin is kept where the aligned dataset marks it valid and every continuous behaviour value
    is finite. Labels stay -1 where a level has none (each level's fit and decoding leave those
    bins out), so one sparse level does not cost the others their bins.

    Raises
    ------
    InputDataError
        If fewer than 2 bins remain.
    """
    keep = ds["valid"].values.astype(bool).copy()
    for name, values in behaviour.items():
        v = np.asarray(values)
        if not name.startswith("label_"):
            keep &= np.all(np.isfinite(v.reshape(len(v), -1)), axis=1)
    if keep.sum() < 2:
        raise InputDataError(
            f"{where}: only {int(keep.sum())} bins have valid neural data and behaviour. Check "
            "the session's sync and behaviour coverage."
        )
    x = ds["neural"].values[keep].astype(np.float32)
    kept = {k: np.asarray(v)[keep] for k, v in behaviour.items()}
    return x, kept, ds["split"].values[keep], keep
