"""Planning settings of the Snakemake process: garbage-collector thresholds, memoised helpers."""

from __future__ import annotations

import gc

from brainbehave.dag_tuning import GC_THRESHOLDS, memoise_snakemake_helpers, tune_gc


def test_tune_gc_sets_and_returns_previous_thresholds():
    before = gc.get_threshold()
    try:
        previous = tune_gc()
        assert previous == before
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > 700  # above Python's default generation-0 threshold
    finally:
        gc.set_threshold(*before)


def test_memoised_snakemake_helpers_answer_as_the_originals():
    import snakemake.api  # noqa: F401  (loads snakemake.jobs/rules as a run does)
    import snakemake.common as common
    import snakemake.jobs as jobs
    import snakemake.sourcecache as sourcecache

    memoise_snakemake_helpers()
    assert memoise_snakemake_helpers() == []  # once only
    for module in (common, jobs):
        assert module.get_function_params._brainbehave_memoised
    assert sourcecache.is_local_file._brainbehave_memoised

    def f(wildcards, input, threads):
        return wildcards

    first = jobs.get_function_params(f)
    assert list(first) == ["wildcards", "input", "threads"]
    assert jobs.get_function_params(f) is first  # remembered
    assert list(jobs.get_function_params(lambda wildcards: 1)) == ["wildcards"]
    common.overwrite_function_params(f, ["wildcards"])  # set after a first call: honoured
    assert jobs.get_function_params(f) == ["wildcards"]
    assert common.is_local_file("scripts/pose2d_clean.py")
    assert common.is_local_file("/abs/path/x.py")
    assert not common.is_local_file("https://example.org/x.py")
    assert not sourcecache.is_local_file("http://example.org/y.py")
