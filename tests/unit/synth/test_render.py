"""The sphere-splatting renderer and its videos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from brainbehave.synth.arena import Arena
from brainbehave.synth.render import (
    KEYPOINT_COLOURS,
    RenderStyle,
    render_background,
    render_frame,
    render_session_videos,
)
from brainbehave.synth.rig import make_rig
from brainbehave.synth.skeleton import KEYPOINTS, REST_POSE_MM, keypoint_index

SIZE = (256, 192)
CLEAN = RenderStyle(noise_sd=0.0, flicker_sd=0.0, blur_sigma=0.0)


def pose(x: float, y: float, yaw: float = 0.0) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return REST_POSE_MM @ rotation.T + [x, y, 0.0]


@pytest.fixture(scope="module")
def arena() -> Arena:
    return Arena()


@pytest.fixture(scope="module")
def cameras(arena):
    return make_rig(3, SIZE, arena, np.random.default_rng(0))


def test_background_shows_floor_and_object(cameras, arena) -> None:
    cam = cameras[0]
    bg = render_background(cam, arena, np.random.default_rng(0))
    assert bg.image.shape == (SIZE[1], SIZE[0], 3) and bg.image.dtype == np.uint8
    u, v = np.rint(cam.project(np.array([0.0, 0.0, 0.0]))).astype(int)
    assert bg.depth[v, u] == pytest.approx(cam.depth(np.zeros(3)), rel=5e-3)  # nearest pixel
    top = np.array([*arena.object_xy_mm, arena.object_height_mm])
    u, v = np.rint(cam.project(top)).astype(int)
    assert bg.depth[v + 1, u] < cam.depth(np.array([*arena.object_xy_mm, 0.0]))
    assert bg.image.std() > 10  # textured, not flat


def test_same_seed_gives_same_floor(cameras, arena) -> None:
    a = render_background(cameras[1], arena, np.random.default_rng(4))
    b = render_background(cameras[1], arena, np.random.default_rng(4))
    np.testing.assert_array_equal(a.image, b.image)


def test_visibility_matches_the_picture(cameras, arena, monkeypatch) -> None:
    """A marker is visible exactly when recolouring it changes its centre pixel."""
    from brainbehave.synth import render

    n_visible = 0
    for cam in cameras:
        bg = render_background(cam, arena, np.random.default_rng(0))
        for x, y, yaw in [(0, 0, 0), (-150, 100, 2.0), (100, 150, -1.0), (250, -250, 0.7)]:
            kp = pose(x, y, yaw)
            uv = np.rint(cam.project(kp)).astype(int)
            for k, name in enumerate(KEYPOINTS):
                images = []
                for grey in (10, 250):
                    monkeypatch.setitem(render.KEYPOINT_COLOURS, name, (grey, grey, grey))
                    image, visible = render_frame(
                        cam, kp, arena, bg, np.random.default_rng(0), style=CLEAN
                    )
                    images.append(image)
                changed = np.any(images[0] != images[1], axis=-1)
                assert changed.any() or not visible[k]
                if visible[k]:
                    assert changed[uv[k, 1], uv[k, 0]], (cam.name, name)
                elif 0 <= uv[k, 0] < SIZE[0] and 0 <= uv[k, 1] < SIZE[1]:
                    assert not changed[uv[k, 1], uv[k, 0]], (cam.name, name)
                n_visible += visible[k]
    assert n_visible > 0.5 * 12 * len(KEYPOINTS)


def test_left_and_right_markers_differ_in_brightness() -> None:
    luma = {k: np.dot(c, [0.299, 0.587, 0.114]) for k, c in KEYPOINT_COLOURS.items()}
    for part in ("ear", "hip", "forepaw", "hindpaw"):
        assert luma[f"left_{part}"] - luma[f"right_{part}"] > 120


def test_object_and_image_border_hide_markers(cameras, arena) -> None:
    rng = np.random.default_rng(2)
    cam = cameras[0]
    paw = keypoint_index("left_forepaw")
    # put the paw on the far side of the object, seen from this camera
    obj = np.array([*arena.object_xy_mm, 20.0])
    away = (obj - cam.center) * [1, 1, 0]
    hidden = obj + away / np.linalg.norm(away) * (arena.object_radius_mm + 12.0)
    hidden[2] = 0.0
    kp = pose(-150, 150)
    kp[paw] = hidden
    bg = render_background(cam, arena, rng)
    _, visible = render_frame(cam, kp, arena, bg, rng)
    assert not visible[paw]
    no_object = Arena(object_xy_mm=None)
    _, visible = render_frame(cam, kp, no_object, render_background(cam, no_object, rng), rng)
    assert visible[paw]
    far = pose(5000.0, 0.0)
    _, visible = render_frame(cam, far, arena, bg, rng)
    assert not visible.any()
    kp = pose(0, 0)
    kp[paw] = np.nan
    _, visible = render_frame(cam, kp, arena, bg, rng)
    assert not visible[paw] and visible.sum() > 3


def test_body_hides_far_side_markers(cameras, arena) -> None:
    hidden_hips = 0
    for cam in cameras:
        bg = render_background(cam, arena, np.random.default_rng(3))
        for near, far, turn in (("left", "right", np.pi / 2), ("right", "left", -np.pi / 2)):
            facing = np.arctan2(-cam.center[1], -cam.center[0]) + turn  # `near` side to camera
            _, visible = render_frame(cam, pose(0, 0, facing), arena, bg, np.random.default_rng(0))
            for part in ("hip", "forepaw", "hindpaw"):
                assert visible[keypoint_index(f"{near}_{part}")], (cam.name, near, part)
            assert not visible[keypoint_index(f"{far}_forepaw")]
            assert not visible[keypoint_index(f"{far}_hindpaw")]
            hidden_hips += not visible[keypoint_index(f"{far}_hip")]
    assert hidden_hips >= 4


def test_session_videos(tmp_path, cameras, arena) -> None:
    t = np.arange(40)
    kp = np.stack([pose(3.0 * i - 60, 20.0, 0.05 * i) for i in t])
    frames = np.delete(t, [5, 17, 18])  # dropped frames never reach the video
    out = {c.name: tmp_path / f"{c.name}.mp4" for c in cameras}
    vis = render_session_videos(out, cameras, kp, arena, 30.0, np.random.default_rng(0), frames)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in out.values())
    for cam in cameras:
        assert vis[cam.name].shape == (len(frames), len(KEYPOINTS))
        assert vis[cam.name].dtype == bool and vis[cam.name].mean() > 0.4
        cap = cv2.VideoCapture(str(out[cam.name]))
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (SIZE[1], SIZE[0], 3)
            n += 1
        cap.release()
        assert n == len(frames)
        assert cap.get(cv2.CAP_PROP_FPS) in (0.0, pytest.approx(30.0))


def test_session_videos_refuse_bad_input(tmp_path, cameras, arena) -> None:
    kp = np.stack([pose(0, 0)] * 5)
    out = {c.name: tmp_path / f"{c.name}.mp4" for c in cameras}
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="one output video per camera"):
        render_session_videos({"camA": out["camA"]}, cameras, kp, arena, 30.0, rng)
    with pytest.raises(ValueError, match="must index the 5 rows"):
        render_session_videos(out, cameras, kp, arena, 30.0, rng, frames=np.array([0, 5]))
    with pytest.raises(ValueError, match=r"shape \(T, 12, 3\)"):
        render_session_videos(out, cameras, kp[:, :5], arena, 30.0, rng)
    with pytest.raises(ValueError, match="fps > 0"):
        render_session_videos(out, cameras, kp, arena, 0.0, rng)
    assert not list(tmp_path.iterdir())


def test_failed_render_leaves_no_video(tmp_path, cameras, arena, monkeypatch) -> None:
    from brainbehave.synth import render

    calls = []

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return original(*args, **kwargs)

    original = render._write_camera_video
    monkeypatch.setattr(render, "_write_camera_video", fail_on_second)
    out = {c.name: tmp_path / f"{c.name}.mp4" for c in cameras}
    kp = np.stack([pose(0, 0)] * 3)
    with pytest.raises(RuntimeError, match="boom"):
        render_session_videos(out, cameras, kp, arena, 30.0, np.random.default_rng(0))
    assert not list(tmp_path.iterdir())
