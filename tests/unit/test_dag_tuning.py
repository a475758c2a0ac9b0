"""The Snakemake process's garbage-collector thresholds are raised (faster planning)."""

from __future__ import annotations

import gc

from brainbehave.dag_tuning import GC_THRESHOLDS, tune_gc


def test_tune_gc_sets_and_returns_previous_thresholds():
    before = gc.get_threshold()
    try:
        previous = tune_gc()
        assert previous == before
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > 700  # above Python's default generation-0 threshold
    finally:
        gc.set_threshold(*before)
