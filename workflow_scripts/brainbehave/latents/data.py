"""Input checks, datasets and index sampling for the latent models.

Samplers only draw indices (reference, positive, negative); they never touch the encoder.
Every sampler draws from a local :class:`numpy.random.Generator`, so a seed fixes the batches.

Positive pairs
--------------
``time``        the sample ``time_offset`` bins later (self-supervised).
``behaviour``   a sample whose continuous behaviour is nearest to the reference's behaviour
                plus a step the behaviour really takes in ``time_offset`` bins (found with a
                KD-tree: O(batch log T) per batch, where a dense T x batch distance matrix
                costs O(T batch)).
``discrete``    a sample with the same label.
``hybrid``      one time positive and one behaviour positive per reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from brainbehave.errors import InputDataError

CONDITIONALS = ("time", "behaviour", "discrete", "hybrid")


def check_neural(x: np.ndarray, where: str = "session 0", *, min_rows: int = 2) -> np.ndarray:
    """Check a (time, units) neural matrix and return it as float32.

    Raises
    ------
    InputDataError
        If it is not 2D, has non-finite values, fewer than ``min_rows`` time points, or units
        that never fire (a constant-zero column carries no information and breaks
        normalisation downstream).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise InputDataError(
            f"{where}: expected neural data of shape (time, units), but got shape {x.shape}."
        )
    if x.shape[0] < min_rows:
        raise InputDataError(
            f"{where}: {x.shape[0]} time points, fewer than the batch size {min_rows}. Lower "
            "batch_size or give a longer session."
        )
    if not np.all(np.isfinite(x)):
        raise InputDataError(f"{where}: neural data hold {int((~np.isfinite(x)).sum())} NaN/inf.")
    silent = np.flatnonzero(~np.any(x != 0, axis=0))
    if len(silent):
        raise InputDataError(
            f"{where}: units {silent[:10].tolist()}{' ...' if len(silent) > 10 else ''} "
            f"({len(silent)} of {x.shape[1]}) have no spikes. Drop them before fitting, e.g. "
            "x[:, x.any(axis=0)]."
        )
    return x.astype(np.float32, copy=False)


def check_labels(y: np.ndarray, n: int, where: str = "session 0") -> np.ndarray:
    """Check behaviour labels for ``n`` time points; return them as a 2D array (time, dims).

    Raises
    ------
    InputDataError
        If the length differs from the neural data or a value is NaN/inf.
    """
    y = np.asarray(y)
    y = y[:, None] if y.ndim == 1 else y
    if y.ndim != 2 or y.shape[0] != n:
        raise InputDataError(
            f"{where}: expected behaviour labels with {n} rows (one per time point), but got "
            f"shape {y.shape}."
        )
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
        bad = np.flatnonzero(~np.all(np.isfinite(y), axis=1))
        raise InputDataError(
            f"{where}: behaviour labels are NaN/inf at {len(bad)} time points (first "
            f"{bad[:5].tolist()}). Drop those rows from both neural data and labels (e.g. "
            "with the aligned dataset's 'valid' mask) or interpolate them first."
        )
    return y


def pad_edges(x: np.ndarray, left: int, right: int) -> np.ndarray:
    """Repeat the first/last row so a window of ``left + 1 + right`` rows fits every time."""
    return np.concatenate([np.repeat(x[:1], left, 0), x, np.repeat(x[-1:], right, 0)], axis=0)


@dataclass
class Session:
    """One session's arrays for training.

    Attributes
    ----------
    x
        (T, units) float32 neural data.
    y
        (T, dims) continuous behaviour, (T, 1) integer labels, or None.
    """

    x: np.ndarray
    y: np.ndarray | None = None
    tree: cKDTree | None = field(default=None, repr=False)
    _by_label: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of time points."""
        return len(self.x)


def make_sessions(
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray] | None,
    conditional: str,
    batch_size: int,
    time_offset: int,
) -> list[Session]:
    """Check every session's arrays and build the lookup structures the sampler needs.

    Raises
    ------
    InputDataError
        On bad neural data or labels (see :func:`check_neural`, :func:`check_labels`), on a
        missing label for a behaviour-conditioned mode, or on sessions too short for a batch.
    """
    if conditional not in CONDITIONALS:
        raise InputDataError(f"conditional must be one of {CONDITIONALS}, got {conditional!r}.")
    needs_y = conditional != "time"
    if needs_y and ys is None:
        raise InputDataError(
            f"conditional={conditional!r} needs behaviour labels: call fit(X, y). "
            "Use conditional='time' for a self-supervised fit."
        )
    sessions, scale = [], None
    if conditional in ("behaviour", "hybrid"):
        # one scale for all sessions, so "near in behaviour" means the same in each
        stacked = np.concatenate([np.asarray(y, dtype=np.float64).reshape(len(y), -1) for y in ys])
        sd = stacked.std(axis=0)
        scale = (stacked.mean(axis=0), np.where(sd > 0, sd, 1.0))
    for i, x in enumerate(xs):
        where = f"session {i}"
        x = check_neural(x, where, min_rows=max(batch_size, time_offset + 2))
        y = check_labels(ys[i], len(x), where) if ys is not None else None
        s = Session(x=x, y=y)
        if conditional in ("behaviour", "hybrid"):
            s.y = (y.astype(np.float64) - scale[0]) / scale[1]
            s.tree = cKDTree(s.y)
        elif conditional == "discrete":
            s._by_label = _label_index(y, where)
        sessions.append(s)
    return sessions


def _label_index(y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if y.shape[1] != 1 or not np.issubdtype(y.dtype, np.integer):
        raise InputDataError(
            f"{where}: conditional='discrete' needs one integer label per time point, got "
            f"dtype {y.dtype} and shape {y.shape}."
        )
    labels = y[:, 0]
    order = np.argsort(labels, kind="stable")
    values, start, count = np.unique(labels[order], return_index=True, return_counts=True)
    lookup = np.full(int(values.max() - values.min()) + 1, -1)
    lookup[values - values.min()] = np.arange(len(values))
    return order, np.stack([start, count], 1)[lookup[labels - values.min()]], values


@dataclass
class Batch:
    """Indices of one batch per session: reference, positive(s), negative."""

    session: int
    ref: np.ndarray
    pos: np.ndarray
    neg: np.ndarray
    pos_time: np.ndarray | None = None
    pos_session: int | None = None

    @property
    def other(self) -> int:
        """Session of the positives and negatives (the reference's own unless multi-session)."""
        return self.session if self.pos_session is None else self.pos_session


class Sampler:
    """Draws batches of indices for one conditional over one or more sessions.

    Parameters
    ----------
    sessions
        From :func:`make_sessions`.
    conditional
        One of :data:`CONDITIONALS`.
    batch_size
        Reference samples (and negatives) per batch.
    time_offset
        Bins between a reference and its time positive; also the behaviour step scale.
    rng
        Local random generator.
    """

    def __init__(
        self,
        sessions: Sequence[Session],
        conditional: str,
        batch_size: int,
        time_offset: int,
        rng: np.random.Generator,
    ) -> None:
        self.sessions = list(sessions)
        self.conditional = conditional
        self.batch_size = int(batch_size)
        self.time_offset = int(time_offset)
        self.rng = rng

    def sample(self, session: int) -> Batch:
        """One batch of indices into ``sessions[session]``."""
        s, b, rng = self.sessions[session], self.batch_size, self.rng
        neg = rng.integers(0, s.n, b)
        if self.conditional == "time":
            ref = rng.integers(0, s.n - self.time_offset, b)
            return Batch(session, ref, ref + self.time_offset, neg)
        if self.conditional == "discrete":
            ref = rng.integers(0, s.n, b)
            order, start_count, _ = s._by_label
            sc = start_count[ref]
            pos = order[sc[:, 0] + (rng.random(b) * sc[:, 1]).astype(np.int64)]
            return Batch(session, ref, pos, neg)
        ref = rng.integers(0, s.n - self.time_offset, b)
        pos = self.behaviour_positive(s, s.y[ref])
        pos_time = ref + self.time_offset if self.conditional == "hybrid" else None
        return Batch(session, ref, pos, neg, pos_time)

    def sample_across(self, session: int, other: int) -> Batch:
        """References in ``session``; behaviour positives and negatives in ``other``.

        This is what puts several sessions (or animals) into one space: a reference's
        positive is a moment of another session where the behaviour was nearly the same.
        """
        s, o, b = self.sessions[session], self.sessions[other], self.batch_size
        ref = self.rng.integers(0, s.n - self.time_offset, b)
        pos = self.behaviour_positive(o, s.y[ref])
        return Batch(session, ref, pos, self.rng.integers(0, o.n, b), pos_session=other)

    def behaviour_positive(self, s: Session, y_ref: np.ndarray) -> np.ndarray:
        """Nearest neighbours of ``y_ref`` plus a behaviour step seen in the data (KD-tree)."""
        u = self.rng.integers(0, s.n - self.time_offset, len(y_ref))
        target = y_ref + (s.y[u + self.time_offset] - s.y[u])
        return s.tree.query(target, k=1)[1]
