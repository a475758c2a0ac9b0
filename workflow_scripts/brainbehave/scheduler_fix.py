"""Keep a local Snakemake run within ``--cores`` (work-around for snakemake#3815 / #3913).

Snakemake 9.10 to 9.15 (9.15.0 is the newest that installs beside DeepLabCut 3.0.2) selects a
job that is the only one ready without taking its resources (cores, memory, custom resources)
off the scheduler's free pool, yet gives them back when the job ends. Each time that happens the
pool grows by the job's share, so a local run starts more and more jobs than ``--cores`` as it
goes: the demo ran five one-thread ``pose2d_analyze`` jobs at once on ``--cores 2``.

:func:`fix_single_job_resource_leak` wraps ``JobScheduler.job_selector`` so that the single-job
selection is taken off the pool as every other selection is. It is applied only where the
installed Snakemake has that code path (its source is checked), so a Snakemake with the bug
fixed upstream runs untouched. It changes which jobs run at the same time, never what a job
does or writes.
"""

from __future__ import annotations

import functools
import inspect
import logging

logger = logging.getLogger(__name__)

_MARK = "_brainbehave_single_job_fix"


def _scheduler_class():
    from snakemake.scheduling.job_scheduler import JobScheduler

    return JobScheduler


def has_single_job_leak() -> bool:
    """Whether the installed Snakemake selects a lone ready job without booking its resources.

    Returns
    -------
    bool
        True when ``JobScheduler.job_selector`` returns the single-job greedy selection before
        the line that books resources (``update_available_resources``).
    """
    try:
        source = inspect.getsource(_scheduler_class().job_selector)
    except (ImportError, AttributeError, OSError, TypeError):
        return False
    single = source.find("if len(jobs) == 1:")
    if single < 0:
        return False
    branch = source[single : source.find("selected = job_selector(", single)]
    return "return self.job_selector_greedy(" in branch and "update_available_resources" not in (
        branch
    )


def fix_single_job_resource_leak() -> bool:
    """Book the resources of a lone selected job, as Snakemake does for every other selection.

    Idempotent; a no-op where :func:`has_single_job_leak` is False.

    Returns
    -------
    bool
        True when the fix is in place (applied now or before).
    """
    cls = _scheduler_class()
    if getattr(cls.job_selector, _MARK, False):
        return True
    if not has_single_job_leak():
        return False
    original = cls.job_selector

    @functools.wraps(original)
    def job_selector(self, jobs):
        lone = len(jobs) == 1
        selected = original(self, jobs)
        if lone and selected:
            with self._lock:
                self.update_available_resources(selected)
        return selected

    setattr(job_selector, _MARK, True)
    cls.job_selector = job_selector
    logger.debug("Snakemake scheduler: lone selected jobs now book their resources.")
    return True
