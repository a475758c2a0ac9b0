"""Neurons of the virtual lab: a chronic implant's cells, their tuning, and Poisson spikes.

Each subject carries one :class:`NeuronPopulation` (the same cells in every session). A cell
is one of five kinds, and its rate (Hz) at each camera exposure is its baseline plus a tuned
term:

``place``
    ``baseline + field_peak_hz * exp(-|p - field_center_mm|^2 / (2 field_sigma_mm^2))``
    (2D Gaussian place field on the floor; sigma 50-100 mm, peak 5-20 Hz).
``speed``
    ``baseline + speed_max_hz * (1 - exp(-speed / speed_scale_mm_s))`` (rises with running
    speed and saturates; 5-20 Hz at full speed, scale 50-200 mm/s).
``head_direction``
    ``baseline + hd_peak_hz * exp(hd_kappa * (cos(hd - hd_preferred_rad) - 1))`` (von Mises
    tuning, kappa 1-4, peak 5-20 Hz).
``action``
    ``baseline + action_gain_hz`` while the current action is one of the cell's one or two
    ``action_preferred`` actions (gain 5-20 Hz).
``latent``
    ``exp(latent_offset + latent_weights @ z)`` (log-linear in the latent state z; the
    baseline is not added), capped at :data:`MAX_RATE_HZ`.

Baselines are 0.1-1 Hz. ``NeuronPopulation.params`` holds one array per parameter, with the
unit axis first and length U for every parameter; entries of cells of other kinds are NaN
(or -1 for ``action_preferred``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from brainbehave.synth.arena import Arena

logger = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("place", "speed", "head_direction", "action", "latent")
KIND_FRACTIONS: dict[str, float] = {
    "place": 0.30,
    "speed": 0.15,
    "head_direction": 0.15,
    "action": 0.20,
    "latent": 0.20,
}
# Rates of latent-driven cells are exponential in z and are capped here; the other kinds stay
# below it by construction (baseline <= 1 Hz plus a tuned term <= 20 Hz).
MAX_RATE_HZ = 40.0
# Place fields are centred at least this far inside the walls and off the object.
FIELD_MARGIN_MM = 30.0
# Units whose spikes are drawn together: bounds memory on hour-long sessions. Part of the
# random stream's layout, so changing it changes the spikes drawn from a given seed.
SPIKE_CHUNK_UNITS = 64


@dataclass(frozen=True, eq=False)
class NeuronPopulation:
    """The cells of one subject's implant (``eq=False``: fields are arrays).

    Parameters
    ----------
    kind
        (U,) str, one of :data:`KINDS` per unit.
    params
        Tuning parameters, each an array with the unit axis first (see the module docstring):
        ``baseline_hz`` (U,); ``field_center_mm`` (U, 2), ``field_sigma_mm``, ``field_peak_hz``;
        ``speed_max_hz``, ``speed_scale_mm_s``; ``hd_preferred_rad``, ``hd_kappa``,
        ``hd_peak_hz``; ``action_preferred`` (U, 2) int (-1 = none), ``action_gain_hz``;
        ``latent_offset``, ``latent_weights`` (U, n_latents).
    n_actions
        Number of actions the action labels index (0..n_actions-1).
    n_latents
        Dimension of the latent state driving ``latent`` cells.
    """

    kind: np.ndarray
    params: dict[str, np.ndarray]
    n_actions: int
    n_latents: int

    @property
    def n_units(self) -> int:
        """Number of units U."""
        return int(self.kind.shape[0])


def _check_rng(rng: object) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"Expected 'rng' to be a numpy.random.Generator, but got {type(rng)}.")


def _kind_counts(n_units: int, n_latents: int) -> dict[str, int]:
    """Units per kind: the target fractions, rounded by largest remainder, at least one each."""
    fractions = dict(KIND_FRACTIONS)
    if n_latents == 0:  # no latent state to drive latent cells: give their share to place cells
        fractions["place"] += fractions.pop("latent")
    kinds = list(fractions)
    exact = np.array([fractions[k] for k in kinds]) * n_units
    counts = np.maximum(np.floor(exact).astype(int), 1)
    while counts.sum() < n_units:
        counts[np.argmax(exact - counts)] += 1
    while counts.sum() > n_units:
        counts[np.argmax(np.where(counts > 1, counts - exact, -np.inf))] -= 1
    return dict(zip(kinds, counts.tolist(), strict=True))


def _field_centres(n: int, arena: Arena, rng: np.random.Generator) -> np.ndarray:
    """n place-field centres drawn uniformly over the walkable floor."""
    centres = np.empty((0, 2))
    lim = arena.half - FIELD_MARGIN_MM
    for _ in range(100):
        candidates = rng.uniform(-lim, lim, size=(max(2 * n, 16), 2))
        centres = np.vstack([centres, candidates[arena.inside(candidates, FIELD_MARGIN_MM)]])
        if len(centres) >= n:
            return centres[:n]
    raise ValueError(
        f"Could not place {n} place fields on the floor of {arena}: the walkable area "
        f"(margin {FIELD_MARGIN_MM} mm) is too small. Use a larger arena or a smaller object."
    )


def _preferred_actions(n: int, n_actions: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) one or two distinct preferred actions per cell; -1 marks no second action."""
    first = rng.integers(0, n_actions, size=n)
    if n_actions < 2:
        return np.stack([first, np.full(n, -1)], axis=1)
    second = (first + rng.integers(1, n_actions, size=n)) % n_actions
    has_second = rng.random(n) < 0.5
    return np.stack([first, np.where(has_second, second, -1)], axis=1)


def _empty_params(n_units: int, n_latents: int) -> dict[str, np.ndarray]:
    nan = np.full(n_units, np.nan)
    params = {
        name: nan.copy()
        for name in (
            "field_sigma_mm",
            "field_peak_hz",
            "speed_max_hz",
            "speed_scale_mm_s",
            "hd_preferred_rad",
            "hd_kappa",
            "hd_peak_hz",
            "action_gain_hz",
            "latent_offset",
        )
    }
    params["field_center_mm"] = np.full((n_units, 2), np.nan)
    params["action_preferred"] = np.full((n_units, 2), -1, dtype=np.int64)
    params["latent_weights"] = np.full((n_units, n_latents), np.nan)
    return params


def _fill_params(
    p: dict[str, np.ndarray],
    kind: np.ndarray,
    n_actions: int,
    n_latents: int,
    arena: Arena,
    rng: np.random.Generator,
) -> None:
    """Draw each kind's tuning parameters into ``p`` (in place)."""
    idx = np.flatnonzero(kind == "place")
    p["field_center_mm"][idx] = _field_centres(len(idx), arena, rng)
    p["field_sigma_mm"][idx] = rng.uniform(50.0, 100.0, len(idx))
    p["field_peak_hz"][idx] = rng.uniform(5.0, 20.0, len(idx))
    idx = np.flatnonzero(kind == "speed")
    p["speed_max_hz"][idx] = rng.uniform(5.0, 20.0, len(idx))
    p["speed_scale_mm_s"][idx] = rng.uniform(50.0, 200.0, len(idx))
    idx = np.flatnonzero(kind == "head_direction")
    p["hd_preferred_rad"][idx] = rng.uniform(-np.pi, np.pi, len(idx))
    p["hd_kappa"][idx] = rng.uniform(1.0, 4.0, len(idx))
    p["hd_peak_hz"][idx] = rng.uniform(5.0, 20.0, len(idx))
    idx = np.flatnonzero(kind == "action")
    p["action_preferred"][idx] = _preferred_actions(len(idx), n_actions, rng)
    p["action_gain_hz"][idx] = rng.uniform(5.0, 20.0, len(idx))
    idx = np.flatnonzero(kind == "latent")
    # Median rate 1-5 Hz; |w| 0.5-1 gives a few-fold modulation over the latent's range.
    p["latent_offset"][idx] = np.log(rng.uniform(1.0, 5.0, len(idx)))
    directions = rng.normal(size=(len(idx), n_latents))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    p["latent_weights"][idx] = directions * rng.uniform(0.5, 1.0, (len(idx), 1))


def make_population(
    n_units: int, n_actions: int, n_latents: int, arena: Arena, rng: np.random.Generator
) -> NeuronPopulation:
    """Draw one subject's cells: kinds in fixed proportions, tuning drawn at random.

    Parameters
    ----------
    n_units
        Number of units U (at least 5, one per kind).
    n_actions
        Number of actions in the behaviour's action labels (at least 1).
    n_latents
        Dimension of the latent state (0 allowed: then there are no latent cells and their
        share goes to place cells).
    arena
        The arena place fields are laid out in.
    rng
        Random generator; the population is a deterministic function of its state.

    Returns
    -------
    NeuronPopulation
        About 30% place, 15% speed, 15% head-direction, 20% action and 20% latent cells,
        in shuffled unit order.
    """
    _check_rng(rng)
    if int(n_units) < len(KINDS):
        raise ValueError(
            f"Expected 'n_units' >= {len(KINDS)} (one unit of each kind {KINDS}), got {n_units}."
        )
    if int(n_actions) < 1:
        raise ValueError(f"Expected 'n_actions' >= 1, but got {n_actions}.")
    if int(n_latents) < 0:
        raise ValueError(f"Expected 'n_latents' >= 0, but got {n_latents}.")
    n_units, n_actions, n_latents = int(n_units), int(n_actions), int(n_latents)
    counts = _kind_counts(n_units, n_latents)
    kind = rng.permutation(np.repeat(list(counts), list(counts.values())))
    params = _empty_params(n_units, n_latents)
    params["baseline_hz"] = rng.uniform(0.1, 1.0, n_units)
    _fill_params(params, kind, n_actions, n_latents, arena, rng)
    logger.debug("Population of %d units: %s", n_units, counts)
    return NeuronPopulation(kind=kind, params=params, n_actions=n_actions, n_latents=n_latents)


def simulate_latents(
    n_exposures: int, fps: float, n_latents: int, rng: np.random.Generator
) -> np.ndarray:
    """Smooth latent dynamics: one Gaussian process per dimension, timescale 1-3 s.

    Each dimension is white noise convolved with a Gaussian kernel (a squared-exponential
    Gaussian process) whose length scale is drawn uniformly in [1, 3] s, then standardised.

    Parameters
    ----------
    n_exposures
        Number of time points N (one per camera exposure).
    fps
        Sampling rate of the time points.
    n_latents
        Number of latent dimensions D (0 gives an (N, 0) array).
    rng
        Random generator.

    Returns
    -------
    np.ndarray
        (N, D) float64, zero mean and unit variance per dimension.
    """
    _check_rng(rng)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"Expected 'fps' to be a positive number, but got {fps}.")
    if int(n_exposures) < 2 or int(n_latents) < 0:
        raise ValueError(
            f"Expected 'n_exposures' >= 2 and 'n_latents' >= 0, got {n_exposures}, {n_latents}."
        )
    n, d = int(n_exposures), int(n_latents)
    if d == 0:
        return np.zeros((n, 0))
    timescale_s = rng.uniform(1.0, 3.0, d)
    # Kernel std ell/sqrt(2) turns white noise into a GP with kernel exp(-dt^2 / (2 ell^2)).
    sigma = timescale_s * fps / np.sqrt(2.0)
    half = int(np.ceil(4 * sigma.max()))
    lags = np.arange(-half, half + 1)[:, None]
    kernels = np.exp(-0.5 * (lags / sigma) ** 2)
    noise = rng.normal(size=(n + 2 * half, d))
    z = fftconvolve(noise, kernels, mode="valid", axes=0)
    z -= z.mean(axis=0)
    z /= z.std(axis=0)
    return z


def _check_behaviour(
    pop: NeuronPopulation,
    position_mm: np.ndarray,
    speed_mm_s: np.ndarray,
    head_direction: np.ndarray,
    action: np.ndarray,
    latents: np.ndarray,
) -> None:
    n = position_mm.shape[0]
    expected = {
        "position_mm": (position_mm, (n, 2)),
        "speed_mm_s": (speed_mm_s, (n,)),
        "head_direction": (head_direction, (n,)),
        "action": (action, (n,)),
        "latents": (latents, (n, pop.n_latents)),
    }
    for name, (value, shape) in expected.items():
        if value.shape != shape:
            raise ValueError(f"Expected '{name}' to have shape {shape}, but got {value.shape}.")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"'{name}' has non-finite values; ground truth must be complete.")
    if np.any(speed_mm_s < 0):
        raise ValueError(f"'speed_mm_s' has negative values (min {speed_mm_s.min()}).")
    if not np.issubdtype(action.dtype, np.integer):
        raise ValueError(f"Expected 'action' to hold integer labels, but got {action.dtype}.")
    if n and (action.min() < 0 or action.max() >= pop.n_actions):
        raise ValueError(
            f"Expected 'action' labels in [0, {pop.n_actions}), but found values in "
            f"[{action.min()}, {action.max()}]."
        )


def _tuned_rates(
    pop: NeuronPopulation,
    position_mm: np.ndarray,
    speed_mm_s: np.ndarray,
    head_direction: np.ndarray,
    action: np.ndarray,
) -> dict[str, np.ndarray]:
    """The tuned term of each non-latent kind, (units of that kind, N).

    Unit-major and in place: an hour at 500 units is 54 M values, and temporaries dominate.
    """
    p, out = pop.params, {}
    i = pop.kind == "place"
    d2 = np.subtract.outer(p["field_center_mm"][i, 0], position_mm[:, 0])
    d2 *= d2
    dy = np.subtract.outer(p["field_center_mm"][i, 1], position_mm[:, 1])
    d2 += np.square(dy, out=dy)
    d2 *= (-0.5 / p["field_sigma_mm"][i] ** 2)[:, None]
    out["place"] = np.exp(d2, out=d2) * p["field_peak_hz"][i][:, None]
    i = pop.kind == "speed"
    x = np.multiply.outer(-1.0 / p["speed_scale_mm_s"][i], speed_mm_s)
    out["speed"] = -np.expm1(x, out=x) * p["speed_max_hz"][i][:, None]
    i = pop.kind == "head_direction"
    x = np.subtract.outer(p["hd_preferred_rad"][i], head_direction)
    x = np.cos(x, out=x) - 1.0
    x *= p["hd_kappa"][i][:, None]
    out["head_direction"] = np.exp(x, out=x) * p["hd_peak_hz"][i][:, None]
    i = pop.kind == "action"
    preferred = p["action_preferred"][i]
    hit = np.equal.outer(preferred[:, 0], action) | np.equal.outer(preferred[:, 1], action)
    out["action"] = hit * p["action_gain_hz"][i][:, None]
    return out


def firing_rates(
    pop: NeuronPopulation,
    position_mm: np.ndarray,
    speed_mm_s: np.ndarray,
    head_direction: np.ndarray,
    action: np.ndarray,
    latents: np.ndarray,
) -> np.ndarray:
    """Firing rate of every unit at every exposure.

    Parameters
    ----------
    pop
        The cells.
    position_mm
        (N, 2) position on the floor (x, y), millimetres, world frame.
    speed_mm_s
        (N,) running speed, >= 0.
    head_direction
        (N,) head direction in radians.
    action
        (N,) int action labels in [0, pop.n_actions).
    latents
        (N, pop.n_latents) latent state.

    Returns
    -------
    np.ndarray
        (N, U) rates in Hz, finite, non-negative, at most :data:`MAX_RATE_HZ`; a transposed
        view of a unit-major array (Fortran order), which :func:`sample_spikes` reads fastest.
    """
    position_mm, speed_mm_s, head_direction, latents = (
        np.asarray(a, dtype=float) for a in (position_mm, speed_mm_s, head_direction, latents)
    )
    action = np.asarray(action)
    if position_mm.ndim != 2:
        raise ValueError(f"Expected 'position_mm' to have shape (N, 2), got {position_mm.shape}.")
    _check_behaviour(pop, position_mm, speed_mm_s, head_direction, action, latents)
    # Built unit-major and returned transposed (a view): per-kind rows are contiguous there.
    rates = np.empty((pop.n_units, position_mm.shape[0]))
    baseline = pop.params["baseline_hz"][:, None]
    for kind, tuned in _tuned_rates(pop, position_mm, speed_mm_s, head_direction, action).items():
        i = pop.kind == kind
        rates[i] = tuned + baseline[i]
    i = pop.kind == "latent"
    if i.any():
        log_rate = (
            pop.params["latent_weights"][i] @ latents.T + pop.params["latent_offset"][i, None]
        )
        rates[i] = np.exp(np.minimum(log_rate, np.log(MAX_RATE_HZ), out=log_rate), out=log_rate)
    return rates.T


def sample_spikes(
    rates_hz: np.ndarray,
    exposure_times_video: np.ndarray,
    fps: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Poisson spikes: a count per exposure bin ``[t_k, t_k + 1/fps)``, uniform within the bin.

    Parameters
    ----------
    rates_hz
        (N, U) rates, finite and non-negative.
    exposure_times_video
        (N,) bin starts on the video clock (every exposure, dropped ones included).
    fps
        Frame rate; bins are ``1 / fps`` long.
    rng
        Random generator.

    Returns
    -------
    list of np.ndarray
        Per unit, its sorted spike times (s) on the VIDEO clock.
    """
    _check_rng(rng)
    rates_hz = np.asarray(rates_hz, dtype=float)
    t = np.asarray(exposure_times_video, dtype=float)
    if rates_hz.ndim != 2 or t.shape != (rates_hz.shape[0],):
        raise ValueError(
            f"Expected 'rates_hz' (N, U) and 'exposure_times_video' (N,), but got "
            f"{rates_hz.shape} and {t.shape}."
        )
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"Expected 'fps' to be a positive number, but got {fps}.")
    if not np.all(np.isfinite(rates_hz)) or np.any(rates_hz < 0):
        raise ValueError("'rates_hz' must be finite and non-negative.")
    spikes: list[np.ndarray] = []
    for start in range(0, rates_hz.shape[1], SPIKE_CHUNK_UNITS):
        counts = rng.poisson(rates_hz[:, start : start + SPIKE_CHUNK_UNITS].T * (1.0 / fps))
        times = np.repeat(np.broadcast_to(t, counts.shape), counts.ravel()) + rng.uniform(
            0.0, 1.0 / fps, int(counts.sum())
        )
        bounds = np.cumsum(counts.sum(axis=1))[:-1]
        spikes.extend(np.sort(unit_times) for unit_times in np.split(times, bounds))
    return spikes
