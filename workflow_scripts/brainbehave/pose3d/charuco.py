"""Camera calibration from ChArUco board videos (one per camera, synchronised).

Three steps, as anipose does them, with OpenCV's aruco module and scipy:

1. **Detection**: ChArUco corners (id, px) in every ``every_nth_frame``-th frame of every video
   (``cv2.aruco.CharucoDetector``); views with fewer than ``min_corners`` corners are skipped.
2. **Intrinsics** per camera (``cv2.calibrateCamera``: K with square pixels, k1, k2, p1, p2)
   and, with them, the board's pose in each view; then **extrinsics** relative to the first
   camera from the frames two cameras share (median over frames of the relative pose, chained
   breadth-first when a camera shares no frame with the first).
3. **Bundle adjustment** (``scipy.optimize.least_squares``, Huber loss, sparse Jacobian): every
   camera's pose (the first fixed at the origin), focal length, principal point, k1 and k2, and the
   board's pose in every frame seen by any camera, minimise the reprojection error of all corners.

The world frame is the first camera's (anipose's convention); units are the board's (mm).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brainbehave import provenance
from brainbehave.atomic import write_text
from brainbehave.calibration import Camera, matrix_to_rodrigues, write_calibration
from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)

MAX_INTRINSIC_VIEWS = 60  # views per camera given to calibrateCamera (evenly spread)


@dataclass(frozen=True)
class BoardSpec:
    """A ChArUco board (the ``pose3d.calibrate`` config block)."""

    squares_x: int = 7
    squares_y: int = 5
    square_mm: float = 40.0
    marker_mm: float = 30.0
    dictionary: str = "DICT_4X4_50"
    every_nth_frame: int = 1
    min_corners: int = 8

    def __post_init__(self) -> None:
        import cv2

        if not hasattr(cv2.aruco, self.dictionary):
            raise ValueError(
                f"pose3d.calibrate.dictionary {self.dictionary!r} is not an OpenCV "
                "aruco dictionary (e.g. DICT_4X4_50, DICT_5X5_100)."
            )
        if self.marker_mm >= self.square_mm:
            raise ValueError(
                f"pose3d.calibrate: marker_mm ({self.marker_mm}) must be smaller "
                f"than square_mm ({self.square_mm})."
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> BoardSpec:
        return cls(**dict(values))

    def board(self):
        """The ``cv2.aruco.CharucoBoard``."""
        import cv2

        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard(
            (self.squares_x, self.squares_y), self.square_mm, self.marker_mm, dictionary
        )

    def corners_mm(self) -> np.ndarray:
        """(N, 3) board-frame positions of the inner chessboard corners, by ChArUco id."""
        return np.asarray(self.board().getChessboardCorners(), dtype=float)


Detections = dict[int, tuple[np.ndarray, np.ndarray]]  # frame -> (ids (n,), px (n, 2))


def detect_video(path: str | os.PathLike, spec: BoardSpec) -> tuple[Detections, tuple[int, int]]:
    """ChArUco corners in the frames of one video; return them and the image (width, height)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputDataError(f"Calibration video {path} cannot be opened by OpenCV.")
    detector = cv2.aruco.CharucoDetector(spec.board())
    out: Detections = {}
    size, frame = None, -1
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            frame += 1
            size = (image.shape[1], image.shape[0])
            if frame % spec.every_nth_frame:
                continue
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
            corners, ids, _, _ = detector.detectBoard(gray)
            if ids is not None and len(ids) >= spec.min_corners:
                out[frame] = (ids.reshape(-1).astype(int), corners.reshape(-1, 2).astype(float))
    finally:
        cap.release()
    if size is None:
        raise InputDataError(f"Calibration video {path} has no readable frame.")
    return out, size


def _collinear(ids: np.ndarray, spec: BoardSpec) -> bool:
    """All corners on one row or one column (a degenerate view for calibrateCamera)."""
    cols = spec.squares_x - 1
    return len(set(ids // cols)) < 2 or len(set(ids % cols)) < 2


def calibrate_intrinsics(
    det: Detections, size: tuple[int, int], spec: BoardSpec, where: str
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray], float]:
    """K, dist (5,), board pose (rvec, tvec) per used frame, and the RMS error (px)."""
    import cv2

    objp = spec.corners_mm()
    frames = [f for f in sorted(det) if not _collinear(det[f][0], spec)]
    if len(frames) < 4:
        raise InputDataError(
            f"{where}: the board was found in {len(frames)} usable frames (need >= 4); film it "
            "closer, in more poses, or check pose3d.calibrate (board size and dictionary)."
        )
    step = max(1, len(frames) // MAX_INTRINSIC_VIEWS)
    chosen = frames[::step]
    obj = [objp[det[f][0]].astype(np.float32) for f in chosen]
    img = [det[f][1].astype(np.float32) for f in chosen]
    # Square pixels (fx = fy) and k3 = 0: with a planar board both trade off against the
    # principal point and k1, k2 when the board's tilts are few.
    flags = cv2.CALIB_FIX_K3 | cv2.CALIB_FIX_ASPECT_RATIO
    rms, k, dist, _, _ = cv2.calibrateCamera(obj, img, size, np.eye(3), None, flags=flags)
    dist = np.asarray(dist, dtype=float).reshape(-1)[:5]
    poses = {}
    for f in frames:  # every frame's board pose, with the fitted intrinsics
        ids, px = det[f]
        ok, rvec, tvec = cv2.solvePnP(objp[ids], px, k, dist, flags=cv2.SOLVEPNP_ITERATIVE)
        if ok:
            poses[f] = np.concatenate([rvec.reshape(3), tvec.reshape(3)])
    return np.asarray(k, dtype=float), dist, poses, float(rms)


def _rt(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from brainbehave.calibration import rodrigues_to_matrix

    return rodrigues_to_matrix(p[:3]), p[3:]


def _relative(pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pose of camera b relative to camera a from one board pose seen by both."""
    ra, ta = _rt(pa)
    rb, tb = _rt(pb)
    r = rb @ ra.T
    return r, tb - r @ ta


def _median_pose(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Robust average of relative poses: rotation by SVD of the summed matrices, median t."""
    u, _, vt = np.linalg.svd(sum(r for r, _ in pairs))
    r = u @ vt
    if np.linalg.det(r) < 0:
        r = u @ np.diag([1, 1, -1]) @ vt
    return np.concatenate([matrix_to_rodrigues(r), np.median([t for _, t in pairs], axis=0)])


def initial_extrinsics(poses: list[dict[int, np.ndarray]], names: list[str], where: str):
    """Each camera's (rvec, tvec) relative to the first, chained over shared board views."""
    n = len(poses)
    ext: dict[int, np.ndarray] = {0: np.zeros(6)}
    while len(ext) < n:
        best = None
        for a in ext:
            for b in range(n):
                if b in ext:
                    continue
                shared = sorted(set(poses[a]) & set(poses[b]))
                if len(shared) >= 3 and (best is None or len(shared) > len(best[2])):
                    best = (a, b, shared)
        if best is None:
            missing = [names[b] for b in range(n) if b not in ext]
            raise InputDataError(
                f"{where}: cameras {missing} never see the board together with the others "
                "(>= 3 shared frames needed); film the board where the cameras' views overlap."
            )
        a, b, shared = best
        rel = _median_pose([_relative(poses[a][f], poses[b][f]) for f in shared])
        r_ab, t_ab = _rt(rel)
        r_a, t_a = _rt(ext[a])
        ext[b] = np.concatenate([matrix_to_rodrigues(r_ab @ r_a), r_ab @ t_a + t_ab])
    return [ext[i] for i in range(n)]


def _rodrigues_batch(r: np.ndarray) -> np.ndarray:
    """(N, 3) Rodrigues vectors -> (N, 3, 3) rotation matrices."""
    theta = np.linalg.norm(r, axis=1)[:, None, None]
    safe = np.where(theta > 1e-12, theta, 1.0)
    k = r[:, :, None] / safe
    kx = np.zeros((len(r), 3, 3))
    kx[:, 0, 1], kx[:, 0, 2], kx[:, 1, 2] = -k[:, 2, 0], k[:, 1, 0], -k[:, 0, 0]
    kx = kx - kx.transpose(0, 2, 1)
    eye = np.eye(3)[None]
    rot = eye + np.sin(theta) * kx + (1 - np.cos(theta)) * (kx @ kx)
    return np.where(theta > 1e-12, rot, eye)


def _project(cam_params, intr, dist, board_params, obs_cam, obs_frame, obs_pts):
    """Distorted px of each observation (camera index, frame index, board point)."""
    r_b = _rodrigues_batch(board_params[:, :3])[obs_frame]
    xw = np.einsum("nij,nj->ni", r_b, obs_pts) + board_params[obs_frame, 3:]
    r_c = _rodrigues_batch(cam_params[:, :3])[obs_cam]
    xc = np.einsum("nij,nj->ni", r_c, xw) + cam_params[obs_cam, 3:]
    x, y = xc[:, 0] / xc[:, 2], xc[:, 1] / xc[:, 2]
    k1, k2, p1, p2, k3 = dist[obs_cam].T
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    f, cx, cy = intr[obs_cam, 0], intr[obs_cam, 1], intr[obs_cam, 2]
    aspect = intr[obs_cam, 3]
    return np.column_stack([f * xd + cx, f * aspect * yd + cy])


def bundle_adjust(cams, ks, dists, observations, board_init, spec: BoardSpec):
    """Refine camera poses (first fixed), focal length, principal point, k1, k2 and the board's
    poses; return them and the per-observation reprojection errors (px)."""
    from scipy.optimize import least_squares
    from scipy.sparse import lil_matrix

    n_cam = len(cams)
    obs_cam, obs_frame, obs_id, obs_px = observations
    pts = spec.corners_mm()[obs_id]
    intr0 = np.array([[k[0, 0], k[0, 2], k[1, 2], k[1, 1] / k[0, 0]] for k in ks])
    dist = np.asarray(dists)
    n_c = 6 * (n_cam - 1) + 5 * n_cam  # camera poses (not the first); f, cx, cy, k1, k2

    def unpack(x):
        cam_params = np.vstack([np.zeros(6), x[: 6 * (n_cam - 1)].reshape(-1, 6)])
        lens = x[6 * (n_cam - 1) : n_c].reshape(-1, 5)
        intr, d = intr0.copy(), dist.copy()
        intr[:, :3], d[:, :2] = lens[:, :3], lens[:, 3:]
        return cam_params, intr, d, x[n_c:].reshape(-1, 6)

    def residuals(x):
        cam_params, intr, d, board = unpack(x)
        return (_project(cam_params, intr, d, board, obs_cam, obs_frame, pts) - obs_px).ravel()

    lens0 = np.column_stack([intr0[:, :3], dist[:, :2]])
    x0 = np.concatenate([np.ravel(cams[1:]), lens0.ravel(), np.ravel(board_init)])
    sparsity = lil_matrix((2 * len(obs_cam), len(x0)), dtype=int)
    rows = np.arange(len(obs_cam))
    for r in (2 * rows, 2 * rows + 1):
        for j in range(6):
            moving = obs_cam > 0
            sparsity[r[moving], 6 * (obs_cam[moving] - 1) + j] = 1
            sparsity[r, n_c + 6 * obs_frame + j] = 1
        for j in range(5):
            sparsity[r, 6 * (n_cam - 1) + 5 * obs_cam + j] = 1
    result = least_squares(
        residuals,
        x0,
        jac_sparsity=sparsity,
        loss="huber",
        f_scale=2.0,
        x_scale="jac",
        method="trf",
        max_nfev=200,
    )
    cam_params, intr, d, board = unpack(result.x)
    err = np.linalg.norm(result.fun.reshape(-1, 2), axis=1)
    return cam_params, intr, d, board, err, int(result.nfev)


def _observations(dets, poses, ext):
    """Stack every corner of every used view, and each frame's initial board pose (world)."""
    frames = sorted({f for p in poses for f in p})
    index = {f: i for i, f in enumerate(frames)}
    board = np.zeros((len(frames), 6))
    for f in frames:  # board in the world from the first camera that saw it
        c = next(c for c, p in enumerate(poses) if f in p)
        r_b, t_b = _rt(poses[c][f])
        r_c, t_c = _rt(ext[c])
        board[index[f]] = np.concatenate([matrix_to_rodrigues(r_c.T @ r_b), r_c.T @ (t_b - t_c)])
    cams, fr, ids, px = [], [], [], []
    for c, (det, pose) in enumerate(zip(dets, poses, strict=True)):
        for f in pose:
            i, p = det[f]
            cams.append(np.full(len(i), c))
            fr.append(np.full(len(i), index[f]))
            ids.append(i)
            px.append(p)
    return (np.concatenate(cams), np.concatenate(fr), np.concatenate(ids), np.vstack(px)), board


def calibrate_from_detections(
    detections: Mapping[str, Detections],
    sizes: Mapping[str, tuple[int, int]],
    spec: BoardSpec,
    where: str = "calibration",
) -> tuple[list[Camera], dict[str, Any]]:
    """Intrinsics, extrinsics and bundle adjustment from board corners; return cameras and QC.

    Parameters
    ----------
    detections
        Per camera (the first is the world frame): frame -> (corner ids, px).
    sizes
        Image (width, height) per camera.
    spec
        The board.
    where
        Named in errors.
    """
    names = list(detections)
    dets = [detections[n] for n in names]
    ks, dists, poses, rms = [], [], [], {}
    for name, det in zip(names, dets, strict=True):
        k, dist, pose, err = calibrate_intrinsics(det, sizes[name], spec, f"{where} camera {name}")
        ks.append(k)
        dists.append(dist)
        poses.append(pose)
        rms[name] = round(err, 4)
        logger.info("%s: board in %d frames, intrinsic RMS %.3f px", name, len(det), err)
    ext = initial_extrinsics(poses, names, where)
    obs, board0 = _observations(dets, poses, ext)
    cam_params, intr, dists, _, err, nfev = bundle_adjust(ext, ks, dists, obs, board0, spec)
    cameras = []
    for c, name in enumerate(names):
        k = ks[c].copy()
        k[0, 0], k[0, 2], k[1, 2] = intr[c, :3]
        k[1, 1] = intr[c, 0] * intr[c, 3]
        k[0, 1] = 0.0
        cameras.append(Camera(name, sizes[name], k, dists[c], cam_params[c, :3], cam_params[c, 3:]))
    qc = {
        "cameras": names,
        "board": asdict(spec),
        "frames_with_board": {n: len(d) for n, d in zip(names, dets, strict=True)},
        "intrinsic_rms_px": rms,
        "bundle_adjustment": {"observations": int(len(err)), "function_evaluations": nfev},
        "reprojection_error_px": {
            n: {
                "median": round(float(np.median(err[obs[0] == c])), 4),
                "p95": round(float(np.percentile(err[obs[0] == c], 95)), 4),
            }
            for c, n in enumerate(names)
            if (obs[0] == c).any()
        },
    }
    return cameras, qc


def calibrate_from_videos(
    videos: Mapping[str, str | os.PathLike],
    spec: BoardSpec,
    calibration_path: str | os.PathLike,
    qc_path: str | os.PathLike | None = None,
    where: str = "calibration",
) -> tuple[list[Camera], dict[str, Any]]:
    """Calibrate cameras from synchronised ChArUco board videos; write calibration.toml + QC.

    Parameters
    ----------
    videos
        Board video of each camera, by camera name (the first is the world frame).
    spec
        The board and detection settings.
    calibration_path, qc_path
        Anipose-style calibration (atomic) and a JSON summary (atomic; optional).
    where
        Named in errors (e.g. the session).
    """
    detections, sizes = {}, {}
    for name, path in videos.items():
        detections[name], sizes[name] = detect_video(path, spec)
        if not detections[name]:
            raise InputDataError(
                f"{where}: no ChArUco board found in {path} (camera {name}); check "
                "pose3d.calibrate (squares, sizes, dictionary) against the printed board."
            )
    cameras, qc = calibrate_from_detections(detections, sizes, spec, where)
    err = [v["median"] for v in qc["reprojection_error_px"].values()]
    meta = {
        "tool": "brainbehave pose3d charuco",
        **provenance.versions(("numpy", "scipy", "opencv-python-headless")),
        "board": asdict(spec),
        "videos": {n: str(p) for n, p in videos.items()},
        "reprojection_error_px_median": float(np.median(err)),
        "world_frame": f"camera {cameras[0].name}",
    }
    write_calibration(calibration_path, cameras, metadata=meta)
    if qc_path is not None:
        write_text(qc_path, json.dumps(qc, indent=1))
    return cameras, qc
