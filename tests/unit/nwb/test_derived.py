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


def _rich_source(path: Path) -> Path:
    """A small NWB file: two planes of ROIs (image and pixel masks) with Fluorescence and
    DfOverF traces, and units pointing at an electrodes table of two groups on two devices."""
    from datetime import UTC, datetime

    from pynwb import NWBFile
    from pynwb.file import Subject
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
    )

    rng = np.random.default_rng(0)
    nwbfile = NWBFile(
        session_description="rich",
        identifier="rich-1",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
        subject=Subject(subject_id="m1", species="Mus musculus", sex="F", age="P90D"),
    )
    scope = nwbfile.create_device(name="scope", description="2p microscope", serial_number="7")
    channel = OpticalChannel(name="green", description="GCaMP channel", emission_lambda=525.0)
    plane = nwbfile.create_imaging_plane(
        name="plane0",
        optical_channel=channel,
        description="CA1 plane",
        device=scope,
        excitation_lambda=920.0,
        imaging_rate=30.0,
        indicator="GCaMP6f",
        location="CA1",
    )
    seg = ImageSegmentation()
    by_image = seg.create_plane_segmentation(
        description="image masks", imaging_plane=plane, name="PlaneSegmentation"
    )
    masks = rng.random((3, 8, 6))
    for k in range(3):
        by_image.add_roi(image_mask=masks[k], id=10 + k)
    by_pixel = seg.create_plane_segmentation(
        description="pixel masks", imaging_plane=plane, name="PixelRois"
    )
    for k in range(2):
        by_pixel.add_roi(pixel_mask=[(k, 1, 0.5), (k, 2, 1.0 + k)])
    ophys = nwbfile.create_processing_module(name="ophys", description="ophys")
    ophys.add(seg)
    traces = rng.random((20, 3))
    fluorescence, dff = Fluorescence(), DfOverF()
    ophys.add([fluorescence, dff])  # in the file first: their ROI regions then share its root
    fluorescence.create_roi_response_series(
        name="RoiResponseSeries",
        data=traces,
        rois=by_image.create_roi_table_region(description="all", region=[0, 1, 2]),
        unit="a.u.",
        rate=10.0,
    )
    dff.create_roi_response_series(
        name="Dff",
        data=traces[:, :2] * 0.1,
        rois=by_pixel.create_roi_table_region(description="both", region=[1, 0]),
        unit="n.a.",
        timestamps=np.arange(20) * 0.1 + 3.0,
    )
    probes = [nwbfile.create_device(name=f"probe{k}", description=f"probe {k}") for k in (0, 1)]
    groups = [
        nwbfile.create_electrode_group(
            name=f"shank{k}",
            description=f"shank {k}",
            location=f"area{k}",
            device=probes[k],
            position=(1.0 + k, 2.0, -0.5),
        )
        for k in (0, 1)
    ]
    nwbfile.add_electrode_column(name="label", description="electrode label")
    for e in range(4):
        nwbfile.add_electrode(
            group=groups[e // 2], location=f"CA{e + 1}", x=float(e), y=0.0, z=1.0, label=f"e{e}"
        )
    for u in range(3):
        nwbfile.add_unit(
            spike_times=np.sort(rng.random(5 + u)),
            electrodes=[u, u + 1],
            electrode_group=groups[u // 2],
        )
    with NWBHDF5IO(path, "w") as io:
        io.write(nwbfile)
    return path


def _table(table) -> dict:
    """Column name to values (objects by name) of a DynamicTable, for comparing files."""
    frame = table.to_dataframe(index=True)
    out = {"id": list(frame.index)}
    for col in frame.columns:
        values = frame[col].tolist()
        out[col] = [
            v.name if hasattr(v, "name") and not isinstance(v, str) else np.asarray(v).tolist()
            for v in values
        ]
    return out


def test_ophys_rois_and_unit_electrodes_are_copied(tmp_path: Path) -> None:
    source = _rich_source(tmp_path / "rich.nwb")
    before = _sha(source)
    out = write_derived_nwb(tmp_path / "d.nwb", source)
    assert _sha(source) == before
    with NWBHDF5IO(source, "r") as a, NWBHDF5IO(out, "r") as b:
        src, new = a.read(), b.read()
        seg = new.processing["ophys"]["ImageSegmentation"]
        for name in ("PlaneSegmentation", "PixelRois"):
            old_ps = src.processing["ophys"]["ImageSegmentation"][name]
            new_ps = seg[name]
            assert _table(new_ps) == _table(old_ps)
            plane = new_ps.imaging_plane
            assert (plane.name, plane.indicator, plane.location) == ("plane0", "GCaMP6f", "CA1")
            assert plane.excitation_lambda == 920.0 and plane.imaging_rate == 30.0
            assert plane.device.name == "scope" and plane.device.serial_number == "7"
            assert plane.optical_channel[0].emission_lambda == 525.0
        assert list(seg["PlaneSegmentation"].id[:]) == [10, 11, 12]
        np.testing.assert_array_equal(
            np.asarray(seg["PlaneSegmentation"]["image_mask"][:]),
            np.asarray(
                src.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]["image_mask"][:]
            ),
        )
        for iface, series in (("Fluorescence", "RoiResponseSeries"), ("DfOverF", "Dff")):
            old_s = src.processing["ophys"][iface][series]
            new_s = new.processing["ophys"][iface][series]
            assert type(new_s).__name__ == "RoiResponseSeries"
            np.testing.assert_array_equal(new_s.data[:], old_s.data[:])
            assert list(new_s.rois.data[:]) == list(old_s.rois.data[:])
            assert new_s.rois.table.name == old_s.rois.table.name
            assert new_s.rois.table is seg[old_s.rois.table.name]
        assert new.processing["ophys"]["Fluorescence"]["RoiResponseSeries"].rate == 10.0
        np.testing.assert_allclose(
            new.processing["ophys"]["DfOverF"]["Dff"].timestamps[:], np.arange(20) * 0.1 + 3.0
        )
        assert _table(new.electrodes) == _table(src.electrodes)
        assert list(new.electrodes["location"][:]) == ["CA1", "CA2", "CA3", "CA4"]
        assert sorted(new.electrode_groups) == ["shank0", "shank1"]
        for name, group in new.electrode_groups.items():
            assert group.device.name == src.electrode_groups[name].device.name
            assert group.location == src.electrode_groups[name].location
            assert group.position[()].tolist() == src.electrode_groups[name].position[()].tolist()
        assert sorted(new.devices) == ["probe0", "probe1", "scope"]
        assert _table(new.units) == _table(src.units)
        assert new.units.electrodes.table is new.electrodes
        assert [list(new.units["electrodes"][u].index) for u in range(3)] == [
            [0, 1],
            [1, 2],
            [2, 3],
        ]
    found = list(inspect_nwbfile(nwbfile_path=out))
    assert not [m for m in found if m.importance == Importance.CRITICAL], found


@pytest.mark.parametrize(
    "relative",
    ["nwb_pynapple_small/A8604-211122.nwb", "nelpy_linear_track/nelpy_linear_track.nwb"],
)
def test_real_files_keep_units_and_electrodes(
    relative: str, shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / relative
    before = _sha(source)
    out = write_derived_nwb(tmp_path / "d.nwb", source)
    assert _sha(source) == before
    with NWBHDF5IO(source, "r") as a, NWBHDF5IO(out, "r") as b:
        src, new = a.read(), b.read()
        assert _table(new.units) == _table(src.units)
        if src.electrodes is None:
            assert new.electrodes is None
        else:
            assert _table(new.electrodes) == _table(src.electrodes)
            assert sorted(new.electrode_groups) == sorted(src.electrode_groups)
            assert sorted(new.devices) == sorted(src.devices)

    def critical(path: Path) -> set:
        found = inspect_nwbfile(nwbfile_path=path)
        return {m.check_function_name for m in found if m.importance == Importance.CRITICAL}

    # the real files lack some subject metadata (age, sex...): the copy adds no new issue
    assert critical(out) <= critical(source)
