"""The virtual-lab cohort end to end: files, determinism, and agreement of every truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from brainbehave.calibration import read_calibration
from brainbehave.nwb import read_ttl_times, read_units_spike_times
from brainbehave.paths import Paths
from brainbehave.synth.cohort import SessionFiles, generate_cohort, generate_session
from brainbehave.synth.settings import SynthSettings
from brainbehave.truth import read_truth

TINY = SynthSettings(
    seed=7,
    subjects=1,
    sessions_per_subject=2,
    duration_s=4.0,
    cameras=3,
    image_size=(128, 96),
    n_units=12,
    dropped_frames=2,
    dlc_labelled_frames=6,
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    return generate_cohort(TINY, tmp_path_factory.mktemp("cohort"), jobs=1)


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_every_file_is_written(cohort: Paths) -> None:
    for session in ("ses01", "ses02"):
        for cam in ("camA", "camB", "camC"):
            assert Path(cohort.synth_video("rat01", session, cam)).stat().st_size > 1000
        for path in (cohort.synth_calibration, cohort.synth_nwb, cohort.synth_truth):
            assert Path(path("rat01", session)).is_file()
    sheet = pd.read_csv(cohort.synth_sheet("videos"), sep="\t")
    assert len(sheet) == 6 and set(sheet["camera"]) == {"camA", "camB", "camC"}


def test_projection_through_the_written_calibration_equals_2d_truth(cohort: Paths) -> None:
    truth = read_truth(cohort.synth_truth("rat01", "ses01"))
    cameras = read_calibration(cohort.synth_calibration("rat01", "ses01"))
    assert list(cameras) == truth.cameras
    for name, cam in cameras.items():
        ours = cam.project(truth.pose3d)
        assert np.nanmax(np.abs(ours - truth.pose2d[name])) < 1e-6
        # an independent implementation agrees too (the rig has no skew)
        pts = truth.pose3d.reshape(-1, 3)
        cv, _ = cv2.projectPoints(pts, cam.rvec, cam.tvec, cam.matrix, cam.dist)
        assert np.max(np.abs(cv.reshape(-1, 2) - truth.pose2d[name].reshape(-1, 2))) < 1e-6


def test_videos_hold_every_saved_frame(cohort: Paths) -> None:
    truth = read_truth(cohort.synth_truth("rat01", "ses01"))
    cap = cv2.VideoCapture(cohort.synth_video("rat01", "ses01", "camB"))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    assert (w, h) == TINY.image_size
    assert n == len(truth.video_exposure_index) == TINY.n_frames - TINY.dropped_frames
    visible = truth.visible["camB"][truth.video_exposure_index]
    assert 0.4 < visible.mean() < 1.0  # most markers seen, some occluded


def test_clock_mapping_is_recovered_from_the_nwb_sync_series(cohort: Paths) -> None:
    truth = read_truth(cohort.synth_truth("rat01", "ses02"))
    ttl = read_ttl_times(cohort.synth_nwb("rat01", "ses02"))
    assert len(ttl) == TINY.n_frames  # one pulse per exposure, dropped ones included
    slope, offset = np.polyfit(truth.exposure_times_video, ttl, 1)
    assert abs(offset - truth.clock_offset_s) < 1e-3
    assert abs((slope - 1) * 1e6 - truth.clock_drift_ppm) < 20
    residual = ttl - truth.video_to_neural(truth.exposure_times_video)
    assert np.max(np.abs(residual)) < 1e-3


def test_nwb_reads_back_and_passes_nwbinspector(cohort: Paths) -> None:
    from nwbinspector import Importance, inspect_nwbfile

    path = cohort.synth_nwb("rat01", "ses01")
    spikes = read_units_spike_times(path)
    assert len(spikes) == TINY.n_units and sum(len(s) for s in spikes) > 0
    critical = [
        m for m in inspect_nwbfile(nwbfile_path=path) if m.importance == Importance.CRITICAL
    ]
    assert not critical, critical


def test_dlc_project_labels_lie_on_the_markers(cohort: Paths) -> None:
    project = Path(cohort.synth_dlc_project())
    h5 = sorted(project.glob("labeled-data/*/CollectedData_*.h5"))
    assert len(h5) == 3
    labels = pd.read_hdf(h5[0], "df_with_missing")
    assert labels.shape[1] == 2 * 12
    xy = labels.to_numpy().reshape(len(labels), 12, 2)
    finite = xy[np.isfinite(xy).all(-1)]
    assert len(finite) > 0
    assert (finite[:, 0] >= 0).all() and (finite[:, 0] < TINY.image_size[0]).all()


def test_generation_is_deterministic(cohort: Paths, tmp_path: Path) -> None:
    again = Paths(results=str(tmp_path))
    generate_session(TINY, "rat01", "ses01", SessionFiles.from_paths(again, TINY, "rat01", "ses01"))
    a = read_truth(cohort.synth_truth("rat01", "ses01"))
    b = read_truth(again.synth_truth("rat01", "ses01"))
    np.testing.assert_array_equal(a.pose3d, b.pose3d)
    np.testing.assert_array_equal(a.labels["primitive"], b.labels["primitive"])
    np.testing.assert_array_equal(a.ttl_times_neural, b.ttl_times_neural)
    assert _sha(cohort.synth_calibration("rat01", "ses01")) == _sha(
        again.synth_calibration("rat01", "ses01")
    )
    for x, y in zip(
        read_units_spike_times(cohort.synth_nwb("rat01", "ses01")),
        read_units_spike_times(again.synth_nwb("rat01", "ses01")),
        strict=True,
    ):
        np.testing.assert_array_equal(x, y)
    assert _sha(cohort.synth_video("rat01", "ses01", "camA")) == _sha(
        again.synth_video("rat01", "ses01", "camA")
    )


def test_sessions_differ_and_share_the_subjects_neurons(cohort: Paths) -> None:
    a = read_truth(cohort.synth_truth("rat01", "ses01"))
    b = read_truth(cohort.synth_truth("rat01", "ses02"))
    assert not np.array_equal(a.pose3d, b.pose3d)
    np.testing.assert_array_equal(a.unit_kind, b.unit_kind)
    assert a.clock_offset_s != b.clock_offset_s


def test_frame_timestamps_reveal_the_dropped_frames(cohort: Paths) -> None:
    truth = read_truth(cohort.synth_truth("rat01", "ses01"))
    table = pd.read_csv(cohort.synth_frame_times("rat01", "ses01", "camA"))
    assert len(table) == len(truth.video_exposure_index)
    gaps = np.diff(table["timestamp_s"].to_numpy()) * TINY.fps
    assert int(np.sum(np.round(gaps) - 1)) == int(truth.dropped.sum())
