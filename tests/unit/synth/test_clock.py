"""Tests of the virtual lab's clocks: offset, drift, jitter, quantisation, dropped frames."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.synth.clock import EDGE_GUARD, ClockTruth, simulate_clock

FPS = 30.0


def _clock(seed: int = 0, n: int = 1800, **kwargs) -> ClockTruth:
    return simulate_clock(n, FPS, np.random.default_rng(seed), **kwargs)


def test_linear_fit_recovers_offset_and_drift_within_a_millisecond() -> None:
    clock = _clock(seed=3)
    slope, intercept = np.polyfit(clock.exposure_times_video, clock.ttl_times_neural, 1)
    residual = clock.ttl_times_neural - (intercept + slope * clock.exposure_times_video)
    assert np.abs(residual).max() < 1e-3
    assert abs(intercept - clock.offset_s) < 50e-6
    assert abs((slope - 1.0) * 1e6 - clock.drift_ppm) < 1.0


def test_ttl_follows_true_mapping_on_the_sample_grid() -> None:
    clock = _clock(seed=1)
    error = clock.ttl_times_neural - clock.video_to_neural(clock.exposure_times_video)
    # 20 us jitter (5 sigma) plus half a 30 kHz sample
    assert np.abs(error).max() < 5 * 20e-6 + 0.5 / 30000
    samples = clock.ttl_times_neural * clock.ttl_sampling_hz
    np.testing.assert_allclose(samples, np.round(samples), atol=1e-6)
    assert np.all(np.diff(clock.ttl_times_neural) > 0)


def test_parameters_lie_in_their_ranges_and_mapping_inverts() -> None:
    for seed in range(20):
        clock = _clock(seed=seed, n=100, offset_range_s=(2.0, 8.0), drift_ppm_range=(-60, 60))
        assert 2.0 <= clock.offset_s <= 8.0
        assert -60.0 <= clock.drift_ppm <= 60.0
    t = np.linspace(0, 100, 7)
    np.testing.assert_allclose(clock.neural_to_video(clock.video_to_neural(t)), t, atol=1e-12)


def test_exposures_are_at_k_over_fps() -> None:
    clock = _clock(n=50, n_dropped=2)
    np.testing.assert_allclose(clock.exposure_times_video, np.arange(50) / FPS)
    assert clock.n_exposures == 50


@pytest.mark.parametrize("n_dropped", [0, 1, 4, 12])
def test_dropped_frames_are_distinct_away_from_ends_and_never_adjacent(n_dropped: int) -> None:
    for seed in range(30):
        clock = _clock(seed=seed, n=60, n_dropped=n_dropped)
        index = np.flatnonzero(clock.dropped)
        assert len(index) == n_dropped
        assert np.all(index >= EDGE_GUARD) and np.all(index < 60 - EDGE_GUARD)
        assert np.all(np.diff(index) >= 2)
        saved = clock.video_exposure_index
        assert len(saved) == 60 - n_dropped
        assert not np.any(np.isin(saved, index))
        assert np.all(np.diff(saved) >= 1)


def test_tightest_packing_of_dropped_frames_is_reachable() -> None:
    # 20 guarded + 7 candidates hold at most 4 non-adjacent drops: 10, 12, 14, 16
    clock = _clock(n=27, n_dropped=4)
    np.testing.assert_array_equal(np.flatnonzero(clock.dropped), [10, 12, 14, 16])
    with pytest.raises(ValueError, match="need at least 27"):
        _clock(n=26, n_dropped=4)


def test_same_seed_same_clock_other_seed_other_clock() -> None:
    a, b, c = _clock(seed=7), _clock(seed=7), _clock(seed=8)
    for name in ("exposure_times_video", "ttl_times_neural", "dropped"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.offset_s, a.drift_ppm) == (b.offset_s, b.drift_ppm)
    assert a.offset_s != c.offset_s
    assert not np.array_equal(a.dropped, c.dropped)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fps": 0.0}, "'fps' to be a positive"),
        ({"n_dropped": -1}, "'n_dropped' to be >= 0"),
        ({"jitter_s": 0.01}, "not small against the frame period"),
        ({"jitter_s": -1e-6}, "'jitter_s' to be >= 0"),
        ({"ttl_sampling_hz": 100.0}, "too slow"),
        ({"offset_range_s": (8.0, 2.0)}, "offset_range_s"),
        ({"drift_ppm_range": (0.0, np.nan)}, "drift_ppm_range"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, match: str) -> None:
    args = {"n_exposures": 1000, "fps": FPS, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ValueError, match=match):
        simulate_clock(**args)


def test_rng_must_be_a_generator() -> None:
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        simulate_clock(100, FPS, 0)


def test_truth_refuses_mismatched_arrays() -> None:
    with pytest.raises(ValueError, match="same shape"):
        ClockTruth(1.0, 0.0, 30000.0, np.zeros(5), np.zeros(4), np.zeros(5, dtype=bool))


def test_sampled_mapping_lands_on_the_sample_grid() -> None:
    clock = _clock()
    t = np.random.default_rng(0).uniform(0, 60, 100)
    sampled = clock.video_to_neural_sampled(t)
    assert np.abs(sampled - clock.video_to_neural(t)).max() <= 0.5 / 30000 + 1e-12
    np.testing.assert_allclose(sampled * 30000, np.round(sampled * 30000), atol=1e-6)
