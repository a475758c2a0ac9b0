"""The trust scorecard of one fitted model: ``scorecard.json`` and plots.

Per session: decoding of the behaviour (kNN and linear, held-out blocks) beside the null
controls, identifiability against the true latents (virtual lab), consistency across seeds,
robustness (noise, dropped units, missing frames). Across sessions: consistency after
linear alignment of behaviour-binned embeddings, and CKA/CCA/RSA/Procrustes similarity.

Timescale mapping: which hierarchy level of the behaviour labels the neural latent carries
best. A self-supervised or continuous-label fit has every label level decoded from its one
embedding; a discrete model has one fit per level, each scored on its own level beside its
null controls. Levels are ranked by skill, ``(accuracy - chance) / (1 - chance)`` with chance
the majority class's share, so levels with different numbers and balance of labels compare.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from brainbehave.latents import metrics

logger = logging.getLogger(__name__)

PERTURBATIONS = {"noise": 1.0, "drop_units": 0.2, "missing_frames": 0.1}


def _behaviour(ds: xr.Dataset) -> dict[str, np.ndarray]:
    return {
        k[len("behaviour_") :]: ds[k].values for k in ds.data_vars if k.startswith("behaviour_")
    }


def _chance(y_train: np.ndarray, y_test: np.ndarray) -> float:
    values, counts = np.unique(y_train, return_counts=True)
    return float(np.mean(y_test == values[np.argmax(counts)]))


def level_decoding(emb: np.ndarray, y: np.ndarray, split: np.ndarray) -> dict | None:
    """kNN decoding of one label level on held-out blocks (bins without a label left out).

    Returns accuracy, macro F1, chance (the training majority class's share of the test
    bins) and skill; None when the training bins hold fewer than two labels or no test bin
    is labelled.
    """
    y = np.asarray(y).astype(np.int64)
    level_split = np.where(y >= 0, split, -1)
    train, test = level_split == 0, level_split == 1
    if len(np.unique(y[train])) < 2 or not test.any():
        return None
    score = metrics.decode(emb, y, level_split, "knn")
    chance = _chance(y[train], y[test])
    skill = (score["accuracy"] - chance) / (1 - chance) if chance < 1 else 0.0
    return {**score, "chance": chance, "skill": float(skill)}


def timescale(levels: Mapping[str, dict], info: Mapping[str, Mapping]) -> dict[str, Any]:
    """Levels ranked by skill: the best overall and the best per label source."""
    ranked = {k: v for k, v in levels.items() if v is not None}
    if not ranked:
        return {}
    best = max(ranked, key=lambda k: ranked[k]["skill"])
    by_source: dict[str, str] = {}
    for key, score in ranked.items():
        source = info.get(key, {}).get("source", "unknown")
        if source not in by_source or score["skill"] > ranked[by_source[source]]["skill"]:
            by_source[source] = key
    return {
        "skill": {k: v["skill"] for k, v in ranked.items()},
        "best_level": best,
        "best_by_source": by_source,
        "labels": {k: dict(info[k]) for k in ranked if k in info},
    }


def decoding(emb: np.ndarray, behaviour: Mapping[str, np.ndarray], split, target: str) -> dict:
    """kNN and linear decoding of the target variable and of every label level."""
    out: dict[str, Any] = {}
    if target in behaviour:
        for method in ("knn", "linear"):
            out[method] = metrics.decode(emb, behaviour[target], split, method)
    levels = {
        name: level_decoding(emb, y, split)
        for name, y in behaviour.items()
        if name.startswith("label_")
    }
    if levels := {k: v for k, v in levels.items() if v is not None}:
        out["levels"] = levels
        out["best_level"] = max(levels, key=lambda k: levels[k]["skill"])
    return out


def seed_consistency(embedding: np.ndarray) -> float | None:
    """Mean pairwise consistency (R² after linear alignment) between the seeds' embeddings."""
    pairs = list(combinations(range(len(embedding)), 2))
    if not pairs:
        return None
    return float(np.mean([metrics.consistency(embedding[i], embedding[j]) for i, j in pairs]))


def binned_means(emb: np.ndarray, y: np.ndarray, bins: int = 8) -> dict[tuple, np.ndarray]:
    """Mean embedding per cell of a grid over the first two behaviour columns."""
    y = np.asarray(y, float).reshape(len(y), -1)[:, :2]
    lo, hi = y.min(0), y.max(0)
    cell = np.clip(((y - lo) / np.where(hi > lo, hi - lo, 1) * bins).astype(int), 0, bins - 1)
    keys = [tuple(c) for c in cell]
    out: dict[tuple, list] = {}
    for k, e in zip(keys, emb, strict=True):
        out.setdefault(k, []).append(e)
    return {k: np.mean(v, axis=0) for k, v in out.items() if len(v) >= 3}


def across_sessions(
    embs: Sequence[np.ndarray], behaviours: Sequence[np.ndarray], keys: Sequence[str]
) -> dict[str, Any]:
    """Consistency and similarity between sessions, on behaviour-matched mean embeddings."""
    out = {}
    for i, j in combinations(range(len(embs)), 2):
        a, b = binned_means(embs[i], behaviours[i]), binned_means(embs[j], behaviours[j])
        common = sorted(set(a) & set(b))
        if len(common) < 5:
            continue
        ma, mb = np.stack([a[k] for k in common]), np.stack([b[k] for k in common])
        out[f"{keys[i]}~{keys[j]}"] = {
            "consistency": metrics.consistency(ma, mb),
            **metrics.similarity(ma, mb),
            "n_bins": len(common),
        }
    return out


def robustness(model, kind: str, x: np.ndarray, session: int, y, split, seed: int = 0) -> dict:
    """Decoding (kNN; R² or, for labels, skill) from embeddings of damaged neural data."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, level in PERTURBATIONS.items():
        damaged = metrics.perturb(x, name, level, rng)
        emb = (
            model.transform(damaged) if kind == "generative" else model.transform(damaged, session)
        )
        labels = np.issubdtype(np.asarray(y).dtype, np.integer)
        score = level_decoding(emb, y, split) if labels else metrics.decode(emb, y, split, "knn")
        out[name] = {"level": level, **(score or {})}
    return out


def _nulls(ds: xr.Dataset, decode, level: int | None = None) -> dict[str, Any]:
    out = {}
    for name in ds.data_vars:
        if name.startswith("embedding_null_"):
            emb = ds[name].values if level is None else ds[name].values[level]
            out[name[len("embedding_null_") :]] = decode(emb)
    return out


def score_session(ds: xr.Dataset, target: str, model=None, kind: str = "", index: int = 0) -> dict:
    """Everything the scorecard says about one session's embedding file."""
    behaviour, split = _behaviour(ds), ds["split"].values
    info = json.loads(ds.attrs.get("labels", "{}"))
    if "level" in ds["embedding"].dims:
        return _score_levels(ds, behaviour, split, target, info, model, kind, index)
    emb = ds["embedding"].values
    result: dict[str, Any] = {
        "decoding": decoding(emb[0], behaviour, split, target),
        "seed_consistency": seed_consistency(emb),
        "label_source": ds.attrs.get("label_source", "none"),
    }
    if target in behaviour:
        result["null_controls"] = _nulls(
            ds,
            lambda e: {
                m: metrics.decode(e, behaviour[target], split, m) for m in ("knn", "linear")
            },
        )
    if "levels" in result["decoding"]:
        result["timescale"] = timescale(result["decoding"]["levels"], info)
    if "latents" in behaviour:
        result["identifiability_r2"] = [
            metrics.identifiability(e, behaviour["latents"], split) for e in emb
        ]
        # slow latents: the held-out blocks' mean differs, so chance lies below zero
        result["identifiability_chance_r2"] = metrics.chance_r2(behaviour["latents"], split)
    if model is not None and target in behaviour:
        result["robustness"] = robustness(
            model, kind, ds["neural"].values, index, behaviour[target], split
        )
    return result


def _score_levels(ds, behaviour, split, target, info, model, kind, index) -> dict[str, Any]:
    """A discrete model: each level's own fit, scored on its level beside its nulls."""
    levels = [str(v) for v in ds["level"].values]
    per = {}
    for i, key in enumerate(levels):
        emb = ds["embedding"].values[i]
        y = behaviour[key]
        per[key] = {
            "decoding": level_decoding(emb[0], y, split),
            "seed_consistency": seed_consistency(emb),
            "null_controls": _nulls(ds, lambda e, y=y: level_decoding(e, y, split), i),
        }
        if target in behaviour:
            per[key][f"knn_{target}"] = metrics.decode(emb[0], behaviour[target], split, "knn")
        if "latents" in behaviour:
            per[key]["identifiability_r2"] = [
                metrics.identifiability(e, behaviour["latents"], split) for e in emb
            ]
    result: dict[str, Any] = {
        "levels": per,
        "timescale": timescale({k: v["decoding"] for k, v in per.items()}, info),
        "label_source": ds.attrs.get("label_source", "none"),
    }
    if model is not None:  # the saved models are the first level's
        result["robustness"] = robustness(
            model, kind, ds["neural"].values, index, behaviour[levels[0]], split
        )
    return result


def score_model(
    embedding_files: Sequence[str | os.PathLike],
    models_file: str | os.PathLike | None,
    out_json: str | os.PathLike,
    plot: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Score one model over the cohort; write ``scorecard.json`` (and the plot)."""
    from brainbehave.latents.pipeline import load_models

    spec, models = load_models(models_file) if models_file else (None, [])
    datasets = [xr.load_dataset(f, engine="h5netcdf") for f in embedding_files]
    target = json.loads(datasets[0].attrs["spec"])["behaviour"]
    kind = json.loads(datasets[0].attrs["spec"])["kind"]
    card: dict[str, Any] = {
        "model": datasets[0].attrs["model"],
        "behaviour": target,
        "sessions": {},
    }
    for i, ds in enumerate(datasets):
        model, index = (models[0], i) if len(models) == 1 else (models[i] if models else None, 0)
        card["sessions"][ds.attrs["session"]] = score_session(ds, target, model, kind, index)
    if all(f"behaviour_{target}" in ds for ds in datasets):
        card["across_sessions"] = across_sessions(
            [_first(ds) for ds in datasets],
            [ds[f"behaviour_{target}"].values for ds in datasets],
            [ds.attrs["session"] for ds in datasets],
        )
    else:
        card["across_sessions"] = {}
    card["summary"] = summarise(card)
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(card, indent=2, default=float))
    if plot is not None:
        plot_embeddings(datasets, target, plot)
    logger.info("scorecard %s: %s", card["model"], card["summary"])
    return card


def _first(ds: xr.Dataset) -> np.ndarray:
    """The first seed's (and, for a discrete model, first level's) embedding (time, dim)."""
    emb = ds["embedding"].values
    return emb[0, 0] if "level" in ds["embedding"].dims else emb[0]


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def summarise_timescale(sessions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Median skill per label level over sessions, and the level carried best."""
    skills: dict[str, list[float]] = {}
    for s in sessions:
        for key, value in s.get("timescale", {}).get("skill", {}).items():
            skills.setdefault(key, []).append(value)
    if not skills:
        return {}
    median = {k: _median(v) for k, v in skills.items()}
    return {"level_skill": median, "best_level": max(median, key=median.get)}


def summarise(card: Mapping[str, Any]) -> dict[str, Any]:
    """Cohort medians of the headline numbers."""
    sessions = list(card["sessions"].values())
    if any("levels" in s and "decoding" not in s for s in sessions):
        return _summarise_levels(sessions)
    median = _median
    return {
        **summarise_timescale(sessions),
        "knn_r2": median(s["decoding"].get("knn", {}).get("r2") for s in sessions),
        "linear_r2": median(s["decoding"].get("linear", {}).get("r2") for s in sessions),
        "null_time_shifted_knn_r2": median(
            s.get("null_controls", {}).get("time_shifted", {}).get("knn", {}).get("r2")
            for s in sessions
        ),
        "null_shuffled_labels_knn_r2": median(
            s.get("null_controls", {}).get("shuffled_labels", {}).get("knn", {}).get("r2")
            for s in sessions
        ),
        "seed_consistency": median(s["seed_consistency"] for s in sessions),
        "identifiability_r2": median(
            np.mean(s["identifiability_r2"]) if "identifiability_r2" in s else None
            for s in sessions
        ),
        "identifiability_chance_r2": median(s.get("identifiability_chance_r2") for s in sessions),
        "across_session_consistency": median(
            v["consistency"] for v in card["across_sessions"].values()
        ),
    }


def _summarise_levels(sessions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A discrete model's summary: per level, median skill of the fit and of its nulls."""
    keys = dict.fromkeys(k for s in sessions for k in s["levels"])
    per_level = {}
    for key in keys:
        parts = [s["levels"][key] for s in sessions if key in s["levels"]]
        per_level[key] = {
            "skill": _median((p["decoding"] or {}).get("skill") for p in parts),
            **{
                f"null_{name}_skill": _median(
                    (p["null_controls"].get(name) or {}).get("skill") for p in parts
                )
                for name in ("shuffled_labels", "time_shifted")
            },
            "seed_consistency": _median(p["seed_consistency"] for p in parts),
        }
    return {**summarise_timescale(sessions), "levels": per_level}


def plot_embeddings(datasets: Sequence[xr.Dataset], target: str, out: str | os.PathLike) -> None:
    """One panel per session: the first two embedding dims coloured by the behaviour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(datasets), figsize=(3.2 * len(datasets), 3.2), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        emb = _first(ds)
        name = f"behaviour_{target}"
        if "level" in ds.coords:  # a discrete model: colour by the first level's labels
            name = f"behaviour_{ds['level'].values[0]}"
        values = ds[name].values if name in ds else np.zeros(len(emb))
        colour = np.asarray(values, float).reshape(len(emb), -1)[:, 0]
        ax.scatter(emb[:, 0], emb[:, 1 % emb.shape[1]], c=colour, s=2, cmap="viridis")
        ax.set_title(f"{ds.attrs['session']}\ncoloured by {name}", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
