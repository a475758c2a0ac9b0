"""Settings of the Snakemake process itself that make planning large cohorts faster.

Planning a 1,000-session cohort creates millions of small objects (jobs, file names, wildcards);
with Python's default garbage-collector thresholds (700, 10, 10) the collector walks them again
and again. Raising the thresholds cut ~2.5 s CPU (~10 %) off `snakemake -n` on 1,000 sessions with
the same peak memory (benchmarks/scale_dag.py; README, "Scale"). Only the collection of reference
cycles is delayed: nothing the workflow plans, runs or writes changes.
"""

from __future__ import annotations

import gc

# generation-0 allocations before a collection, then generation-1 and -2 collection ratios
GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> tuple[int, int, int]:
    """Raise the garbage collector's thresholds for this (the Snakemake) process.

    Parameters
    ----------
    thresholds
        As :func:`gc.set_threshold`.

    Returns
    -------
    tuple of int
        The previous thresholds (to restore them).
    """
    previous = gc.get_threshold()
    gc.set_threshold(*thresholds)
    return previous
