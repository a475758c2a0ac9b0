"""Progress lines of DeepLabCut's video inference in the rule log (brainbehave.pose2d.progress)."""

from __future__ import annotations

import logging

import pytest

from brainbehave.pose2d.progress import FrameProgress


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "brainbehave.pose2d.progress"]


def test_a_line_per_tenth_of_the_frames_with_rate_and_time_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frames = list(range(200))
    with caplog.at_level(logging.INFO):
        seen = list(FrameProgress(frames, "rat01/ses01 camera camA", every_s=3600))
    assert seen == frames  # every frame passes through, in order
    lines = _lines(caplog)
    # a start line, one per 10 % up to 90 %, and the closing line
    assert len(lines) == 1 + 9 + 1
    assert lines[0].startswith("rat01/ses01 camera camA: 0/200 frames (0%)")
    assert "100/200 frames (50%)" in lines[5] and "frames/s" in lines[5]
    assert "s left" in lines[5]
    assert "200/200 frames (100%)" in lines[-1] and lines[-1].endswith("(finished)")


def test_a_line_at_least_every_every_s_seconds(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        list(FrameProgress(range(30), "v", every_s=0.0, steps=1))
    # every frame is due with every_s=0: start, frames 1-29, closing line
    assert len(_lines(caplog)) == 31


def test_frames_without_a_length_still_count(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        list(FrameProgress(iter(range(5)), "v", every_s=3600))
    assert _lines(caplog)[-1].startswith("v: 5 frames, ")
