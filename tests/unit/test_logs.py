"""The rule log: our records and what libraries print share one file, none overwritten."""

from __future__ import annotations

import logging

from brainbehave.logs import keep_root_logging, rule_logging


def test_records_and_printed_output_interleave_without_overwriting(tmp_path):
    log = tmp_path / "rule.log"
    log.write_text("an earlier run\n")
    with rule_logging(log) as logger:
        logger.info("first record")
        # a library printing into the same log through its own descriptor (output_to_log)
        with open(log, "a", encoding="utf-8", buffering=1) as printed:
            printed.write("printed by the library\n")
        logger.info("second record")
        # a library that re-configures logging (DeepLabCut's training) closes and replaces
        # the root handlers; keep_root_logging puts ours back: records still arrive
        with keep_root_logging():
            logging.basicConfig(filename=tmp_path / "library.log", force=True)
            logger.info("while the library logs")
        logger.info("after the library")
    assert "while the library logs" in (tmp_path / "library.log").read_text()
    assert not any(
        getattr(h, "baseFilename", "").endswith("library.log") for h in logging.getLogger().handlers
    )  # the library's handler is gone
    lines = log.read_text().splitlines()
    assert "an earlier run" not in lines  # a fresh log per run
    assert [line.split(": ", 1)[-1] for line in lines] == [
        "first record",
        "printed by the library",
        "second record",
        "after the library",
    ]
