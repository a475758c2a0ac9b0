"""The trust scorecard of one fitted model: ``scorecard.json`` and plots.

Per session: decoding of the behaviour (kNN and linear, held-out blocks) beside the null
controls, decoding of every label level (timescale mapping: which level the latent carries
best), identifiability against the true latents (virtual lab), consistency across seeds,
robustness (noise, dropped units, missing frames). Across sessions: consistency after
linear alignment of behaviour-binned embeddings, and CKA/CCA/RSA/Procrustes similarity.
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


def decoding(emb: np.ndarray, behaviour: Mapping[str, np.ndarray], split, target: str) -> dict:
    """kNN and linear decoding of the target variable and of every label level."""
    out: dict[str, Any] = {}
    for method in ("knn", "linear"):
        out[method] = metrics.decode(emb, behaviour[target], split, method)
    levels = {}
    for name, y in behaviour.items():
        if name.startswith("label_") and len(np.unique(y[split == 0])) > 1:
            score = metrics.decode(emb, y.astype(np.int64), split, "knn")
            score["chance"] = _chance(y[split == 0], y[split == 1])
            levels[name[len("label_") :]] = score
    if levels:
        out["levels"] = levels
        out["best_level"] = max(levels, key=lambda k: levels[k]["accuracy"] - levels[k]["chance"])
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
    """Decoding (kNN R²) from embeddings of damaged neural data, per perturbation."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, level in PERTURBATIONS.items():
        damaged = metrics.perturb(x, name, level, rng)
        emb = (
            model.transform(damaged) if kind == "generative" else model.transform(damaged, session)
        )
        out[name] = {"level": level, **metrics.decode(emb, y, split, "knn")}
    return out


def score_session(ds: xr.Dataset, target: str, model=None, kind: str = "", index: int = 0) -> dict:
    """Everything the scorecard says about one session's embedding file."""
    behaviour, split = _behaviour(ds), ds["split"].values
    emb = ds["embedding"].values
    result: dict[str, Any] = {
        "decoding": decoding(emb[0], behaviour, split, target),
        "seed_consistency": seed_consistency(emb),
    }
    nulls = {}
    for name in ds.data_vars:
        if name.startswith("embedding_null_"):
            nulls[name[len("embedding_null_") :]] = {
                m: metrics.decode(ds[name].values, behaviour[target], split, m)
                for m in ("knn", "linear")
            }
    result["null_controls"] = nulls
    if "latents" in behaviour:
        result["identifiability_r2"] = [
            metrics.identifiability(e, behaviour["latents"], split) for e in emb
        ]
    if model is not None:
        result["robustness"] = robustness(
            model, kind, ds["neural"].values, index, behaviour[target], split
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
    card["across_sessions"] = across_sessions(
        [ds["embedding"].values[0] for ds in datasets],
        [ds[f"behaviour_{target}"].values for ds in datasets],
        [ds.attrs["session"] for ds in datasets],
    )
    card["summary"] = summarise(card)
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(card, indent=2, default=float))
    if plot is not None:
        plot_embeddings(datasets, target, plot)
    logger.info("scorecard %s: %s", card["model"], card["summary"])
    return card


def summarise(card: Mapping[str, Any]) -> dict[str, float | None]:
    """Cohort medians of the headline numbers."""
    sessions = list(card["sessions"].values())

    def median(values):
        values = [v for v in values if v is not None]
        return float(np.median(values)) if values else None

    return {
        "knn_r2": median(s["decoding"]["knn"]["r2"] for s in sessions),
        "linear_r2": median(s["decoding"]["linear"]["r2"] for s in sessions),
        "null_time_shifted_knn_r2": median(
            s["null_controls"].get("time_shifted", {}).get("knn", {}).get("r2") for s in sessions
        ),
        "null_shuffled_labels_knn_r2": median(
            s["null_controls"].get("shuffled_labels", {}).get("knn", {}).get("r2") for s in sessions
        ),
        "seed_consistency": median(s["seed_consistency"] for s in sessions),
        "identifiability_r2": median(
            np.mean(s["identifiability_r2"]) if "identifiability_r2" in s else None
            for s in sessions
        ),
        "across_session_consistency": median(
            v["consistency"] for v in card["across_sessions"].values()
        ),
    }


def plot_embeddings(datasets: Sequence[xr.Dataset], target: str, out: str | os.PathLike) -> None:
    """One panel per session: the first two embedding dims coloured by the behaviour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(datasets), figsize=(3.2 * len(datasets), 3.2), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        emb = ds["embedding"].values[0]
        colour = np.asarray(ds[f"behaviour_{target}"].values, float).reshape(len(emb), -1)[:, 0]
        ax.scatter(emb[:, 0], emb[:, 1 % emb.shape[1]], c=colour, s=2, cmap="viridis")
        ax.set_title(f"{ds.attrs['session']}\ncoloured by {target}[0]", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
