"""Settings of the Snakemake process itself that make planning large cohorts faster.

Both change how fast Snakemake plans, never what it plans, runs or writes.

Planning a 1,000-session cohort creates millions of small objects (jobs, file names, wildcards);
with Python's default garbage-collector thresholds (700, 10, 10) the collector walks them again
and again. Raising the thresholds cut ~2.5 s CPU (~10 %) off `snakemake -n` on 1,000 sessions with
the same peak memory (benchmarks/scale_dag.py; README, "Scale"). Only the collection of reference
cycles is delayed: nothing the workflow plans, runs or writes changes.
"""

from __future__ import annotations

import functools
import gc
import importlib
import weakref

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


def memoise_snakemake_helpers() -> list[str]:
    """Remember the answers of two pure Snakemake helpers that planning asks again per job.

    - ``snakemake.common.get_function_params`` (``inspect.signature`` of an input function or
      resource callable: 72,000 calls for 1,000 sessions, the same few dozen functions);
    - ``snakemake.common.is_local_file`` (a ``smart_open`` URI parse that builds a new
      namedtuple class per call: 26,000 calls for 1,000 sessions, the same few script paths).

    Both answers depend only on the argument (a function's signature does not change; a path is
    or is not a URI), so Snakemake plans and runs exactly as before. Functions are remembered
    weakly (a function Snakemake drops is forgotten). A Snakemake without these helpers is left
    as it is. Returns the names of the helpers that were wrapped.
    """
    import snakemake.common as common

    wrapped = []
    module_names = (
        "snakemake.common",
        "snakemake.jobs",
        "snakemake.rules",
        "snakemake.sourcecache",
    )
    for name, make in (
        ("get_function_params", _memoised_function_params),
        ("is_local_file", _memoised_is_local_file),
    ):
        original = getattr(common, name, None)
        if original is None or getattr(original, "_brainbehave_memoised", False):
            continue
        memoised = make(original)
        memoised._brainbehave_memoised = True
        for module_name in module_names:
            module = importlib.import_module(module_name)  # loaded already in a run
            if getattr(module, name, None) is original:
                setattr(module, name, memoised)
        wrapped.append(name)
    return wrapped


def _memoised_function_params(original):
    from snakemake.common import FUNC_OVERWRITE_PARAMS_ATTR

    known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get_function_params(func):
        if hasattr(func, FUNC_OVERWRITE_PARAMS_ATTR):  # may be set after a first call
            return getattr(func, FUNC_OVERWRITE_PARAMS_ATTR)
        try:
            return known[func]
        except KeyError:
            known[func] = params = original(func)
            return params
        except TypeError:  # neither hashable nor weakly referenceable: ask every time
            return original(func)

    return get_function_params


def _memoised_is_local_file(original):
    @functools.lru_cache(maxsize=4096)
    def _cached(path_or_uri):
        return original(path_or_uri)

    def is_local_file(path_or_uri):
        try:
            return _cached(path_or_uri)
        except TypeError:  # unhashable
            return original(path_or_uri)

    return is_local_file
