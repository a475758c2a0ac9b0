"""One call per workflow step: read files, call the behaviour code, write files.

The rule wrappers in ``rules/scripts/behaviour_*.py`` unpack Snakemake's inputs and params
and call exactly one function here; the config dict stops at :meth:`BehaviourSettings.from_mapping`.
The MAE (torch) and the segmenter (scikit-learn) are imported by the functions that use them:
the features-and-rules step of every session would otherwise pay ~3 s of imports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from brainbehave.atomic import write_netcdf
from brainbehave.behaviour.features import (
    BodyParts,
    check_body_parts,
    pose_view,
    session_features,
)
from brainbehave.behaviour.labels import save_labels
from brainbehave.behaviour.mae_config import MAEConfig
from brainbehave.behaviour.rules import apply_rule_set, load_rule_set
from brainbehave.behaviour.segment_spec import LevelSpec, level_specs
from brainbehave.pose import load_pose
from brainbehave.provenance import versions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BehaviourSettings:
    """The ``behaviour`` block of the config, typed."""

    body: BodyParts = field(default_factory=BodyParts)
    smooth_s: float = 0.05
    mae: MAEConfig = field(default_factory=MAEConfig)
    groups: Mapping[str, tuple[str, ...]] | None = None
    max_gap_s: float = 10.0
    segment: tuple[LevelSpec, ...] = field(default_factory=lambda: level_specs({}))

    @classmethod
    def from_mapping(cls, cfg: Mapping) -> BehaviourSettings:
        """From the validated config block (schema defaults filled)."""
        body = dict(cfg.get("body", {}))
        if "forepaws" in body:
            body["forepaws"] = tuple(body["forepaws"])
        mae = dict(cfg.get("mae", {}))
        mae_cfg = MAEConfig(
            window=int(mae.get("window_frames", 384)),
            steps=int(mae.get("steps", 2000)),
            batch_size=int(mae.get("batch_size", 32)),
            mask_ratio=float(mae.get("mask_ratio", 0.75)),
            learning_rate=float(mae.get("learning_rate", 1e-3)),
            seed=int(mae.get("seed", 0)),
        )
        groups = {k: tuple(v) for k, v in mae.get("groups", {}).items()} or None
        return cls(
            body=BodyParts(**body),
            smooth_s=float(cfg.get("smooth_s", 0.05)),
            mae=mae_cfg,
            groups=groups,
            max_gap_s=float(mae.get("max_gap_s", 10.0)),
            segment=level_specs(cfg.get("segment", {})),
        )


def _view(pose_path: str | Path, settings: BehaviourSettings):
    ds = load_pose(pose_path)
    view = pose_view(ds, settings.body, settings.smooth_s)
    check_body_parts(settings.body, view.keypoints, f"{pose_path}")
    return view


def features_and_rule_labels(
    pose_path: str,
    rules_path: str,
    features_out: str,
    labels_out: str,
    intervals_out: str,
    settings: BehaviourSettings,
) -> None:
    """Per-frame features (netCDF) and rule-based labels (per frame + intervals) of one session.

    One step, as both read the same egocentric view of the 3D pose: it is built once, and a
    cohort plans one job per session for both (half the jobs of two steps; README, "Scale").
    """
    view = _view(pose_path, settings)
    ds = session_features(view)
    ds.attrs.update(source=str(pose_path), versions=str(versions(("numpy", "movement"))))
    rule_set = load_rule_set(rules_path, view.keypoints)
    labels = apply_rule_set(rule_set, view)
    write_netcdf(ds, features_out)
    save_labels(labels, labels_out, intervals_out)
    logger.info("%s: %d features over %d frames", view.where, ds.sizes["feature"], ds.sizes["time"])
    for level in labels.data_vars:
        logger.info(
            "%s: %s labels on %d frames", view.where, level, int((labels[level] >= 0).sum())
        )


def train_mae(
    pose_paths: Sequence[str],
    model_out: str,
    checkpoint: str,
    settings: BehaviourSettings,
    threads: int = 1,
    device: str = "cpu",
) -> None:
    """Train the hierarchical MAE over the cohort (resumes from ``checkpoint``).

    ``threads``: batch slices trained at once on the CPU
    (:class:`~brainbehave.behaviour.mae.Solver`); ``device``: ``cpu``, ``cuda`` or ``auto``.
    """
    from brainbehave.behaviour.mae import BehaviourMAE, mae_inputs

    views = [_view(p, settings) for p in pose_paths]
    inputs = [mae_inputs(v, settings.groups) for v in views]
    est = BehaviourMAE(settings.mae, settings.max_gap_s, device).fit(
        inputs, views[0].fps, checkpoint, threads=threads
    )
    est.save(model_out)
    # A finished training's checkpoint must not be resumed by the next run (new pose or code
    # would otherwise get the old model back at its last step): it goes once the model is out.
    Path(checkpoint).unlink(missing_ok=True)
    logger.info(
        "trained %d steps (%.0f sequences/s), final loss %.4f",
        est.n_steps_,
        est.sequences_per_s_,
        float(np.mean(est.history_[-20:])),
    )


def embed_session(pose_path: str, model_path: str, out: str, settings: BehaviourSettings) -> None:
    """Per-level embeddings of one session and of its mirror image (netCDF: level1..3 and
    level1..3_mirrored over time)."""
    from brainbehave.behaviour.mae import BehaviourMAE, embed_with_mirror

    view = _view(pose_path, settings)
    est = BehaviourMAE.load(model_path, settings.max_gap_s)
    emb = embed_with_mirror(est, view, settings.groups)
    ds = xr.Dataset(
        {name: (("time", f"dim_{name[:6]}"), e.astype(np.float32)) for name, e in emb.items()},
        coords={"time": np.arange(view.xyz.shape[0]) / view.fps},
        attrs={
            "fps": view.fps,
            "frames_per_token": str(est.config.frames_per_token),
            "model": str(model_path),
        },
    )
    write_netcdf(ds, out)


def _embeddings(path: str) -> tuple[dict[str, np.ndarray], float]:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return {name: ds[name].values for name in ds.data_vars}, float(ds.attrs["fps"])


def fit_segmenter(embedding_paths: Sequence[str], out: str, settings: BehaviourSettings) -> None:
    """Cohort-level clustering of every embedding level."""
    from brainbehave.behaviour.segment import Segmenter

    loaded = [_embeddings(p) for p in embedding_paths]
    seg = Segmenter(settings.segment, loaded[0][1], seed=settings.mae.seed)
    seg.fit([emb for emb, _ in loaded]).save(out)


def segment_session(
    embedding_path: str, segmenter_path: str, labels_out: str, intervals_out: str
) -> None:
    """MAE-based hierarchical segments of one session (labels + intervals, source mae)."""
    from brainbehave.behaviour.segment import Segmenter

    emb, _ = _embeddings(embedding_path)
    labels = Segmenter.load(segmenter_path).labels(emb, {"embeddings": str(embedding_path)})
    save_labels(labels, labels_out, intervals_out)
