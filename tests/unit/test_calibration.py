"""Camera model and anipose calibration files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from brainbehave.calibration import Camera, read_calibration, write_calibration


def make_camera(rng: np.random.Generator, name: str = "camA", skew: float = 0.0) -> Camera:
    k = np.array([[300.0, skew, 131.0], [0.0, 290.0, 97.0], [0.0, 0.0, 1.0]])
    dist = rng.uniform(-1, 1, 5) * [0.2, 0.05, 2e-3, 2e-3, 0.01]
    return Camera(name, (256, 192), k, dist, rng.normal(0, 0.4, 3), np.array([5.0, -3.0, 900.0]))


def points_in_front(camera: Camera, rng: np.random.Generator, n: int = 500) -> np.ndarray:
    points = rng.uniform(-300, 300, (n, 3))
    return points[camera.depth(points) > 100]


def test_project_matches_opencv() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        cam = make_camera(rng)
        points = points_in_front(cam, rng)
        ours = cam.project(points)
        theirs, _ = cv2.projectPoints(points, cam.rvec, cam.tvec, cam.matrix, cam.dist)
        np.testing.assert_allclose(ours, theirs[:, 0], atol=1e-9)


def test_project_keeps_batch_shape_and_nan() -> None:
    cam = make_camera(np.random.default_rng(1))
    points = np.zeros((4, 2, 3))
    points[1, 0] = np.nan
    uv = cam.project(points)
    assert uv.shape == (4, 2, 2)
    assert np.isnan(uv[1, 0]).all()
    assert np.isfinite(uv[0]).all()


def test_points_behind_camera_project_to_nan() -> None:
    cam = make_camera(np.random.default_rng(2))
    ahead = cam.center + 100 * cam.rotation_matrix[2]
    behind = cam.center - 100 * cam.rotation_matrix[2]
    uv = cam.project(np.stack([ahead, behind, cam.center]))
    assert np.isfinite(uv[0]).all()
    assert np.isnan(uv[1:]).all()
    assert cam.depth(behind) < 0


def test_undistort_inverts_project_with_skew() -> None:
    rng = np.random.default_rng(3)
    cam = make_camera(rng, skew=2.5)
    points = points_in_front(cam, rng)
    in_camera = cam.to_camera_frame(points)
    expected = in_camera[:, :2] / in_camera[:, 2:]
    np.testing.assert_allclose(cam.undistort_points(cam.project(points)), expected, atol=1e-10)


def test_skew_shifts_u_by_skew_times_y() -> None:
    rng = np.random.default_rng(4)
    plain = make_camera(np.random.default_rng(5))
    skewed = Camera(
        plain.name,
        plain.size,
        plain.matrix + [[0, 3.0, 0], [0, 0, 0], [0, 0, 0]],
        plain.dist,
        plain.rvec,
        plain.tvec,
    )
    points = points_in_front(plain, rng)
    shift = skewed.project(points) - plain.project(points)
    yd = (plain.project(points)[:, 1] - plain.matrix[1, 2]) / plain.matrix[1, 1]
    np.testing.assert_allclose(shift[:, 0], 3.0 * yd, atol=1e-9)
    np.testing.assert_allclose(shift[:, 1], 0.0, atol=1e-12)


def test_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(6)
    cams = [make_camera(rng, "camA", skew=0.7), make_camera(rng, "camB")]
    path = tmp_path / "calibration.toml"
    write_calibration(path, cams, metadata={"units": "mm", "error": np.float64(0.25)})
    back = read_calibration(path)
    assert list(back) == ["camA", "camB"]
    assert list(back.values()) == cams
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.toml"]  # no temp file left


def test_reads_real_anipose_file(shared_data) -> None:
    cams = read_calibration(shared_data / "eks_fly_3cam" / "calibration.toml")
    assert list(cams) == ["Cam-A", "Cam-B", "Cam-C"]
    assert cams["Cam-A"].size == (832, 632)
    assert cams["Cam-A"].dist[0] == pytest.approx(-58.1898806599525)
    assert cams["Cam-B"].tvec[2] == pytest.approx(137.52668448420522)


GOOD = """
[cam_0]
name = "camA"
size = [256, 192]
matrix = [[300.0, 0.0, 128.0], [0.0, 300.0, 96.0], [0.0, 0.0, 1.0]]
distortions = [0.1, 0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
translation = [0.0, 0.0, 900.0]
"""


def write(tmp_path, text: str):
    path = tmp_path / "calibration.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD.replace('name = "camA"\n', ""), r"\[cam_0\].*missing keys \['name'\]"),
        (GOOD.replace("[0.0, 0.0, 1.0]]", "]"), r"\[cam_0\].*'matrix' of shape \(3, 3\)"),
        (GOOD.replace("[[300.0", "[[-300.0"), r"\[cam_0\].*focal lengths must be positive"),
        (GOOD.replace("[256, 192]", "[256, 0]"), r"'size' must be two positive integers"),
        (GOOD.replace("[256, 192]", "[256.5, 192]"), r"'size' must be two positive integers"),
        (GOOD.replace("0.1, 0.0, 0.0, 0.0, 0.0", "0.1, 0.0, 0.0"), r"'distortions' of shape"),
        (GOOD.replace("0.1, 0.0, 0.0, 0.0, 0.0", "0.1, 0, 0, 0, 0, 0.3, 0, 0"), "rational model"),
        (GOOD.replace("900.0", "nan"), r"'translation' holds non-finite"),
        (GOOD + GOOD.replace("cam_0", "cam_1"), r"\[cam_1\].*'camA' is used twice"),
        (GOOD.replace("cam_0", "camera0"), r"\[camera0\].*unexpected section"),
        ("[metadata]\nx = 1\n", "has no camera sections"),
        (GOOD.replace("[cam_0]", "[cam_0"), "not valid TOML"),
    ],
)
def test_malformed_files_are_refused(tmp_path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        read_calibration(path)
    assert str(path) in str(info.value)


def test_four_and_eight_distortions_are_padded_or_truncated(tmp_path) -> None:
    four = read_calibration(
        write(tmp_path, GOOD.replace("0.1, 0.0, 0.0, 0.0, 0.0", "0.1, 0.2, 0.003, 0.004"))
    )
    np.testing.assert_array_equal(four["camA"].dist, [0.1, 0.2, 0.003, 0.004, 0.0])
    eight = read_calibration(
        write(tmp_path, GOOD.replace("0.1, 0.0, 0.0, 0.0, 0.0", "0.1, 0, 0, 0, 0.5, 0, 0, 0"))
    )
    np.testing.assert_array_equal(eight["camA"].dist, [0.1, 0, 0, 0, 0.5])


def test_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_calibration(tmp_path / "nope.toml")


def test_write_refuses_duplicate_names(tmp_path) -> None:
    cam = make_camera(np.random.default_rng(7))
    with pytest.raises(ValueError, match="unique"):
        write_calibration(tmp_path / "c.toml", [cam, cam])
    assert not list(tmp_path.iterdir())


def test_camera_refuses_bad_arrays() -> None:
    with pytest.raises(ValueError, match=r"'dist' to have shape \(5,\)"):
        Camera("c", (10, 10), np.eye(3), np.zeros(4), np.zeros(3), np.zeros(3))
    cam = make_camera(np.random.default_rng(8))
    with pytest.raises(ValueError, match="read-only"):
        cam.matrix[0, 0] = 1.0
