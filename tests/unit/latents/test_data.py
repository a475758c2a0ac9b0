"""Input checks and index sampling."""

from __future__ import annotations

import numpy as np
import pytest

from brainbehave.errors import InputDataError
from brainbehave.latents.data import Sampler, check_labels, check_neural, make_sessions


def test_silent_units_are_named(data):
    x, _ = data
    x = x.copy()
    x[:, [3, 7]] = 0
    with pytest.raises(InputDataError, match=r"units \[3, 7\] \(2 of 30\) have no spikes"):
        check_neural(x)


def test_fewer_time_points_than_a_batch_is_refused(data):
    x, _ = data
    with pytest.raises(InputDataError, match="fewer than the batch size 512"):
        make_sessions([x[:100]], None, "time", batch_size=512, time_offset=10)


def test_nan_in_behaviour_labels_is_refused_with_the_rows(data):
    x, y = data
    y = y.copy()
    y[[5, 9]] = np.nan
    with pytest.raises(InputDataError, match=r"NaN/inf at 2 time points \(first \[5, 9\]\)"):
        check_labels(y, len(x))


def test_behaviour_mode_without_labels_says_how_to_fix():
    with pytest.raises(InputDataError, match="needs behaviour labels: call fit"):
        make_sessions([np.ones((50, 3))], None, "behaviour", 8, 2)


def test_time_positive_is_offset_and_discrete_positive_shares_the_label(data):
    x, _ = data
    labels = (np.arange(len(x)) // 100 % 3).astype(np.int64)
    rng = np.random.default_rng(0)
    (s,) = make_sessions([x], [labels], "discrete", 64, 5)
    batch = Sampler([s], "discrete", 64, 5, rng).sample(0)
    assert np.array_equal(labels[batch.ref], labels[batch.pos])
    (s,) = make_sessions([x], None, "time", 64, 5)
    batch = Sampler([s], "time", 64, 5, rng).sample(0)
    assert np.array_equal(batch.pos - batch.ref, np.full(64, 5))


def test_behaviour_positive_is_near_in_behaviour(data):
    x, y = data
    (s,) = make_sessions([x], [y], "behaviour", 256, 1)
    batch = Sampler([s], "behaviour", 256, 1, np.random.default_rng(0)).sample(0)
    near = np.linalg.norm(y[batch.ref] - y[batch.pos], axis=1)
    far = np.linalg.norm(y[batch.ref] - y[batch.neg], axis=1)
    assert np.median(near) < 0.2 * np.median(far)
