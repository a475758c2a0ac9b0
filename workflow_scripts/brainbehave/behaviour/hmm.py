"""Sticky hidden semi-Markov model over cluster assignments, with a minimum bout duration.

Per-frame clustering (k-means) ignores time: a frame near a boundary, or one noisy frame,
flips to another cluster and cuts a bout in two. Here the clusters become the states of a
hidden semi-Markov model whose every bout lasts at least ``min_frames`` frames (a hard
constraint, as a left-to-right chain of ``min_frames`` sub-states per state) and then goes on
with a geometric tail (the "sticky" self-transition of keypoint-MoSeq's AR-HMM). The
emissions are either Gaussians over the level's features (:class:`GaussianEmissions`) or
autoregressive Gaussians, x_t ~ N(A_k [x_{t-1} .. x_{t-p}, 1], S_k), as in keypoint-MoSeq
(:class:`AREmissions`).

:func:`fit_hsmm` is hard EM (Viterbi training): start from given codes (k-means), re-estimate
emissions, durations and transitions from the current segmentation, decode again, until the
codes stop changing. Everything is fitted from the data; nothing looks at a ground truth.
Emissions of neighbouring frames are far from independent (the features are smoothed, the
embeddings pooled), so the per-frame log-likelihoods are divided by ``emission_scale``
frames, a tempering that keeps the duration model from being swamped by correlated evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular

logger = logging.getLogger(__name__)

_RIDGE = 1e-3  # covariance / regression ridge, relative to the mean feature variance


def run_lengths(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, lengths) of the runs of equal codes."""
    codes = np.asarray(codes)
    if codes.size == 0:
        return codes, np.zeros(0, dtype=int)
    new = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return codes[new], np.diff(np.r_[new, codes.size])


def _gauss_loglik(r: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(r; 0, cov) per row of residuals ``r``."""
    chol = np.linalg.cholesky(cov)
    sol = solve_triangular(chol, r.T, lower=True)
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (np.square(sol).sum(axis=0) + logdet + r.shape[1] * np.log(2 * np.pi))


def _regularised_cov(r: np.ndarray, ridge: float) -> np.ndarray:
    d = r.shape[1]
    cov = np.cov(r, rowvar=False).reshape(d, d) if r.shape[0] > 1 else np.zeros((d, d))
    return cov + ridge * np.eye(d)


@dataclass
class GaussianEmissions:
    """One full-covariance Gaussian per state over the frame's features."""

    n_states: int
    means_: np.ndarray = field(init=False, repr=False)
    covs_: np.ndarray = field(init=False, repr=False)

    def fit(self, xs: Sequence[np.ndarray], codes: Sequence[np.ndarray]) -> GaussianEmissions:
        """Mean and covariance of the frames each state holds (empty states keep theirs)."""
        x, c = _stack(xs, codes)
        ridge = _RIDGE * max(float(x.var(axis=0).mean()), 1e-12)
        if not hasattr(self, "means_"):
            self.means_ = np.tile(x.mean(axis=0), (self.n_states, 1))
            self.covs_ = np.tile(_regularised_cov(x, ridge), (self.n_states, 1, 1))
        for k in range(self.n_states):
            if (c == k).sum() > x.shape[1]:
                self.means_[k] = x[c == k].mean(axis=0)
                self.covs_[k] = _regularised_cov(x[c == k], ridge)
        return self

    def loglik(self, x: np.ndarray) -> np.ndarray:
        """(T, K) log-likelihood of each frame under each state; 0 on non-finite frames."""
        out = np.zeros((x.shape[0], self.n_states))
        ok = np.isfinite(x).all(axis=1)
        for k in range(self.n_states):
            out[ok, k] = _gauss_loglik(x[ok] - self.means_[k], self.covs_[k])
        return out


@dataclass
class AREmissions:
    """Autoregressive Gaussians: x_t = A_k [x_{t-1}, ..., x_{t-p}, 1] + noise (cov S_k)."""

    n_states: int
    order: int = 1
    coefs_: np.ndarray = field(init=False, repr=False)
    covs_: np.ndarray = field(init=False, repr=False)

    def _lags(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(regressors, ok): row t holds x_{t-1} .. x_{t-p} and 1; ok where all are finite."""
        t, d = x.shape
        lagged = np.full((t, self.order * d + 1), np.nan)
        lagged[:, -1] = 1.0
        for lag in range(1, self.order + 1):
            lagged[lag:, (lag - 1) * d : lag * d] = x[:-lag]
        ok = np.isfinite(lagged).all(axis=1) & np.isfinite(x).all(axis=1)
        return lagged, ok

    def fit(self, xs: Sequence[np.ndarray], codes: Sequence[np.ndarray]) -> AREmissions:
        """Ridge regression of each frame on its lags, per state (empty states keep theirs)."""
        regs, targets, cs = [], [], []
        for x, c in zip(xs, codes, strict=True):
            lagged, ok = self._lags(x)
            ok &= c >= 0
            regs.append(lagged[ok]), targets.append(x[ok]), cs.append(c[ok])
        r, y, c = np.concatenate(regs), np.concatenate(targets), np.concatenate(cs)
        d = y.shape[1]
        ridge = _RIDGE * max(float(y.var(axis=0).mean()), 1e-12)
        if not hasattr(self, "coefs_"):
            self.coefs_ = np.zeros((self.n_states, r.shape[1], d))
            self.covs_ = np.tile(_regularised_cov(y, ridge), (self.n_states, 1, 1))
        penalty = ridge * np.eye(r.shape[1])
        penalty[-1, -1] = 0.0  # the offset is not shrunk
        for k in range(self.n_states):
            sel = c == k
            if sel.sum() <= r.shape[1]:
                continue
            gram = r[sel].T @ r[sel] + sel.sum() * penalty
            self.coefs_[k] = cho_solve(cho_factor(gram), r[sel].T @ y[sel])
            self.covs_[k] = _regularised_cov(y[sel] - r[sel] @ self.coefs_[k], ridge)
        return self

    def loglik(self, x: np.ndarray) -> np.ndarray:
        """(T, K) log-likelihood of each frame given its lags; 0 where a lag is missing."""
        lagged, ok = self._lags(x)
        out = np.zeros((x.shape[0], self.n_states))
        for k in range(self.n_states):
            out[ok, k] = _gauss_loglik(x[ok] - lagged[ok] @ self.coefs_[k], self.covs_[k])
        return out


def _stack(xs: Sequence[np.ndarray], codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    x, c = np.concatenate(xs), np.concatenate(codes)
    ok = np.isfinite(x).all(axis=1) & (c >= 0)
    return x[ok], c[ok]


@dataclass
class Durations:
    """Bout model: at least ``min_frames``, then stay with ``stay[k]``; switch k -> l (l != k).

    Attributes
    ----------
    min_frames
        Shortest bout (frames); 1 makes this an ordinary sticky HMM.
    stay
        (K,) probability of one more frame once a bout of k has lasted ``min_frames``.
    switch
        (K, K) probability of the next state given a bout ends (zero diagonal).
    start
        (K,) probability of the first state of a session.
    """

    min_frames: int
    stay: np.ndarray
    switch: np.ndarray
    start: np.ndarray

    @classmethod
    def estimate(
        cls,
        codes: Sequence[np.ndarray],
        n_states: int,
        min_frames: int,
        stay: np.ndarray | None = None,
    ) -> Durations:
        """From a segmentation: mean bout length per state, bout-to-bout transitions (+1
        pseudo-count each, so no transition is ever impossible); ``stay`` given is kept (the
        first iteration's: a per-frame clustering's bouts are too short to estimate it)."""
        total = np.ones(n_states)
        n_bouts = np.ones(n_states)
        trans = np.ones((n_states, n_states))
        for c in codes:
            vals, lens = run_lengths(np.asarray(c)[np.asarray(c) >= 0])
            np.add.at(total, vals, lens)
            np.add.at(n_bouts, vals, 1)
            np.add.at(trans, (vals[:-1], vals[1:]), 1)
        np.fill_diagonal(trans, 0.0)
        extra = np.maximum(total / n_bouts - min_frames, 0.0)  # mean length past the minimum
        if stay is None:
            stay = np.clip(extra / (extra + 1.0), 0.0, 0.999)
        return cls(
            min_frames,
            stay,
            trans / trans.sum(axis=1, keepdims=True),
            total / total.sum(),
        )


def viterbi(loglik: np.ndarray, dur: Durations) -> np.ndarray:
    """Most likely state per frame with every bout at least ``dur.min_frames`` long.

    The state space is (state, age) with age capped at ``min_frames - 1``; only a bout at the
    cap may stay or switch. A session may start (and end) mid-bout, so its first bout starts
    at the cap and the last may be cut short.
    """
    n_t, n_k = loglik.shape
    n_min = max(1, int(dur.min_frames))
    last = n_min - 1
    with np.errstate(divide="ignore"):
        log_stay = np.log(dur.stay)
        log_switch = np.log(1.0 - dur.stay)[:, None] + np.log(dur.switch)
        log_start = np.log(dur.start)
    np.fill_diagonal(log_switch, -np.inf)
    delta = np.full((n_k, n_min), -np.inf)
    delta[:, last] = log_start + loglik[0]
    entry_from = np.zeros((n_t, n_k), dtype=np.int32)
    stayed = np.zeros((n_t, n_k), dtype=bool)
    for t in range(1, n_t):
        cand = delta[:, last][:, None] + log_switch  # (from, to)
        entry_from[t] = cand.argmax(axis=0)
        entry = cand[entry_from[t], np.arange(n_k)]
        stay = delta[:, last] + log_stay
        new = np.empty_like(delta)
        if n_min == 1:
            stayed[t] = stay >= entry
            new[:, 0] = np.maximum(stay, entry)
        else:
            stayed[t] = stay >= delta[:, last - 1]
            new[:, last] = np.maximum(stay, delta[:, last - 1])
            new[:, 1:last] = delta[:, : last - 1]
            new[:, 0] = entry
        delta = new + loglik[t][:, None]
    k, age = np.unravel_index(int(np.argmax(delta)), delta.shape)
    path = np.empty(n_t, dtype=np.int32)
    for t in range(n_t - 1, -1, -1):
        path[t] = k
        if t == 0:
            break
        if age == last and stayed[t, k]:
            continue
        if age > 0:
            age -= 1
        else:
            k, age = entry_from[t, k], last
    return path


@dataclass
class HSMM:
    """Emissions + bout durations, fitted by hard EM over many sessions.

    Attributes
    ----------
    emissions
        :class:`GaussianEmissions` or :class:`AREmissions`.
    min_frames
        Shortest bout in frames.
    emission_scale
        Frames of evidence one log-likelihood counts for (>= 1; see the module docstring).
    max_iter
        Most hard-EM iterations.
    durations_
        The fitted :class:`Durations`.
    n_iter_
        Hard-EM iterations run.
    """

    emissions: GaussianEmissions | AREmissions
    min_frames: int = 1
    emission_scale: float = 1.0
    max_iter: int = 10

    def fit(self, xs: Sequence[np.ndarray], init_codes: Sequence[np.ndarray]) -> HSMM:
        """Hard EM from ``init_codes`` (per session, -1 = no frame) until no code changes."""
        codes = [np.asarray(c) for c in init_codes]
        n_k = self.emissions.n_states
        # First pass: bouts of twice the minimum on average (a per-frame clustering's own
        # bouts would make every state switch as soon as it may).
        m = max(self.min_frames, 1)
        stay: np.ndarray | None = np.full(n_k, m / (m + 1.0))
        for it in range(self.max_iter):
            self.emissions.fit(xs, codes)
            self.durations_ = Durations.estimate(codes, n_k, self.min_frames, stay)
            stay = None
            new = [self.predict(x) for x in xs]
            changed = sum(int((a != b).sum()) for a, b in zip(new, codes, strict=True))
            codes = new
            self.n_iter_ = it + 1
            logger.info("HSMM iteration %d: %d frames changed state", it + 1, changed)
            if changed == 0:
                break
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """States of one session's frames (-1 where the features are not finite)."""
        ok = np.isfinite(x).all(axis=1)
        out = np.full(x.shape[0], -1, dtype=np.int32)
        if ok.any():
            ll = self.emissions.loglik(x) / max(self.emission_scale, 1.0)
            out[:] = viterbi(ll, self.durations_)
            out[~ok] = -1
        return out
