"""The neural stage on a virtual-lab session: clock recovered against the truth, binned."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from brainbehave.align import align_nwb_session, load_aligned
from brainbehave.errors import InputDataError
from brainbehave.nwb import read_units_spike_times
from brainbehave.paths import Paths
from brainbehave.sync import read_sync, sync_nwb_session
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings

TINY = SynthSettings(
    seed=11,
    subjects=1,
    sessions_per_subject=1,
    duration_s=8.0,
    cameras=2,
    image_size=(64, 48),
    n_units=15,
    dropped_frames=3,
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict:
    paths = Paths(results=str(tmp_path_factory.mktemp("lab")))
    truth = generate_session(
        TINY, "rat01", "ses01", SessionFiles.from_paths(paths, TINY, "rat01", "ses01")
    )
    cameras = {
        c: {
            "frame_times": paths.synth_frame_times("rat01", "ses01", c),
            "video": paths.synth_video("rat01", "ses01", c),
        }
        for c in truth.cameras
    }
    return {"paths": paths, "truth": truth, "cameras": cameras}


def _sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_sync_recovers_the_true_clock_and_every_dropped_frame(lab: dict, tmp_path: Path) -> None:
    truth, nwb = lab["truth"], lab["paths"].synth_nwb("rat01", "ses01")
    before = _sha(nwb)
    sync_nwb_session(
        nwb,
        tmp_path / "sync.json",
        cameras=lab["cameras"],
        fps=TINY.fps,
        sync_series="video_frame_ttl",
    )
    assert _sha(nwb) == before
    for result in read_sync(tmp_path / "sync.json").values():
        assert result.dropped_exposures == np.flatnonzero(truth.dropped).tolist()
        assert abs(result.offset_s - truth.clock_offset_s) < 1e-4
        true_times = truth.video_to_neural(truth.exposure_times_video[truth.video_exposure_index])
        assert np.max(np.abs(result.frame_times_neural - true_times)) < 1e-3


def test_aligned_dataset_counts_every_spike_of_the_session(lab: dict, tmp_path: Path) -> None:
    nwb = lab["paths"].synth_nwb("rat01", "ses01")
    sync_nwb_session(
        nwb,
        tmp_path / "sync.json",
        cameras=lab["cameras"],
        fps=TINY.fps,
        sync_series="video_frame_ttl",
    )
    align_nwb_session(
        nwb,
        tmp_path / "sync.json",
        tmp_path / "aligned.nc",
        subject="rat01",
        session="ses01",
        n_blocks=5,
    )
    ds = load_aligned(tmp_path / "aligned.nc")
    spikes = read_units_spike_times(nwb)
    lo, hi = ds["bin_start"].values[0], ds["bin_stop"].values[-1]
    inside = [int(((s >= lo) & (s < hi)).sum()) for s in spikes]
    np.testing.assert_array_equal(ds["neural"].sum("time").values, inside)
    assert ds.sizes["time"] == TINY.n_frames  # one bin per exposure, dropped ones included
    assert ds.attrs["bin_s"] == pytest.approx(1 / TINY.fps)
    assert '"dropped_exposures"' in ds.attrs["provenance"]


def test_pulses_alone_cannot_place_dropped_frames(lab: dict, tmp_path: Path) -> None:
    cameras = {c: {"frame_times": None, "video": v["video"]} for c, v in lab["cameras"].items()}
    with pytest.raises(InputDataError, match="240 sync pulses but 237 saved frames"):
        sync_nwb_session(
            lab["paths"].synth_nwb("rat01", "ses01"),
            tmp_path / "sync.json",
            cameras=cameras,
            fps=TINY.fps,
            sync_series="video_frame_ttl",
        )
    assert not (tmp_path / "sync.json").exists()


def test_a_missing_sync_series_is_named(lab: dict, tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="no acquisition series 'camera_sync'"):
        sync_nwb_session(
            lab["paths"].synth_nwb("rat01", "ses01"),
            tmp_path / "sync.json",
            cameras=lab["cameras"],
            fps=TINY.fps,
            sync_series="camera_sync",
        )
