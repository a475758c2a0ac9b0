"""The training loop: ``Solver.step()`` does one update, ``Solver.fit()`` loops it.

A checkpoint holds the weights, the optimizer state, the step, the loss history, the
sampler's random state (and that of any torch generator the objective draws from), a hash of
the fit's configuration and the package version, so a preempted job resumes where it stopped
and gives the same result as an uninterrupted one.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

import brainbehave
from brainbehave.atomic import atomic_path

logger = logging.getLogger(__name__)

# The fit a thread is running, for its log lines (set by the caller, e.g. the pipeline).
FIT_NAME: contextvars.ContextVar[str] = contextvars.ContextVar("fit_name", default="")
# 2: the states of the objective's torch generators; 3: offset10 in cebra's layout, initial
# weights from a mixed seed (a checkpoint of format 2 would not load into it)
CHECKPOINT_VERSION = 3
Objective = Callable[[], tuple[torch.Tensor, dict[str, float]]]


def config_hash(config: Mapping[str, Any]) -> str:
    """Short SHA-256 of a JSON-serialisable configuration (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Solver:
    """Optimises ``objective`` (a closure drawing a batch and returning loss and metrics).

    Parameters
    ----------
    model
        The module whose parameters ``optimizer`` updates.
    optimizer
        A torch optimizer over ``model``'s parameters.
    objective
        Called once per step: returns ``(loss, metrics)``.
    rng
        The sampler's generator (its state goes into checkpoints).
    config
        The fit's configuration; its hash guards a resumed checkpoint.
    generators
        Torch generators the objective draws from (e.g. a VAE's noise), by name: their states
        go into checkpoints too. A fit never touches torch's global generator, so fits may run
        side by side in threads. Log lines start with :data:`FIT_NAME` where it is set (fits
        running side by side write to one log).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        objective: Objective,
        rng: np.random.Generator,
        config: Mapping[str, Any],
        generators: Mapping[str, torch.Generator] | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.objective = objective
        self.rng = rng
        self.generators = dict(generators or {})
        name = FIT_NAME.get()
        self.prefix = f"{name}: " if name else ""
        self.config_hash = config_hash(config)
        self.num_steps = 0
        self.history: list[dict[str, float]] = []

    def step(self) -> dict[str, float]:
        """zero_grad → loss → backward → optimizer step; returns the step's metrics."""
        self.optimizer.zero_grad(set_to_none=True)
        loss, metrics = self.objective()
        loss.backward()
        self.optimizer.step()
        self.num_steps += 1
        return {"loss": float(loss.detach()), **metrics}

    def fit(
        self,
        n_steps: int,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 500,
        log_every: int = 100,
    ) -> Solver:
        """Run until ``n_steps`` steps are done in total (resuming from ``checkpoint``)."""
        if checkpoint is not None and Path(checkpoint).is_file():
            self.load(checkpoint)
        self.model.train()
        t0, start = time.perf_counter(), self.num_steps
        while self.num_steps < n_steps:
            self.history.append(self.step())
            if log_every and self.num_steps % log_every == 0:
                logger.info(
                    "%sstep %d/%d: %s", self.prefix, self.num_steps, n_steps, _fmt(self.history[-1])
                )
            if checkpoint is not None and self.num_steps % checkpoint_every == 0:
                self.save(checkpoint)
        if checkpoint is not None:
            self.save(checkpoint)
        done = self.num_steps - start
        if done:
            rate = done / max(time.perf_counter() - t0, 1e-9)
            logger.info("%s%d steps at %.1f it/s", self.prefix, done, rate)
        return self

    def state(self) -> dict[str, Any]:
        """Everything a resumed fit needs."""
        return {
            "checkpoint_version": CHECKPOINT_VERSION,
            "package_version": brainbehave.__version__,
            "config_hash": self.config_hash,
            "step": self.num_steps,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "history": self.history,
            "rng": self.rng.bit_generator.state,
            "generators": {k: g.get_state() for k, g in self.generators.items()},
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint whole (temp file, then rename)."""
        with atomic_path(path) as tmp:
            torch.save(self.state(), tmp)

    def load(self, path: str | os.PathLike) -> bool:
        """Resume from ``path`` if it was written by a fit of the same configuration.

        A checkpoint of another configuration (or format) is ignored with a warning, so a
        changed config starts afresh instead of continuing someone else's fit.
        """
        state = torch.load(path, map_location="cpu", weights_only=False)
        if (
            state.get("checkpoint_version") != CHECKPOINT_VERSION
            or state.get("config_hash") != self.config_hash
        ):
            logger.warning(
                "%s: checkpoint of another configuration (hash %s, this fit %s); starting afresh.",
                path,
                state.get("config_hash"),
                self.config_hash,
            )
            return False
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.num_steps = int(state["step"])
        self.history = list(state["history"])
        self.rng.bit_generator.state = state["rng"]
        for key, g in self.generators.items():
            g.set_state(state["generators"][key])
        logger.info("%sresumed %s at step %d", self.prefix, path, self.num_steps)
        return True


def _fmt(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
