"""The derived NWB: units copied, ndx-pose per camera and 3D, intervals, latents module."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO

from brainbehave.align import label_intervals
from brainbehave.errors import InputDataError
from brainbehave.nwb import LATENTS_MODULE, read_units_spike_times, write_derived_nwb
from brainbehave.paths import Paths
from brainbehave.pose import pose_dataset
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings
from brainbehave.synth.skeleton import EDGES

TINY = SynthSettings(
    seed=2,
    subjects=1,
    sessions_per_subject=1,
    duration_s=2.0,
    cameras=2,
    image_size=(64, 48),
    n_units=6,
    dropped_frames=1,
)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    paths = Paths(results=str(tmp_path_factory.mktemp("synth")))
    truth = generate_session(
        TINY, "rat01", "ses01", SessionFiles.from_paths(paths, TINY, "rat01", "ses01")
    )
    saved = truth.video_exposure_index
    times = truth.video_to_neural(truth.exposure_times_video[saved])
    pose = {
        cam: pose_dataset(
            truth.pose2d[cam][saved],
            None,
            truth.keypoints,
            TINY.fps,
            source_software="truth",
            units="px",
            camera=cam,
        )
        for cam in truth.cameras
    }
    pose["3d"] = pose_dataset(
        truth.pose3d[saved], None, truth.keypoints, TINY.fps, source_software="truth", units="mm"
    )
    return {
        "nwb": paths.synth_nwb("rat01", "ses01"),
        "truth": truth,
        "pose": pose,
        "times": {name: times for name in pose},
        "intervals": label_intervals(
            times, {k: v[saved] for k, v in truth.labels.items()}, truth.level_names, "truth"
        ),
    }


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def derived(session: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    before = _sha(session["nwb"])
    out = write_derived_nwb(
        tmp_path_factory.mktemp("derived") / "rat01_ses01_derived.nwb",
        session["nwb"],
        pose=session["pose"],
        frame_times_neural=session["times"],
        skeleton_edges=EDGES,
        intervals=session["intervals"],
        provenance={"tool": "test", "bin_s": 0.1},
    )
    assert _sha(session["nwb"]) == before  # the input file is never modified
    return out


def test_units_are_copied_equal(session: dict, derived: Path) -> None:
    for a, b in zip(
        read_units_spike_times(session["nwb"]), read_units_spike_times(derived), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_pose_reads_back_equal_on_the_neural_clock(session: dict, derived: Path) -> None:
    truth = session["truth"]
    with NWBHDF5IO(derived, "r") as io:
        behavior = io.read().processing["behavior"]
        skeleton = behavior["Skeletons"].skeletons["skeleton"]
        assert list(skeleton.nodes[:]) == truth.keypoints
        for name in [*truth.cameras, "3d"]:
            pe = behavior[f"PoseEstimation_{name}"]
            assert pe.skeleton.name == "skeleton"
            nose = pe.pose_estimation_series["nose"]
            k = truth.keypoints.index("nose")
            expected = session["pose"][name]["position"].values[:, :, k, 0]
            np.testing.assert_allclose(nose.data[:], expected, rtol=1e-6, atol=1e-3)
            np.testing.assert_allclose(nose.timestamps[:], session["times"][name])
        assert pe.pose_estimation_series["nose"].data[:].shape[1] == 3


def test_intervals_per_level_and_a_place_for_latents(session: dict, derived: Path) -> None:
    with NWBHDF5IO(derived, "r") as io:
        nwbfile = io.read()
        assert sorted(nwbfile.intervals) == [
            "behaviour_truth_action",
            "behaviour_truth_activity",
            "behaviour_truth_primitive",
        ]
        table = nwbfile.intervals["behaviour_truth_action"].to_dataframe()
        assert set(table.columns) >= {"start_time", "stop_time", "level", "label", "source"}
        expected = session["intervals"].query("level == 'action'")
        assert list(table["label"]) == list(expected["label"])
        assert LATENTS_MODULE in nwbfile.processing  # empty without latents
        assert len(nwbfile.processing[LATENTS_MODULE].data_interfaces) == 0
        assert json.loads(nwbfile.notes.split(": ", 1)[1]) == {"bin_s": 0.1, "tool": "test"}


def test_derived_file_passes_nwbinspector(derived: Path) -> None:
    found = list(inspect_nwbfile(nwbfile_path=derived))
    assert not [m for m in found if m.importance == Importance.CRITICAL], found


def test_pose_without_matching_frame_times_is_refused(session: dict, tmp_path: Path) -> None:
    times = {k: v[:-1] for k, v in session["times"].items()}
    with pytest.raises(InputDataError, match="neural frame times"):
        write_derived_nwb(
            tmp_path / "bad.nwb", session["nwb"], pose=session["pose"], frame_times_neural=times
        )
    assert not (tmp_path / "bad.nwb").exists()


def test_ophys_traces_are_copied(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from pynwb import NWBFile
    from pynwb.ophys import Fluorescence
    from pynwb.testing.mock.ophys import mock_PlaneSegmentation, mock_RoiResponseSeries

    nwbfile = NWBFile("imaging", "img-1", datetime(2024, 1, 1, tzinfo=UTC))
    plane = mock_PlaneSegmentation(nwbfile=nwbfile, n_rois=2)
    rois = plane.create_roi_table_region(region=[0, 1], description="all")
    data = np.random.default_rng(0).random((30, 2))
    series = mock_RoiResponseSeries(name="RoiResponseSeries", rois=rois, data=data, rate=10.0)
    nwbfile.processing["ophys"].add(Fluorescence(roi_response_series=series))
    with NWBHDF5IO(tmp_path / "img.nwb", "w") as io:
        io.write(nwbfile)
    out = write_derived_nwb(tmp_path / "d.nwb", tmp_path / "img.nwb")
    with NWBHDF5IO(out, "r") as io:
        copied = io.read().processing["ophys"]["ophys_Fluorescence_RoiResponseSeries"]
        np.testing.assert_allclose(copied.data[:], data)
        assert copied.timestamps[2] == pytest.approx(0.2)
