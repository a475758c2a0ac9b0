"""Clock synchronisation: mapping recovered, dropped frames found, bad input refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainbehave.errors import InputDataError
from brainbehave.sync import (
    SyncTolerance,
    exposures_from_timestamps,
    read_frame_times,
    read_sync,
    sync_from_offset,
    sync_from_ttl,
    sync_from_ttl_and_frame_times,
    sync_session,
    write_sync,
)
from brainbehave.synth.clock import simulate_clock

FPS = 30.0


@pytest.fixture
def clock():
    """Two minutes at 30 fps, 6 dropped frames, ~20 us jitter, 30 kHz quantisation."""
    return simulate_clock(3600, FPS, np.random.default_rng(4), n_dropped=6)


def _frame_times(clock) -> np.ndarray:
    return np.round(clock.exposure_times_video[~clock.dropped], 6)


def test_offset_drift_and_dropped_frames_are_recovered(clock) -> None:
    result = sync_from_ttl_and_frame_times(clock.ttl_times_neural, _frame_times(clock), FPS)
    assert result.dropped_exposures == np.flatnonzero(clock.dropped).tolist()
    assert abs(result.offset_s - clock.offset_s) < 1e-5
    assert abs(result.drift_ppm - clock.drift_ppm) < 1.0
    truth = clock.video_to_neural(clock.exposure_times_video[~clock.dropped])
    assert np.max(np.abs(result.frame_times_neural - truth)) < 1e-4  # well under 1 ms
    assert result.residual_max_ms < 0.2 and result.n_frames == 3594
    np.testing.assert_array_equal(result.frame_exposure, clock.video_exposure_index)


def test_a_displaced_pulse_is_rejected_and_reported(clock) -> None:
    ttl = clock.ttl_times_neural.copy()
    ttl[1000] += 0.005  # a glitch of 5 ms on one pulse
    result = sync_from_ttl_and_frame_times(ttl, _frame_times(clock), FPS)
    assert result.outlier_exposures == [1000]
    assert abs(result.offset_s - clock.offset_s) < 1e-5
    assert result.residual_max_ms < 0.2


def test_pulses_that_do_not_follow_one_clock_are_refused(clock) -> None:
    ttl = clock.ttl_times_neural.copy()
    ttl[1800:] += 0.040  # the acquisition restarted half-way: two clocks in one series
    with pytest.raises(InputDataError, match="do not follow one linear clock mapping"):
        sync_from_ttl_and_frame_times(ttl, _frame_times(clock), FPS)


def test_more_dropped_frames_than_the_tolerance_are_refused(clock) -> None:
    times = _frame_times(clock)
    with pytest.raises(InputDataError, match="3600 sync pulses but the frame timestamps imply"):
        sync_from_ttl_and_frame_times(
            clock.ttl_times_neural,
            times,
            FPS,
            SyncTolerance(max_dropped_fraction=0.001, min_dropped_allowed=2),
        )


def test_fewer_pulses_than_exposures_are_refused(clock) -> None:
    with pytest.raises(InputDataError, match="3000 sync pulses"):
        sync_from_ttl_and_frame_times(clock.ttl_times_neural[:3000], _frame_times(clock), FPS)


def test_surplus_pulses_at_the_end_are_ignored_within_tolerance(clock) -> None:
    times = _frame_times(clock)[:-3]  # the video stopped 3 frames before the pulses
    result = sync_from_ttl_and_frame_times(clock.ttl_times_neural, times, FPS)
    assert abs(result.drift_ppm - clock.drift_ppm) < 1.0 and result.n_frames == 3591


def test_wrong_fps_is_reported_as_irregular_gaps(clock) -> None:
    with pytest.raises(InputDataError, match="whole numbers of periods at 25.0 fps"):
        sync_from_ttl_and_frame_times(clock.ttl_times_neural, _frame_times(clock), 25.0)


def test_backwards_pulses_are_refused(clock) -> None:
    ttl = clock.ttl_times_neural.copy()
    ttl[[10, 11]] = ttl[[11, 10]]
    with pytest.raises(InputDataError, match="strictly increasing, but 1 are not"):
        sync_from_ttl_and_frame_times(ttl, _frame_times(clock), FPS)


def test_pulses_alone_work_only_when_counts_match(clock) -> None:
    kept = ~clock.dropped
    result = sync_from_ttl(clock.ttl_times_neural, clock.n_exposures, FPS)
    assert abs(result.drift_ppm - clock.drift_ppm) < 1.0 and result.method == "ttl"
    with pytest.raises(InputDataError, match="add a 'frame_times' file"):
        sync_from_ttl(clock.ttl_times_neural, int(kept.sum()), FPS)


def test_offset_from_the_sheet_is_applied_to_the_timestamps(clock) -> None:
    result = sync_from_offset(2.5, 10.0, FPS, _frame_times(clock))
    assert result.frame_times_neural[0] == pytest.approx(2.5)
    assert result.dropped_exposures == np.flatnonzero(clock.dropped).tolist()
    assert np.isnan(result.residual_max_ms)


def test_exposures_count_whole_periods() -> None:
    t = np.array([0.0, 1, 2, 4, 5]) / FPS
    np.testing.assert_array_equal(exposures_from_timestamps(t, FPS), [0, 1, 2, 4, 5])


def test_sync_json_round_trip(tmp_path: Path, clock) -> None:
    result = sync_from_ttl_and_frame_times(clock.ttl_times_neural, _frame_times(clock), FPS)
    write_sync(tmp_path / "sync.json", {"camA": result})
    back = read_sync(tmp_path / "sync.json")["camA"]
    assert back.dropped_exposures == result.dropped_exposures
    assert back.drift_ppm == result.drift_ppm
    np.testing.assert_allclose(back.frame_times_neural, result.frame_times_neural, atol=1e-9)


def test_session_reads_frame_times_files_and_needs_a_sync_source(tmp_path: Path, clock) -> None:
    csv = tmp_path / "camA_frame_times.csv"
    times = _frame_times(clock)
    pd.DataFrame({"frame": np.arange(len(times)), "timestamp_s": times}).to_csv(csv, index=False)
    cams = {"camA": {"frame_times": str(csv), "video": "unused.mp4"}}
    results = sync_session(cameras=cams, fps=FPS, ttl_neural=clock.ttl_times_neural)
    assert len(results["camA"].dropped_exposures) == 6
    with pytest.raises(InputDataError, match="no sync series and no clock offset"):
        sync_session(cameras=cams, fps=FPS, where="rat01/ses01")


def test_frame_times_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("index,time\n0,0.0\n1,0.033\n")
    with pytest.raises(InputDataError, match="expected columns 'frame' and 'timestamp_s'"):
        read_frame_times(bad)
