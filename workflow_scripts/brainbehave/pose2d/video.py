"""Check a video with OpenCV before DeepLabCut sees it (DeepLabCut's own errors are cryptic)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2

from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about a video."""

    path: Path
    n_frames: int
    fps: float
    width: int
    height: int


def check_video(path: str | Path, where: str = "video") -> VideoInfo:
    """Open a video, read its first and last frames, and return its size, length and fps.

    Parameters
    ----------
    path
        The video file.
    where
        Named in error messages, e.g. ``"rat01/ses01 camera camA"``.

    Raises
    ------
    InputDataError
        When the file is missing, cannot be decoded, has no frames, has no valid fps, or
        is truncated (its last frame cannot be read); the message names `where` and the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(
            f"{where}: video {str(path)!r} does not exist. Check the videos sheet."
        )
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputDataError(
                f"{where}: video {str(path)!r} cannot be opened (not a video, or a codec OpenCV "
                "lacks). Re-encode it, e.g. `ffmpeg -i in -c:v libx264 out.mp4`."
            )
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if n <= 0:
            raise InputDataError(
                f"{where}: video {str(path)!r} has zero frames. Check the recording, or remove "
                "the row from the videos sheet."
            )
        _read_frame(cap, 0, path, where, n)
        _read_frame(cap, n - 1, path, where, n)
    finally:
        cap.release()
    if not (fps > 0):
        raise InputDataError(
            f"{where}: video {str(path)!r} reports fps {fps!r}; a frame rate is needed to time "
            "the pose. Re-encode the video with its true frame rate."
        )
    logger.debug("%s: %s, %d frames, %.3f fps, %dx%d", where, path, n, fps, width, height)
    return VideoInfo(path=path, n_frames=n, fps=fps, width=width, height=height)


def _read_frame(cap: cv2.VideoCapture, index: int, path: Path, where: str, n: int) -> None:
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    if not ok or frame is None:
        raise InputDataError(
            f"{where}: video {str(path)!r} is truncated or corrupt: its header says {n} frames "
            f"but frame {index} cannot be decoded. Copy the file again from the rig, or re-encode "
            "what is readable."
        )
