"""sklearn-style front end of the contrastive model: ``ContrastiveEmbedding().fit(X, y)``.

``X`` is one (time, units) array or a list of them (sessions). With several sessions and
``multi_session=False`` they are concatenated into one (same units required); with
``multi_session=True`` each session gets its own input layer and the embedding space is
shared, aligned across sessions by behaviour positives drawn from the other sessions.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from brainbehave.errors import InputDataError
from brainbehave.latents import losses
from brainbehave.latents.data import CONDITIONALS, Batch, Sampler, make_sessions, pad_edges
from brainbehave.latents.models import (
    Encoder,
    get_model,
    init_generator,
    init_weights,
    load_weights,
)
from brainbehave.latents.solver import Solver
from brainbehave.torch_device import adam, resolve_device

logger = logging.getLogger(__name__)

NEGATIVES = ("sampled", "batch")


def as_sessions(
    X: np.ndarray | Sequence[np.ndarray],
    y: np.ndarray | Sequence[np.ndarray] | None,
    multi_session: bool,
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Sessions as lists; concatenated into one when a single-session model is asked for.

    Raises
    ------
    InputDataError
        If sessions with different numbers of units are given to a single-session model, or
        the number of label arrays differs from the number of sessions.
    """
    many = isinstance(X, (list, tuple))
    xs = [np.asarray(x) for x in X] if many else [np.asarray(X)]
    ys = None if y is None else ([np.asarray(v) for v in y] if many else [np.asarray(y)])
    if ys is not None and len(ys) != len(xs):
        raise InputDataError(f"Got {len(xs)} neural sessions but {len(ys)} label arrays.")
    if len(xs) > 1 and not multi_session:
        widths = sorted({x.shape[-1] for x in xs})
        if len(widths) > 1:
            raise InputDataError(
                f"The sessions have different numbers of units {[x.shape[-1] for x in xs]}, "
                "but a single-session model needs the same units in every session. Use "
                "multi_session=True (one input layer per session) or fit sessions separately."
            )
        xs = [np.concatenate(xs)]
        ys = None if ys is None else [np.concatenate(ys)]
    return xs, ys


class ContrastiveEmbedding:
    """A CEBRA-style contrastive embedding of neural activity.

    Parameters
    ----------
    model
        Encoder architecture (a name in :data:`brainbehave.latents.models.MODELS`).
    output_dim, hidden
        Embedding dimension; channels of the encoder.
    conditional
        ``time``, ``behaviour`` (continuous y), ``discrete`` (integer y) or ``hybrid``.
    time_offset
        Bins between a reference and its time positive (and the behaviour step scale).
    temperature, similarity
        InfoNCE temperature; ``cosine`` (normalised embedding) or ``euclidean``.
    batch_size, steps, learning_rate
        Optimisation.
    multi_session
        One input layer per session (see the module docstring).
    seed
        Fixes initial weights and every batch: the same seed gives the same embedding.
    device
        ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    checkpoint, checkpoint_every
        Resumable checkpoint file (None: no checkpoint) and how often it is written.
    normalize
        Embeddings on the unit sphere; None: with cosine similarity only (Euclidean InfoNCE
        keeps the positive in its partition, so unnormalised embeddings cannot run off to
        infinity; see :func:`brainbehave.latents.losses.infonce`).
    negatives
        ``sampled``: a separate batch of uniformly drawn negatives (as CEBRA); ``batch``: the
        other references of the batch (also uniform draws; a third fewer encoder passes).
        Multi-session behaviour batches always sample their negatives in the other session.
    """

    def __init__(
        self,
        model: str = "offset10",
        output_dim: int = 3,
        hidden: int = 32,
        conditional: str = "time",
        time_offset: int = 10,
        temperature: float = 1.0,
        similarity: str = "cosine",
        batch_size: int = 512,
        steps: int = 1000,
        learning_rate: float = 3e-4,
        multi_session: bool = False,
        seed: int = 0,
        device: str = "auto",
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 500,
        normalize: bool | None = None,
        negatives: str = "sampled",
    ) -> None:
        self.model = model
        self.output_dim = output_dim
        self.hidden = hidden
        self.conditional = conditional
        self.time_offset = time_offset
        self.temperature = temperature
        self.similarity = similarity
        self.batch_size = batch_size
        self.steps = steps
        self.learning_rate = learning_rate
        self.multi_session = multi_session
        self.seed = seed
        self.device = device
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.normalize = normalize
        self.negatives = negatives

    def _normalized(self) -> bool:
        """Whether embeddings lie on the unit sphere (``normalize``; None: cosine only)."""
        return self.similarity == "cosine" if self.normalize is None else bool(self.normalize)

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (as sklearn's ``get_params``)."""
        names = [
            n
            for cls in type(self).__mro__
            if cls is not object
            for n, p in inspect.signature(cls.__init__).parameters.items()
            if n != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
        ]
        return {n: getattr(self, n) for n in dict.fromkeys(names)}

    # -- fitting -----------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray | Sequence[np.ndarray],
        y: np.ndarray | Sequence[np.ndarray] | None = None,
    ) -> ContrastiveEmbedding:
        """Fit the encoder; returns self. ``X``/``y``: one array or a list per session."""
        self._check_params()
        xs, ys = as_sessions(X, y, self.multi_session)
        sessions = make_sessions(xs, ys, self.conditional, self.batch_size, self.time_offset)
        self.device_ = resolve_device(str(self.device))
        generator = init_generator(int(self.seed))
        encoder = get_model(self.model)(
            [s.x.shape[1] for s in sessions],
            self.output_dim,
            hidden=self.hidden,
            normalize=self._normalized(),
        )
        self.model_ = self._build(encoder, sessions, generator).to(self.device_)
        self.n_sessions_ = len(sessions)
        self.n_features_in_ = [s.x.shape[1] for s in sessions]
        self.receptive_field_ = encoder.receptive_field
        rng = np.random.default_rng(int(self.seed))
        sampler = Sampler(sessions, self.conditional, self.batch_size, self.time_offset, rng)
        self._padded = [self._pad(s.x) for s in sessions]  # (T + window - 1, units)
        # (1, units, T + w - 1) where the whole-session pass is taken: up to 4 parts of a batch
        # (reference, positive, negative, time positive) are embedded in one call
        self._whole = [
            self.encoder_.whole_session(p, 4 * self.batch_size, s)
            for s, p in enumerate(self._padded)
        ]
        self._counts = [torch.from_numpy(s.x).to(self.device_) for s in sessions]
        self._labels = [
            None if s.y is None else torch.as_tensor(s.y, dtype=torch.float32).to(self.device_)
            for s in sessions
        ]
        optimizer = adam(self.model_.parameters(), lr=self.learning_rate)
        config = {**self.get_params(), "n_inputs": self.n_features_in_}
        # not part of the fit: where it runs, how often it saves, how far it goes (a longer
        # fit continues a shorter one's checkpoint)
        for key in ("checkpoint", "checkpoint_every", "device", "steps"):
            config.pop(key)
        self.solver_ = Solver(self.model_, optimizer, lambda: self._objective(sampler), rng, config)
        self.solver_.fit(self.steps, self.checkpoint, self.checkpoint_every)
        self.loss_history_ = np.array([h["loss"] for h in self.solver_.history])
        del self._padded, self._whole, self._counts, self._labels
        return self

    def _check_params(self) -> None:
        if self.conditional not in CONDITIONALS:
            raise InputDataError(
                f"conditional must be one of {CONDITIONALS}, got {self.conditional!r}."
            )
        if self.similarity not in losses.SIMILARITIES:
            raise InputDataError(
                f"similarity must be one of {losses.SIMILARITIES}, got {self.similarity!r}."
            )
        for name in ("output_dim", "hidden", "batch_size", "time_offset"):
            if int(getattr(self, name)) < 1:
                raise InputDataError(f"{name} must be >= 1, got {getattr(self, name)!r}.")
        if self.negatives not in NEGATIVES:
            raise InputDataError(f"negatives must be one of {NEGATIVES}, got {self.negatives!r}.")
        if self.temperature <= 0:
            raise InputDataError(f"temperature must be > 0, got {self.temperature!r}.")

    def _build(
        self, encoder: Encoder, sessions: list, generator: torch.Generator
    ) -> torch.nn.Module:
        """The trained module (subclasses add heads); weights drawn from ``generator``."""
        init_weights(encoder, generator)
        return encoder

    @property
    def encoder_(self) -> Encoder:
        """The encoder part of the fitted module."""
        return self.model_

    def _pad(self, x: np.ndarray) -> torch.Tensor:
        rf = self.receptive_field_
        left = (rf - 1) // 2
        return torch.from_numpy(pad_edges(x, left, rf - 1 - left)).to(self.device_)

    def _embed(self, session: int, index: np.ndarray) -> torch.Tensor:
        """Embeddings (n, d) of the windows centred on ``index`` in one session
        (:meth:`Encoder.embed_bins`: the windows, or the whole session when that is cheaper)."""
        idx = torch.from_numpy(index).to(self.device_)
        return self.encoder_.embed_bins(self._padded[session], idx, session, self._whole[session])

    def _batches(self, sampler: Sampler) -> list[Batch]:
        n = self.n_sessions_
        if n > 1 and self.conditional == "behaviour":
            return [sampler.sample_across(i, (i + 1) % n) for i in range(n)]
        return [sampler.sample(i) for i in range(n)]

    def _objective(self, sampler: Sampler) -> tuple[torch.Tensor, dict[str, float]]:
        total, metrics = 0.0, {"align": 0.0, "uniform": 0.0}
        for b in self._batches(sampler):
            ref, pos, neg, pos_time = self._embed_batch(b)
            shared = neg is None
            neg = ref if shared else neg
            loss, align, uniform = losses.infonce(
                ref, pos, neg, self.temperature, self.similarity, exclude_self=shared
            )
            if pos_time is not None:
                extra = losses.infonce(
                    ref, pos_time, neg, self.temperature, self.similarity, exclude_self=shared
                )
                loss, align, uniform = loss + extra[0], align + extra[1], uniform + extra[2]
            total = total + self._contrastive_weight() * loss + self._extra_loss(b, ref, metrics)
            metrics["align"] += float(align.detach()) / self.n_sessions_
            metrics["uniform"] += float(uniform.detach()) / self.n_sessions_
        return total / self.n_sessions_, metrics

    def _embed_batch(self, b: Batch):
        """Reference, positive, negative (and time-positive) embeddings, few encoder passes.

        With ``negatives="batch"`` the negative is None: the references serve as negatives.
        """
        if b.other == b.session:
            shared = self.negatives == "batch"
            parts = [b.ref, b.pos] + ([] if shared else [b.neg])
            parts += [b.pos_time] if b.pos_time is not None else []
            z = list(self._embed(b.session, np.concatenate(parts)).split(len(b.ref)))
            if shared:
                z.insert(2, None)
            return z[0], z[1], z[2], (z[3] if len(z) > 3 else None)
        ref = self._embed(b.session, b.ref)
        pos, neg = self._embed(b.other, np.concatenate([b.pos, b.neg])).split(len(b.ref))
        return ref, pos, neg, None

    def _contrastive_weight(self) -> float:
        return 1.0

    def _extra_loss(self, batch: Batch, ref: torch.Tensor, metrics: dict) -> torch.Tensor | float:
        """Further terms of the objective (none here; see the hybrid model)."""
        return 0.0

    # -- using the fit -----------------------------------------------------------------------
    def transform(self, X: np.ndarray, session: int = 0) -> np.ndarray:
        """(time, output_dim) embedding of a (time, units) array of session ``session``.

        Raises
        ------
        InputDataError
            If the model is not fitted, the session index is out of range, or the number of
            units differs from the units the session's input layer was fitted on.
        """
        if not hasattr(self, "model_"):
            raise InputDataError("This model is not fitted yet: call fit(X, y) first.")
        if not 0 <= session < self.n_sessions_:
            raise InputDataError(f"session {session} out of range: fitted on {self.n_sessions_}.")
        x = np.asarray(X, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features_in_[session]:
            raise InputDataError(
                f"Expected data of shape (time, {self.n_features_in_[session]}) for session "
                f"{session}, but got {x.shape}."
            )
        padded = self._pad(x).T[None]  # (1, units, time + window - 1)
        self.model_.eval()
        try:
            with torch.no_grad():
                z = self.encoder_(padded, session)[0].T
        finally:
            self.model_.train()
        return z.cpu().numpy()

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model (parameters, weights, version) for :meth:`load`."""
        torch.save(self.to_state(), path)

    def to_state(self) -> dict[str, Any]:
        """The fitted model as a dict of plain values and tensors."""
        import brainbehave

        return {
            "class": type(self).__name__,
            "params": {**self.get_params(), "checkpoint": None},
            "n_features_in": self.n_features_in_,
            "state_dict": self.model_.state_dict(),
            "package_version": brainbehave.__version__,
            "extra": self._save_extra(),
        }

    def _save_extra(self) -> dict[str, Any]:
        return {}

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> ContrastiveEmbedding:
        """Read a model written by :meth:`save` (on CPU unless told otherwise)."""
        return cls.from_state(torch.load(path, map_location="cpu", weights_only=False), device)

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str = "cpu") -> ContrastiveEmbedding:
        """The model from :meth:`to_state`."""
        if state.get("class") != cls.__name__:
            raise InputDataError(f"The state holds a {state.get('class')}, not a {cls.__name__}.")
        self = cls(**{**state["params"], "device": device})
        self.device_ = resolve_device(device)
        self.n_features_in_ = list(state["n_features_in"])
        self.n_sessions_ = len(self.n_features_in_)
        encoder = get_model(self.model)(
            self.n_features_in_,
            self.output_dim,
            hidden=self.hidden,
            normalize=self._normalized(),
        )
        self.receptive_field_ = encoder.receptive_field
        self._load_extra(state["extra"])
        self.model_ = self._build(encoder, [], torch.Generator().manual_seed(0))
        load_weights(self.model_, state["state_dict"], f"A saved {cls.__name__}")
        self.model_.to(self.device_)
        return self

    def _load_extra(self, extra: dict[str, Any]) -> None:
        pass

    def fit_transform(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """``fit(X, y).transform(X)`` for one session."""
        return self.fit(X, y).transform(X)
