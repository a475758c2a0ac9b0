"""Progress of DeepLabCut's video inference as plain log lines (frames done / total, frames/s).

DeepLabCut 3 wraps every video's frames in a ``tqdm`` bar; written into a rule's log (a file,
not a terminal) that bar is one ever-growing line of carriage returns, updated ten times a
second. :func:`frame_progress_in_log` swaps it for :class:`FrameProgress` while a video is
analysed: one log line at every tenth of the video and at least every ``every_s`` seconds, so
``tail -f logs/pose2d_analyze/<subject>/<session>_<camera>.log`` shows how far a long video is.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

logger = logging.getLogger(__name__)

# What the swapped-in bar replaces: the module whose ``tqdm`` DeepLabCut's video inference uses.
DLC_VIDEO_MODULE = "deeplabcut.pose_estimation_pytorch.apis.videos"


class FrameProgress:
    """Iterate over ``frames`` and log progress lines (the part of ``tqdm`` DeepLabCut uses).

    Parameters
    ----------
    frames
        What DeepLabCut iterates over (its video iterator); its ``len()``, when it has one, is
        the total.
    where
        Named at the start of every line, e.g. ``"rat01/ses01 camera camA"``.
    every_s
        Longest time between two lines.
    steps
        A line each time another ``1/steps`` of the frames is done.
    """

    def __init__(
        self, frames: Iterable[Any], where: str, every_s: float = 10.0, steps: int = 10
    ) -> None:
        self.frames = frames
        self.where = where
        self.every_s = every_s
        self.steps = steps
        self.total = len(frames) if hasattr(frames, "__len__") else None
        self.done = 0

    def __len__(self) -> int:
        return self.total or 0

    def __iter__(self) -> Iterator[Any]:
        start = last = time.monotonic()
        step = 0
        logger.info("%s: %s", self.where, self._line(0.0))
        for item in self.frames:
            yield item
            self.done += 1
            now = time.monotonic()
            # one comparison per frame: negligible beside the network's milliseconds
            due = now - last >= self.every_s or self._step() > step
            if due and self.done != self.total:  # the last frame gets the closing line
                step, last = self._step(), now
                logger.info("%s: %s", self.where, self._line(now - start))
        logger.info("%s: %s (finished)", self.where, self._line(time.monotonic() - start))

    def _step(self) -> int:
        return self.done * self.steps // self.total if self.total else 0

    def _line(self, elapsed: float) -> str:
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if not self.total:
            return f"{self.done} frames, {rate:.1f} frames/s"
        line = f"{self.done}/{self.total} frames ({100 * self.done / self.total:.0f}%)"
        line += f", {rate:.1f} frames/s"
        if 0 < rate and self.done < self.total:
            line += f", about {(self.total - self.done) / rate:.0f} s left"
        return line


@contextlib.contextmanager
def frame_progress_in_log(where: str, every_s: float = 10.0) -> Iterator[None]:
    """Log :class:`FrameProgress` lines instead of DeepLabCut's progress bar inside the block.

    Parameters
    ----------
    where
        Named at the start of every line.
    every_s
        Longest time between two lines.
    """
    import importlib

    module = importlib.import_module(DLC_VIDEO_MODULE)
    original = getattr(module, "tqdm", None)
    if original is None:
        # a DeepLabCut that no longer has the bar: analyse without progress lines
        logger.warning("%s: no progress bar in %s to replace", where, DLC_VIDEO_MODULE)
        yield
        return
    module.tqdm = lambda frames, *args, **kwargs: FrameProgress(frames, where, every_s)
    try:
        yield
    finally:
        module.tqdm = original
