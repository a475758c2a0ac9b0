"""Logging for rule wrappers: everything, tracebacks included, goes to the rule's log."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def rule_logging(log_path: str | Path, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send the package's logging (and warnings) to ``log_path`` for the duration of a rule.

    An exception raised inside the block is written to the log with its traceback and then
    re-raised, so Snakemake marks the job failed and the user finds the reason in the log.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh log per run, then appended to: what DeepLabCut prints reaches the same file
    # through another descriptor (pose2d.dlc.output_to_log), and a handler that wrote at its
    # own offset ("w") overwrote that output. In append mode a handler that a library closed
    # (logging.basicConfig(force=True)) also reopens when it is put back.
    log_path.write_text("", encoding="utf-8")
    handler = logging.FileHandler(log_path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    logger = logging.getLogger("brainbehave.rule")
    try:
        yield logger
    except BaseException:
        logger.error("rule failed", exc_info=sys.exc_info())
        raise
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


@contextlib.contextmanager
def keep_root_logging() -> Iterator[None]:
    """Give the root logger back its handlers and level after a library re-configured it.

    DeepLabCut's training calls ``logging.basicConfig(..., force=True)`` to log into the
    model's ``train.txt``, which closes and removes every other root handler: the rule's log
    then got no message of ours after training (the "trained ..." summary went to
    ``train.txt``). On exit the handlers added inside are closed and removed and the previous
    ones put back (a :func:`rule_logging` handler appends, so it reopens).
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
