"""Existing pose files (DeepLabCut, SLEAP, Lightning Pose) become the pipeline's pose model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainbehave.errors import InputDataError
from brainbehave.pose import load_pose, provenance_of, save_pose
from brainbehave.pose2d.io import LOADERS, dlc_h5_to_pose, import_pose, pose_to_clean
from conftest import KEYPOINTS, dlc_frame, write_video  # noqa: I001  (tests/unit/pose2d/conftest.py)


def test_dlc_h5_round_trips_through_the_pose_model(dlc_h5: Path, tmp_path: Path) -> None:
    ds = dlc_h5_to_pose(dlc_h5, 30.0, camera="camA", subject="rat01", session="ses01")
    table = dlc_frame()
    assert ds.sizes == {"time": 20, "space": 2, "keypoints": 3, "individuals": 1}
    np.testing.assert_allclose(
        ds.position.sel(keypoints="ear", space="x").values[:, 0],
        table.xs(("ear", "x"), axis=1, level=(1, 2)).values[:, 0],
    )
    np.testing.assert_allclose(
        ds.confidence.sel(keypoints="tail").values[:, 0],
        table.xs(("tail", "likelihood"), axis=1, level=(1, 2)).values[:, 0],
    )
    assert ds.attrs["camera"] == "camA" and ds.attrs["source_software"] == "DeepLabCut"
    assert ds.time.values[1] == pytest.approx(1 / 30)
    save_pose(ds, tmp_path / "pose.nc")
    back = load_pose(tmp_path / "pose.nc")
    assert provenance_of(back)["steps"][0]["format"] == "dlc"
    np.testing.assert_array_equal(back.position.values, ds.position.values)


def test_dlc_csv_is_read_like_the_h5(dlc_h5: Path, tmp_path: Path) -> None:
    csv = tmp_path / "camA.csv"
    dlc_frame().to_csv(csv)
    a = import_pose(dlc_h5, "dlc", fps=30.0)
    b = import_pose(csv, "dlc", fps=30.0)
    np.testing.assert_allclose(a.position.values, b.position.values)


def test_lightning_pose_csv(tmp_path: Path) -> None:
    table = dlc_frame(scorer="heatmap_tracker")
    csv = tmp_path / "lp.csv"
    table.to_csv(csv)
    ds = import_pose(csv, "lightning_pose", fps=25.0)
    assert (
        list(ds.keypoints.values) == list(KEYPOINTS)
        and ds.attrs["source_software"] == "LightningPose"
    )
    assert ds.attrs["fps"] == 25.0


def test_sleap_slp(tmp_path: Path) -> None:
    import sleap_io as sio

    skeleton = sio.Skeleton(list(KEYPOINTS))
    video = sio.Video(filename="camA.mp4", open_backend=False)
    points = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2) + 1
    frames = [
        sio.LabeledFrame(
            video=video,
            frame_idx=i,
            instances=[
                sio.PredictedInstance.from_numpy(
                    points[i], skeleton=skeleton, point_scores=np.full(3, 0.9), score=0.9
                )
            ],
        )
        for i in range(2)
    ]
    path = tmp_path / "camA.slp"
    sio.save_slp(sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton]), path)
    ds = import_pose(path, "sleap", fps=30.0, keypoints=["tail", "nose"])
    assert list(ds.keypoints.values) == ["tail", "nose"]
    np.testing.assert_allclose(
        ds.position.isel(time=1, individuals=0).sel(keypoints="tail").values, points[1, 2]
    )


def test_keypoints_are_selected_in_the_requested_order(dlc_h5: Path) -> None:
    ds = import_pose(dlc_h5, "dlc", fps=30.0, keypoints=["tail", "nose"])
    assert list(ds.keypoints.values) == ["tail", "nose"]


def test_missing_keypoint_names_file_and_keypoint(dlc_h5: Path) -> None:
    with pytest.raises(
        InputDataError, match=r"rat01/ses01 camera camA: .*lacks keypoints \['paw'\]"
    ):
        import_pose(
            dlc_h5, "dlc", fps=30.0, keypoints=["nose", "paw"], where="rat01/ses01 camera camA"
        )


def test_length_that_differs_from_the_video_is_refused(dlc_h5: Path) -> None:
    with pytest.raises(InputDataError, match="holds 20 frames but the video has 25"):
        import_pose(dlc_h5, "dlc", fps=30.0, n_frames=25)


def test_unknown_format_and_unreadable_file(dlc_h5: Path, tmp_path: Path) -> None:
    assert set(LOADERS) == {"dlc", "sleap", "lightning_pose"}
    with pytest.raises(InputDataError, match="unknown pose_format 'openpose'"):
        import_pose(dlc_h5, "openpose", fps=30.0)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(InputDataError, match=r"cannot read .*junk\.h5.* as DeepLabCut"):
        import_pose(junk, "dlc", fps=30.0)


def test_the_cleaning_step_imports_a_lab_file_against_its_video(
    dlc_h5: Path, video20: Path, tmp_path: Path
) -> None:
    where = {"camera": "camA", "subject": "rat01", "session": "ses01"}
    ds = pose_to_clean(dlc_h5, "dlc", video20, keypoints=["tail", "nose"], **where)
    assert list(ds.keypoints.values) == ["tail", "nose"] and ds.sizes["time"] == 20
    assert ds.attrs["camera"] == "camA" and ds.attrs["source_software"] == "DeepLabCut"
    # the video's fps (write_video's) is the pose's time base
    assert ds.time.values[1] == pytest.approx(1 / 30)
    # pose inferred here is read as it is
    save_pose(ds, tmp_path / "raw.nc")
    back = pose_to_clean(tmp_path / "raw.nc", None, None, **where)
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    short = tmp_path / "short.mp4"
    write_video(short, 12)
    with pytest.raises(InputDataError, match=r"rat01/ses01 camera camA: .* 20 frames .* 12"):
        pose_to_clean(dlc_h5, "dlc", short, **where)
    with pytest.raises(InputDataError, match="rat01/ses01 camera camA: an imported pose file"):
        pose_to_clean(dlc_h5, "dlc", None, **where)
