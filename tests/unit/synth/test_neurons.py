"""Tests of the virtual lab's neurons: population, latents, tuning and Poisson spikes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from brainbehave.synth.arena import Arena
from brainbehave.synth.neurons import (
    KINDS,
    MAX_RATE_HZ,
    NeuronPopulation,
    firing_rates,
    make_population,
    sample_spikes,
    simulate_latents,
)

FPS = 30.0
N_ACTIONS = 6
N_LATENTS = 3


def _population(seed: int = 0, n_units: int = 100, n_latents: int = N_LATENTS) -> NeuronPopulation:
    return make_population(n_units, N_ACTIONS, n_latents, Arena(), np.random.default_rng(seed))


def _behaviour(n: int, seed: int = 0, n_latents: int = N_LATENTS) -> dict[str, np.ndarray]:
    """A random walk on the floor with speeds, headings, actions and latents."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 6.0, (n, 2))
    position = np.clip(np.cumsum(steps, axis=0), -280.0, 280.0)
    return {
        "position_mm": position,
        "speed_mm_s": np.linalg.norm(steps, axis=1) * FPS,
        "head_direction": np.arctan2(steps[:, 1], steps[:, 0]),
        "action": np.repeat(rng.integers(0, N_ACTIONS, n // 30 + 1), 30)[:n],
        "latents": simulate_latents(n, FPS, n_latents, rng),
    }


def _at(pop: NeuronPopulation, n: int, **overrides: np.ndarray) -> np.ndarray:
    """Rates for n identical exposures (origin, still, heading 0, action 0, z = 0) but overrides."""
    values = {
        "position_mm": np.zeros((n, 2)),
        "speed_mm_s": np.zeros(n),
        "head_direction": np.zeros(n),
        "action": np.zeros(n, dtype=int),
        "latents": np.zeros((n, pop.n_latents)),
    } | overrides
    return firing_rates(pop, **values)


def test_population_has_the_kind_mix_and_one_parameter_row_per_unit() -> None:
    pop = _population(n_units=100)
    counts = {k: int(np.sum(pop.kind == k)) for k in KINDS}
    assert counts == {"place": 30, "speed": 15, "head_direction": 15, "action": 20, "latent": 20}
    assert all(v.shape[0] == 100 for v in pop.params.values())
    assert pop.params["latent_weights"].shape == (100, N_LATENTS)
    base = pop.params["baseline_hz"]
    assert np.all((base >= 0.1) & (base <= 1.0))
    place = pop.kind == "place"
    assert np.all(Arena().inside(pop.params["field_center_mm"][place]))
    assert np.all(pop.params["hd_kappa"][pop.kind == "head_direction"] >= 1)


def test_small_population_has_every_kind_and_no_latents_means_no_latent_cells() -> None:
    assert set(_population(n_units=5).kind) == set(KINDS)
    pop = _population(n_units=20, n_latents=0)
    assert "latent" not in set(pop.kind) and len(pop.kind) == 20
    rates = firing_rates(pop, **_behaviour(300, n_latents=0))
    assert rates.shape == (300, 20) and np.all(np.isfinite(rates))


def test_population_is_deterministic_per_seed() -> None:
    a, b, c = _population(seed=4), _population(seed=4), _population(seed=5)
    np.testing.assert_array_equal(a.kind, b.kind)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.params["baseline_hz"], c.params["baseline_hz"])


@pytest.mark.parametrize(
    ("args", "match"),
    [((4, 3, 2), "'n_units' >= 5"), ((10, 0, 2), "'n_actions' >= 1"), ((10, 3, -1), "n_latents")],
)
def test_population_refuses_bad_sizes(args: tuple[int, int, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_population(*args, Arena(), np.random.default_rng(0))


def test_latents_are_standardised_smooth_and_deterministic() -> None:
    z = simulate_latents(18000, FPS, 4, np.random.default_rng(0))
    assert z.shape == (18000, 4)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-9)

    def autocorr(lag: int) -> np.ndarray:
        return np.mean(z[:-lag] * z[lag:], axis=0)

    assert np.all(autocorr(1) > 0.99)  # smooth frame to frame
    assert np.all(autocorr(int(0.5 * FPS)) > 0.85)  # length scale >= 1 s: exp(-1/8)
    assert np.all(np.abs(autocorr(int(15 * FPS))) < 0.5)  # forgets within seconds
    np.testing.assert_array_equal(z, simulate_latents(18000, FPS, 4, np.random.default_rng(0)))
    assert simulate_latents(10, FPS, 0, np.random.default_rng(0)).shape == (10, 0)


def test_rates_are_finite_bounded_and_plausible_on_a_random_walk() -> None:
    pop = _population()
    rates = firing_rates(pop, **_behaviour(9000))
    assert rates.shape == (9000, 100)
    assert np.all(np.isfinite(rates)) and rates.min() >= 0 and rates.max() <= MAX_RATE_HZ
    mean = rates.mean(axis=0)
    assert np.all((mean >= 0.1) & (mean <= 30.0))
    assert 1.0 < mean.mean() < 10.0


def test_place_cells_fire_more_in_their_field() -> None:
    pop = _population()
    place = np.flatnonzero(pop.kind == "place")
    centres = pop.params["field_center_mm"][place]
    in_field = _at(pop, len(place), position_mm=centres)[np.arange(len(place)), place]
    far = centres + np.where(centres > 0, -400.0, 400.0)  # 400 mm away along x and y
    out_field = _at(pop, len(place), position_mm=far)[np.arange(len(place)), place]
    np.testing.assert_allclose(in_field - out_field, pop.params["field_peak_hz"][place], rtol=1e-3)


def test_action_cells_fire_more_in_their_preferred_action() -> None:
    pop = _population()
    cells = np.flatnonzero(pop.kind == "action")
    rates = _at(pop, N_ACTIONS, action=np.arange(N_ACTIONS))[:, cells]  # (actions, cells)
    preferred = pop.params["action_preferred"][cells]
    for j, (first, second) in enumerate(preferred):
        gain = pop.params["action_gain_hz"][cells[j]]
        others = [a for a in range(N_ACTIONS) if a not in (first, second)]
        assert rates[first, j] == pytest.approx(rates[others, j].max() + gain)
        if second >= 0:
            assert rates[second, j] == pytest.approx(rates[first, j])


def test_speed_and_head_direction_tuning() -> None:
    pop = _population()
    speed = np.flatnonzero(pop.kind == "speed")
    rates = _at(pop, 4, speed_mm_s=np.array([0.0, 50.0, 200.0, 800.0]))[:, speed]
    assert np.all(np.diff(rates, axis=0) > 0)
    hd = np.flatnonzero(pop.kind == "head_direction")
    preferred = pop.params["hd_preferred_rad"][hd]
    at_pref = _at(pop, len(hd), head_direction=preferred)[np.arange(len(hd)), hd]
    opposite = _at(pop, len(hd), head_direction=preferred + np.pi)[np.arange(len(hd)), hd]
    assert np.all(at_pref > opposite + 4.0)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"position_mm": np.zeros((5, 3))}, "'position_mm' to have shape"),
        ({"action": np.full(5, N_ACTIONS)}, r"'action' labels in \[0, 6\)"),
        ({"action": np.zeros(5)}, "integer labels"),
        ({"speed_mm_s": -np.ones(5)}, "negative"),
        ({"latents": np.full((5, N_LATENTS), np.nan)}, "non-finite"),
        ({"latents": np.zeros((5, 1))}, "'latents' to have shape"),
    ],
)
def test_rates_refuse_bad_behaviour(override: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _at(_population(), 5, **override)


def test_spike_counts_match_rates_and_lie_in_their_bins() -> None:
    pop = _population()
    rates = firing_rates(pop, **_behaviour(9000))
    t = np.arange(9000) / FPS
    spikes = sample_spikes(rates, t, FPS, np.random.default_rng(1))
    assert len(spikes) == 100
    expected = rates.sum(axis=0) / FPS
    counts = np.array([len(s) for s in spikes])
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1)
    for s in spikes:
        assert np.all(np.diff(s) >= 0) and s.min() >= 0 and s.max() < t[-1] + 1 / FPS
    # per bin: the summed counts over units follow the summed rate (Poisson, 5 sigma)
    binned = np.histogram(np.concatenate(spikes), bins=np.append(t, t[-1] + 1 / FPS))[0]
    lam = rates.sum(axis=1) / FPS
    assert abs(binned.sum() - lam.sum()) < 5 * np.sqrt(lam.sum())
    per_second = binned.reshape(-1, 30).sum(axis=1), lam.reshape(-1, 30).sum(axis=1)
    assert np.corrcoef(*per_second)[0, 1] > 0.8


def test_spikes_fall_only_in_bins_with_rate_and_are_reproducible() -> None:
    rates = np.zeros((100, 2))
    rates[40, 0] = 3000.0  # ~100 spikes in exposure 40
    t = 5.0 + np.arange(100) / FPS
    spikes = sample_spikes(rates, t, FPS, np.random.default_rng(2))
    assert len(spikes[1]) == 0 and len(spikes[0]) > 50
    assert spikes[0].min() >= t[40] and spikes[0].max() < t[40] + 1 / FPS
    again = sample_spikes(rates, t, FPS, np.random.default_rng(2))
    np.testing.assert_array_equal(spikes[0], again[0])


def test_spikes_refuse_bad_rates() -> None:
    t = np.arange(10) / FPS
    with pytest.raises(ValueError, match="finite and non-negative"):
        sample_spikes(-np.ones((10, 2)), t, FPS, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"'exposure_times_video' \(N,\)"):
        sample_spikes(np.ones((10, 2)), t[:5], FPS, np.random.default_rng(0))


def test_a_demo_session_simulates_in_well_under_a_second() -> None:
    start = time.perf_counter()
    pop = _population(n_units=120)
    rates = firing_rates(pop, **_behaviour(1800))
    sample_spikes(rates, np.arange(1800) / FPS, FPS, np.random.default_rng(0))
    assert time.perf_counter() - start < 1.0
