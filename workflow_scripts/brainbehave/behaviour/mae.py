"""Hierarchical masked autoencoder: inputs, solver, estimator, checkpoints, embeddings.

Kept apart as in CEBRA: :func:`mae_inputs` turns a session's pose into per-frame channels and
keypoint groups; :class:`WindowSampler` draws training windows (index sampling only, from a
local ``torch.Generator``); :class:`Solver` owns model + optimizer and does one ``step()``;
:class:`BehaviourMAE` is the estimator front end (``fit`` returns self, fitted attributes end
in ``_``) that also saves and resumes checkpoints and extracts per-level embeddings.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

import brainbehave
from brainbehave.atomic import atomic_path
from brainbehave.behaviour.features import PoseView, egocentric, heading, mirror_view, nan_runs
from brainbehave.behaviour.mae_config import MAEConfig
from brainbehave.behaviour.mae_model import HierarchicalMAE
from brainbehave.errors import InputDataError
from brainbehave.torch_device import adam, resolve_device, side_by_side

logger = logging.getLogger(__name__)

LEVELS = ("level1", "level2", "level3")
# How each level's tokens are pooled into its per-frame embedding, in mask units either side
# of the frame's unit: None keeps the token itself, -1 averages the whole window. Level 1
# stays at its 4-frame tokens, level 2 is the mean of its unit (0.8 s at 30 fps), level 3
# the mean over +-3 units (5.6 s) of its window-wide tokens. Measured on the virtual lab
# (benchmarks/behaviour_mae.py): pooling the whole window (12.8 s) made the slowest level
# slower still but blurred activity boundaries (activity NMI 0.69 vs 0.86).
DEFAULT_POOL: tuple[int | None, int | None, int | None] = (None, 0, 3)
DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    "head": ("nose", "left_ear", "right_ear", "neck"),
    "trunk": ("back", "left_hip", "right_hip", "tail_base"),
    "forepaws": ("left_forepaw", "right_forepaw"),
    "hindpaws": ("left_hindpaw", "right_hindpaw"),
}


@dataclass(frozen=True)
class SessionInput:
    """One session's per-frame MAE channels.

    Attributes
    ----------
    x
        (T, C) channels: egocentric keypoints of each group, then body motion (forward and
        lateral speed, yaw rate); NaN where pose is missing.
    groups
        Channel indices of each token group (the last one is ``motion``).
    name
        ``subject/session``, named in messages.
    """

    x: np.ndarray
    groups: tuple[tuple[int, ...], ...]
    name: str


def mae_inputs(view: PoseView, groups: Mapping[str, Sequence[str]] | None = None) -> SessionInput:
    """Per-frame channels of one session, grouped by body part (+ a motion group)."""
    groups = dict(groups or DEFAULT_GROUPS)
    if bad := sorted({k for g in groups.values() for k in g} - set(view.keypoints)):
        raise InputDataError(
            f"{view.where}: MAE keypoint groups name {bad}, not in the pose; it has "
            f"{view.keypoints}. Set behaviour.mae.groups to your skeleton's names."
        )
    ego = egocentric(view)
    blocks, index, start = [], [], 0
    for names in groups.values():
        cols = ego[:, [view.keypoints.index(k) for k in names]].reshape(ego.shape[0], -1)
        blocks.append(cols)
        index.append(tuple(range(start, start + cols.shape[1])))
        start += cols.shape[1]
    centre = view.point(view.body.centre)[:, :2]
    vel = np.gradient(centre, axis=0) * view.fps if centre.shape[0] > 1 else centre * np.nan
    h = heading(view)
    fwd = np.cos(h) * vel[:, 0] + np.sin(h) * vel[:, 1]
    lat = -np.sin(h) * vel[:, 0] + np.cos(h) * vel[:, 1]
    dh = np.gradient(np.unwrap(np.nan_to_num(h)), axis=0) * view.fps if h.shape[0] > 1 else h
    blocks.append(np.stack([fwd, lat, np.where(np.isfinite(h), dh, np.nan)], axis=1))
    index.append(tuple(range(start, start + 3)))
    return SessionInput(np.concatenate(blocks, axis=1), tuple(index), view.where)


# A frame is usable when at least this share of its channels is observed; the missing ones
# are imputed with the channel mean (0 after normalisation). Requiring every keypoint made
# real pose unusable: a DeepLabCut model trained from scratch on the demo leaves a third or
# more of the 3D points NaN, spread over all frames.
MIN_OBSERVED_FRACTION = 0.5


def check_session(inp: SessionInput, window: int, fps: float, max_gap_s: float) -> np.ndarray:
    """Frames with enough observed input; refuse sessions too short or with too long gaps.

    Raises
    ------
    InputDataError
        When the session is shorter than the MAE window, has no usable frame at all, or an
        all-NaN stretch is longer than ``max_gap_s`` (a frame is missing when fewer than
        ``MIN_OBSERVED_FRACTION`` of its channels are observed); the message names the
        session and what to change.
    """
    n_t = inp.x.shape[0]
    if n_t < window:
        raise InputDataError(
            f"{inp.name}: {n_t} frames ({n_t / fps:.1f} s), shorter than the MAE window of "
            f"{window} frames ({window / fps:.1f} s). Leave this session out of "
            "behaviour_mae, or set behaviour.mae.window_frames smaller (a multiple of 24, "
            "at least 48)."
        )
    ok = np.isfinite(inp.x).mean(axis=1) >= MIN_OBSERVED_FRACTION
    if not ok.any():
        raise InputDataError(
            f"{inp.name}: no frame has at least {MIN_OBSERVED_FRACTION:.0%} of its MAE input "
            f"observed ({n_t} frames): the pose is missing throughout. Check this session's "
            "pose (pose2d/pose3d outputs) or leave it out of behaviour_mae."
        )
    starts, stops = nan_runs(~ok)
    if starts.size and (stops - starts).max() > max_gap_s * fps:
        i = int(np.argmax(stops - starts))
        raise InputDataError(
            f"{inp.name}: pose missing for {(stops[i] - starts[i]) / fps:.1f} s from "
            f"{starts[i] / fps:.1f} s (frames {starts[i]}-{stops[i]}), longer than "
            f"behaviour.mae.max_gap_s={max_gap_s}. Fix the pose (fewer missing keypoints) "
            "or raise max_gap_s to embed it anyway (those frames get no label)."
        )
    return ok


class WindowSampler:
    """Draws (session, start) pairs of training windows without missing frames."""

    def __init__(self, valid: Sequence[np.ndarray], window: int, names: Sequence[str] = ()) -> None:
        self.window = window
        self.starts = []
        for s, ok in enumerate(valid):
            bad = np.concatenate([[0], np.cumsum(~ok)])
            starts = np.flatnonzero(bad[window:] - bad[:-window] == 0)
            self.starts.extend((s, int(t)) for t in starts)
        if not self.starts:
            raise InputDataError(
                f"No window of {window} frames without missing pose in any session "
                f"({', '.join(names) or len(valid)}); the MAE cannot be trained. Use longer "
                "or more complete sessions, or set behaviour.mae.window_frames smaller."
            )

    def sample(self, n: int, generator: torch.Generator) -> list[tuple[int, int]]:
        """``n`` windows drawn uniformly with replacement."""
        idx = torch.randint(len(self.starts), (n,), generator=generator).tolist()
        return [self.starts[i] for i in idx]


def _patches(x: torch.Tensor, groups: Sequence[Sequence[int]], patch: int) -> list[torch.Tensor]:
    """(B, W, C) -> per group (B, W // patch, patch * C_g).

    ``index_select`` with an index tensor: indexing with a list of channels took 5 % of a
    training step (2.3 of 48 ms, profiled).
    """
    b, w, _ = x.shape
    return [
        x.index_select(2, torch.as_tensor(g, device=x.device)).reshape(
            b, w // patch, patch * len(g)
        )
        for g in groups
    ]


def random_mask(cfg: MAEConfig, batch: int, gen: torch.Generator) -> torch.Tensor:
    """(B, n_units) bool: ``mask_ratio`` of each window's mask units, at least one visible.

    A mask unit is the span of one coarsest token (all groups), so a unit is kept or dropped
    whole at every level (see :mod:`.mae_model`).
    """
    n_units = cfg.n_units
    n_mask = min(int(round(cfg.mask_ratio * n_units)), n_units - 1)
    order = torch.rand(batch, n_units, generator=gen).argsort(dim=1)
    mask = torch.zeros(batch, n_units, dtype=torch.bool)
    mask.scatter_(1, order[:, :n_mask], True)
    return mask


def _pool(tokens: torch.Tensor, n_units: int, radius: int | None) -> torch.Tensor:
    """(B, n_tokens, D) tokens averaged over ``radius`` units either side (-1: all, None: no)."""
    if radius is None:
        return tokens
    b, n_tok, d = tokens.shape
    if radius < 0:
        return tokens.mean(dim=1, keepdim=True).expand(b, n_tok, d)
    units = tokens.reshape(b, n_units, n_tok // n_units, d).mean(dim=2)
    csum = torch.nn.functional.pad(units.cumsum(dim=1), (0, 0, 1, 0))
    idx = torch.arange(n_units)
    lo, hi = (idx - radius).clamp(min=0), (idx + radius + 1).clamp(max=n_units)
    box = (csum[:, hi] - csum[:, lo]) / (hi - lo)[None, :, None]
    return box.repeat_interleave(n_tok // n_units, dim=1)


class Solver:
    """Model + optimizer; :meth:`step` trains on one batch and returns its metrics.

    With a ``pool`` of ``parts`` threads (:func:`~brainbehave.torch_device.side_by_side`), a
    step splits the batch into ``parts`` slices that run forward and backward at the same time,
    each on one intra-op thread, and sums their gradients in a fixed order: the same step as
    the whole batch (every window has the same number of masked units, so the loss is the
    slices' losses weighted by their sizes), equal up to float rounding, for any number of
    parts. The model's operations are small, so one thread per slice beats PyTorch's intra-op
    threads (384-frame windows, batch 32, 2 cores: 750-800 sequences/s on one thread, 740 with
    two intra-op threads, 1,060-1,070 with two parts).
    """

    def __init__(
        self,
        model: HierarchicalMAE,
        groups: Sequence[Sequence[int]],
        pool: ThreadPoolExecutor | None = None,
        parts: int = 1,
    ) -> None:
        cfg = model.cfg
        self.model, self.groups = model, groups
        self.pool, self.parts = pool, (1 if pool is None else max(1, parts))
        self.optimizer = adam(
            model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay, decoupled=True
        )
        self.n_steps = 0

    def step(self, batch: torch.Tensor, generator: torch.Generator) -> dict[str, float]:
        """zero_grad -> masked reconstruction loss -> backward -> optimizer step."""
        cfg = self.model.cfg
        self.model.train()
        self.optimizer.zero_grad()
        # drawn on the CPU generator (the same masks on any device), then moved to the batch's
        mask = random_mask(cfg, batch.shape[0], generator).to(batch.device)
        parts = min(self.parts, batch.shape[0])
        if parts == 1:
            loss = self.model(_patches(batch, self.groups, cfg.patch), mask)
            loss.backward()
        else:
            loss = self._parts_backward(batch, mask, parts)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.n_steps += 1
        return {"loss": float(loss.detach())}

    def _parts_backward(self, batch: torch.Tensor, mask: torch.Tensor, parts: int) -> torch.Tensor:
        """The batch's loss, its gradients set: ``parts`` slices run in the pool's threads."""
        n, params = batch.shape[0], list(self.model.parameters())
        bounds = np.linspace(0, n, parts + 1).round().astype(int)

        def part(lo: int, hi: int) -> tuple[torch.Tensor, tuple]:
            loss = self.model(
                _patches(batch[lo:hi], self.groups, self.model.cfg.patch), mask[lo:hi]
            )
            loss = loss * ((hi - lo) / n)
            return loss.detach(), torch.autograd.grad(loss, params, allow_unused=True)

        done = [f.result() for f in [self.pool.submit(part, a, b) for a, b in pairwise(bounds)]]
        for i, p in enumerate(params):  # summed in part order: the same for any scheduling
            grads = [g[i] for _, g in done if g[i] is not None]
            p.grad = None if not grads else functools.reduce(torch.add, grads)
        return functools.reduce(torch.add, [loss for loss, _ in done])


def _data_hash(names: Sequence[str], data: Sequence[torch.Tensor]) -> str:
    """Hash of the normalised training data: a checkpoint resumes only on the same data."""
    h = hashlib.sha256()
    for name, x in zip(names, data, strict=True):
        h.update(name.encode())
        h.update(np.ascontiguousarray(x.numpy()).tobytes())
    return h.hexdigest()[:16]


def config_hash(cfg: MAEConfig, groups: Sequence[Sequence[int]]) -> str:
    """Hash of the model/training config and the input layout (a checkpoint must match it)."""
    text = json.dumps({"cfg": cfg.to_dict(), "groups": [list(g) for g in groups]})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class BehaviourMAE:
    """Estimator front end of the hierarchical MAE.

    Parameters
    ----------
    config
        Model and training settings.
    max_gap_s
        Longest all-NaN stretch a session may hold (longer ones are refused, by name).
    device
        Where :meth:`fit` trains: ``cpu`` (default), ``cuda`` or ``auto`` (CUDA when present).
        Masks and windows are drawn on the CPU either way, so a seed picks the same batches.

    Attributes
    ----------
    model_
        The trained :class:`~.mae_model.HierarchicalMAE` (after :meth:`fit` or :meth:`load`).
    mean_, std_
        Per-channel normalisation fitted on the training sessions.
    groups_
        Channel indices of each token group.
    history_
        Loss per step.
    n_steps_
        Optimizer steps taken (across resumes).
    """

    def __init__(
        self, config: MAEConfig | None = None, max_gap_s: float = 10.0, device: str = "cpu"
    ) -> None:
        self.config = config or MAEConfig()
        self.max_gap_s = max_gap_s
        self.device = device

    def _normaliser(self, inputs: Sequence[SessionInput], valid: Sequence[np.ndarray]) -> None:
        # NaN-aware: frames of triangulated pose often miss a keypoint or two. With plain
        # mean/std one NaN made a channel's mean NaN and every std NaN, so every input was
        # imputed to 0 and the model learnt to reconstruct zeros (the demo, 14-17 % NaN 3D:
        # loss 0.0000 from step 250 on).
        x = np.concatenate([inp.x[ok] for inp, ok in zip(inputs, valid, strict=True)])
        seen = np.isfinite(x).any(axis=0)
        if not seen.all():
            logger.warning(
                "MAE input channels %s are missing in every training frame: they carry "
                "nothing (imputed with 0).",
                np.flatnonzero(~seen).tolist(),
            )
        x = x[:, seen]
        mean, std = np.zeros(seen.size), np.ones(seen.size)
        if x.size:
            mean[seen] = np.nanmean(x, axis=0)
            scale = 1e-3 * max(float(np.nanstd(x)), 1e-6)
            std[seen] = np.maximum(np.nanstd(x, axis=0), scale)
        self.mean_, self.std_ = mean, std

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num((x - self.mean_) / self.std_).astype(np.float32)

    def fit(
        self,
        inputs: Sequence[SessionInput],
        fps: float,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = 100,
        threads: int = 1,
    ) -> BehaviourMAE:
        """Train self-supervised on every session; resume from ``checkpoint`` if it matches.

        ``threads`` > 1 splits each batch into that many parts trained at once (see
        :class:`Solver`): the same steps up to float rounding, so it is not part of the
        checkpoint's config and a checkpoint resumes with any number of threads.

        Returns
        -------
        BehaviourMAE
            self, with the fitted attributes set.
        """
        cfg = self.config
        valid = [check_session(inp, cfg.window, fps, self.max_gap_s) for inp in inputs]
        self.groups_ = inputs[0].groups
        self._normaliser(inputs, valid)
        data = [torch.from_numpy(self._normalise(inp.x)) for inp in inputs]
        self.data_hash_ = _data_hash([inp.name for inp in inputs], data)
        sampler = WindowSampler(valid, cfg.window, [inp.name for inp in inputs])
        torch.manual_seed(cfg.seed)  # parameter initialisation only; batches use `gen`
        self.model_ = HierarchicalMAE(cfg, [len(g) for g in self.groups_])
        self.device_ = resolve_device(self.device)
        self.model_.to(self.device_)
        if self.device_.type != "cpu":
            threads = 1  # batch slices share out CPU cores; a GPU takes the whole batch
        with side_by_side(threads, "mae-slice") as pool:
            solver = Solver(self.model_, self.groups_, pool, threads)
            gen = torch.Generator().manual_seed(cfg.seed)
            self.history_: list[float] = []
            if checkpoint is not None and Path(checkpoint).is_file():
                self._resume(Path(checkpoint), solver, gen)
            t0, start = time.perf_counter(), solver.n_steps
            while solver.n_steps < cfg.steps:
                picks = sampler.sample(cfg.batch_size, gen)
                batch = torch.stack([data[s][t : t + cfg.window] for s, t in picks])
                batch = batch.to(self.device_)
                self.history_.append(solver.step(batch, gen)["loss"])
                if solver.n_steps % 50 == 0:
                    logger.info(
                        "step %d/%d loss %.4f", solver.n_steps, cfg.steps, self.history_[-1]
                    )
                if checkpoint is not None and solver.n_steps % checkpoint_every == 0:
                    self._save(checkpoint, solver, gen)
        elapsed = time.perf_counter() - t0
        self.n_steps_ = solver.n_steps
        self.sequences_per_s_ = (solver.n_steps - start) * cfg.batch_size / max(elapsed, 1e-9)
        if checkpoint is not None:
            self._save(checkpoint, solver, gen)
        self.model_.eval()
        return self

    # -- checkpoints ------------------------------------------------------------------------
    def _state(self, solver: Solver | None, gen: torch.Generator | None) -> dict:
        state = {
            "weights": self.model_.state_dict(),
            "config": self.config.to_dict(),
            "config_hash": config_hash(self.config, self.groups_),
            "groups": [list(g) for g in self.groups_],
            "mean": self.mean_,
            "std": self.std_,
            "history": list(self.history_),
            "data_hash": getattr(self, "data_hash_", None),
            "version": brainbehave.__version__,
            "step": solver.n_steps if solver else self.n_steps_,
        }
        if solver is not None:
            state["optimizer"] = solver.optimizer.state_dict()
            state["generator"] = gen.get_state()
        return state

    def _save(self, path: str | Path, solver: Solver | None, gen: torch.Generator | None) -> None:
        with atomic_path(path) as tmp:
            torch.save(self._state(solver, gen), tmp)

    def _resume(self, path: Path, solver: Solver, gen: torch.Generator) -> None:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state.get("config_hash") != config_hash(self.config, self.groups_):
            logger.warning("checkpoint %s is for another config; training from scratch", path)
            return
        if state.get("data_hash") != self.data_hash_:
            logger.warning(
                "checkpoint %s was trained on other data (sessions or pose changed); training "
                "from scratch",
                path,
            )
            return
        self.model_.load_state_dict(state["weights"])
        solver.optimizer.load_state_dict(state["optimizer"])
        solver.n_steps = int(state["step"])
        gen.set_state(state["generator"])
        self.history_ = list(state["history"])
        logger.info(
            "resumed from %s at step %d (version %s)", path, solver.n_steps, state["version"]
        )

    def _device(self) -> torch.device:
        """Where the model's weights are (embedding runs there)."""
        return next(self.model_.parameters()).device

    def save(self, path: str | Path) -> None:
        """Write the fitted model (weights, config hash, normalisation, version) whole."""
        self._save(path, None, None)

    @classmethod
    def load(cls, path: str | Path, max_gap_s: float = 10.0) -> BehaviourMAE:
        """A fitted estimator from a file written by :meth:`save` or a checkpoint."""
        state = torch.load(path, map_location="cpu", weights_only=False)
        raw = state["config"]
        if unknown := sorted(set(raw) - set(MAEConfig.__dataclass_fields__)):
            raise InputDataError(
                f"{path}: MAE model written by another version of brainbehave (settings "
                f"{unknown} unknown to this one). Delete it and the checkpoint next to it "
                "so that behaviour_mae_train trains a new model."
            )
        cfg = MAEConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
        est = cls(cfg, max_gap_s)
        est.groups_ = tuple(tuple(g) for g in state["groups"])
        est.mean_, est.std_ = state["mean"], state["std"]
        est.history_, est.n_steps_ = list(state["history"]), int(state["step"])
        est.model_ = HierarchicalMAE(cfg, [len(g) for g in est.groups_])
        est.model_.load_state_dict(state["weights"])
        est.model_.eval()
        return est

    # -- embeddings -------------------------------------------------------------------------
    def embed(
        self,
        inp: SessionInput,
        fps: float,
        batch: int = 64,
        pool: Sequence[int | None] = DEFAULT_POOL,
    ) -> dict[str, np.ndarray]:
        """Per-frame embeddings of each level, (T, D_l); NaN on frames with missing pose.

        Each level's tokens are first pooled over ``pool[level]`` mask units either side
        (see ``DEFAULT_POOL``).

        Windows slide by one mask unit (the last one ends at the last frame); a frame's
        embedding is the average of the tokens covering it in every window that holds it,
        weighted by a triangle peaking at the window centre, so each frame is described
        mostly from windows where it has context on both sides, and every position in the
        window (and its position embedding) weighs the same for every frame.
        """
        cfg = self.config
        ok = check_session(inp, cfg.window, fps, self.max_gap_s)
        if tuple(inp.groups) != tuple(self.groups_):
            raise InputDataError(
                f"{inp.name}: input channels {len(inp.x[0])} / groups differ from the trained "
                "model's; embed with the keypoint groups the model was trained with."
            )
        n_t = inp.x.shape[0]
        stride = cfg.frames_per_token[2]
        starts = sorted({*range(0, n_t - cfg.window + 1, stride), n_t - cfg.window})
        x = torch.from_numpy(self._normalise(inp.x))
        sums: list[np.ndarray | None] = [None, None, None]
        weight = np.zeros(n_t)
        ramp = 1.0 - np.abs(2.0 * (np.arange(cfg.window) + 0.5) / cfg.window - 1.0)
        ramp = np.maximum(ramp, 0.05)
        self.model_.eval()
        with torch.no_grad():
            for i in range(0, len(starts), batch):
                chunk = starts[i : i + batch]
                windows = torch.stack([x[t : t + cfg.window] for t in chunk])
                windows = windows.to(self._device())
                levels = self.model_.encoder.levels_in_time(
                    _patches(windows, self.groups_, cfg.patch)
                )
                levels = [_pool(lvl, cfg.n_units, r) for lvl, r in zip(levels, pool, strict=True)]
                self._accumulate(levels, chunk, sums, ramp, n_t)
                for t in chunk:
                    weight[t : t + cfg.window] += ramp
        out = {name: s / weight[:, None] for name, s in zip(LEVELS, sums, strict=True)}
        for value in out.values():
            value[~ok] = np.nan
        return out

    def _accumulate(self, levels, starts: list[int], sums: list, ramp: np.ndarray, n_t: int):
        for li, (tokens, frames) in enumerate(
            zip(levels, self.config.frames_per_token, strict=True)
        ):
            per_frame = np.repeat(tokens.cpu().numpy(), frames, axis=1) * ramp[None, :, None]
            if sums[li] is None:
                sums[li] = np.zeros((n_t, per_frame.shape[-1]))
            for w, t in enumerate(starts):
                sums[li][t : t + per_frame.shape[1]] += per_frame[w]


def embed_with_mirror(
    est: BehaviourMAE, view: PoseView, groups: Mapping[str, Sequence[str]] | None = None
) -> dict[str, np.ndarray]:
    """Each level's embedding of the pose, and as ``<level>_mirrored`` of its mirror image.

    The segmenter averages the two for mirror-invariant levels (a left and a right turn
    alike); see :func:`~.features.mirror_view`.
    """
    out = est.embed(mae_inputs(view, groups), view.fps)
    mirrored = est.embed(mae_inputs(mirror_view(view), groups), view.fps)
    out.update({f"{lvl}_mirrored": emb for lvl, emb in mirrored.items()})
    return out
