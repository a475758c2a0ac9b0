"""Videos are checked with OpenCV before DeepLabCut runs; bad ones fail naming what and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbehave.errors import InputDataError
from brainbehave.pose2d.video import check_video

WHERE = "rat01/ses01 camera camA"


def test_good_video_reports_frames_fps_and_size(video20: Path) -> None:
    info = check_video(video20, WHERE)
    assert (info.n_frames, info.fps, info.width, info.height) == (20, 30.0, 64, 48)


def test_missing_video_names_session_camera_and_file(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match=r"rat01/ses01 camera camA: video .*nothere\.mp4"):
        check_video(tmp_path / "nothere.mp4", WHERE)


def test_file_that_is_not_a_video_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    with pytest.raises(InputDataError, match=r"camera camA: video .*notes\.mp4.* cannot be opened"):
        check_video(bad, WHERE)


def test_video_with_zero_frames_is_refused(tmp_path: Path, make_video) -> None:
    empty = make_video(tmp_path / "empty.avi", 0, fourcc="MJPG")
    with pytest.raises(InputDataError, match=r"camera camA: video .*empty\.avi"):
        check_video(empty, WHERE)


def test_truncated_video_is_refused(tmp_path: Path, make_video) -> None:
    full = make_video(tmp_path / "full.avi", 60, fourcc="MJPG")
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputDataError, match=r"camera camA: video .*cut\.avi.*(truncated|opened)"):
        check_video(cut, WHERE)
