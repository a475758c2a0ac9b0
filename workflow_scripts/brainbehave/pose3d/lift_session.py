"""Lifting in the pipeline: train the lifter on a cohort's multi-camera sessions, lift a session.

Training (:func:`train_lift_model`): every camera view of every training session is one input
sequence (its 2D pose, px), its target that session's 3D (the triangulated ``pose3d.nc``, or the
virtual lab's truth where configured), both in the session's world frame; the lifter turns them
into camera-independent inputs (undistorted normalised coordinates) and camera-frame targets.
The last ``holdout`` training sessions are held out and each of their cameras is lifted alone
to report the error (MPJPE, Procrustes-aligned PA-MPJPE, root error); with a single training
session the last quarter of its frames is held out instead.

Lifting (:func:`lift_session`): one camera's 2D pose -> 3D pose in the pipeline's data model
(mm) with a ``position_sd`` variable. Frame: the session's world frame, through the camera's
extrinsics in the calibration; a calibration whose camera has zero rotation and translation
(intrinsics only) gives the camera frame, which the ``frame`` attribute records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from brainbehave import provenance
from brainbehave.atomic import atomic_path, write_text
from brainbehave.calibration import Camera, read_calibration
from brainbehave.errors import InputDataError
from brainbehave.pose import load_pose, pose_dataset
from brainbehave.pose3d.lift import Lifter, LiftSettings, mpjpe, pa_mpjpe, root_relative, within_sd

logger = logging.getLogger(__name__)

TARGETS = ("triangulated", "truth")
SD_SCALE_MM = 100.0  # confidence = exp(-|sd| / SD_SCALE_MM): a monotone map of the predicted sd


@dataclass(frozen=True)
class LiftConfig:
    """The ``pose3d.lift`` block of the config."""

    enabled: bool = True
    sessions: tuple[str, ...] = ()
    camera: str | None = None
    target: str = "triangulated"
    holdout: int = 1
    network: LiftSettings = LiftSettings()

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"pose3d.lift.target {self.target!r} unknown; choose from {TARGETS}.")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> LiftConfig:
        """Build from the config mapping (network keys sit beside the others)."""
        values = dict(values)
        net_keys = {f.name for f in dataclasses.fields(LiftSettings)}
        net = LiftSettings(**{k: values.pop(k) for k in list(values) if k in net_keys})
        values["sessions"] = tuple(values.get("sessions", ()))
        return cls(network=net, **values)


@dataclass(frozen=True)
class TrainingSession:
    """One training session's files: 2D pose per camera, calibration, and the 3D target."""

    subject: str
    session: str
    pose2d: Mapping[str, str]
    calibration: str
    target: str
    target_kind: str = "triangulated"

    @property
    def name(self) -> str:
        return f"{self.subject}/{self.session}"


def _world_target(ts: TrainingSession, keypoints: list[str], n_frames: int) -> np.ndarray:
    """(T, K, 3) world-frame mm of one training session, NaN where unknown."""
    if ts.target_kind == "truth":
        from brainbehave.truth import read_truth

        truth = read_truth(ts.target)
        xyz = truth.pose3d[truth.video_exposure_index]
        names = list(truth.keypoints)
    else:
        ds = load_pose(ts.target)
        xyz = ds["position"].isel(individuals=0).transpose("time", "keypoints", "space").values
        names = [str(k) for k in ds["keypoints"].values]
    if missing := [k for k in keypoints if k not in names]:
        raise InputDataError(
            f"session {ts.name}: the 3D target {ts.target} lacks keypoints {missing} of the 2D "
            "pose; train the lifter on sessions tracked with the same keypoints."
        )
    if len(xyz) != n_frames:
        raise InputDataError(
            f"session {ts.name}: the 3D target {ts.target} has {len(xyz)} frames but the 2D pose "
            f"has {n_frames}; rerun pose3d_triangulate for this session."
        )
    return xyz[:, [names.index(k) for k in keypoints]]


def _views(ts: TrainingSession) -> tuple[list[str], dict[str, np.ndarray], dict[str, Camera]]:
    calibration = read_calibration(ts.calibration)
    keypoints, views = None, {}
    for cam, path in ts.pose2d.items():
        if cam not in calibration:
            raise InputDataError(
                f"session {ts.name}: camera {cam!r} is not in {ts.calibration} "
                f"(it has {list(calibration)}); fix the videos sheet or the calibration."
            )
        ds = load_pose(path)
        names = [str(k) for k in ds["keypoints"].values]
        if keypoints is not None and names != keypoints:
            raise InputDataError(
                f"session {ts.name}: {path} has keypoints {names}, {keypoints} "
                "elsewhere; every camera must track the same keypoints."
            )
        keypoints = names
        views[cam] = (
            ds["position"].isel(individuals=0).transpose("time", "keypoints", "space").values
        )
    return keypoints, views, {c: calibration[c] for c in views}


def _evaluate(
    lifter: Lifter, held: list[tuple[str, np.ndarray, Camera, np.ndarray]], mean_pose: np.ndarray
) -> dict[str, Any]:
    """Per camera: lift each held-out view alone and compare with its 3D target.

    The predicted sd is recalibrated on the first half of the held-out frames (one factor:
    median |error| / sd over 0.6745, the Gaussian's median |z|) and ``within_1sd`` is measured on
    the second half; the factor is stored in the lifter (``sd_scale_``).
    """
    root = lifter.settings.root
    lifter.sd_scale_ = 1.0
    preds = [
        (name, cam, *lifter.predict(uv, cam), cam.to_camera_frame(xyz))
        for name, uv, cam, xyz in held
    ]
    z = np.concatenate(
        [(np.abs(mean - true) / sd)[: len(true) // 2].ravel() for _, _, mean, sd, true in preds]
    )
    scale = float(np.nanmedian(z) / 0.6745) if np.isfinite(z).any() else 1.0
    lifter.sd_scale_ = scale
    rows: dict[str, list] = {}
    for name, cam, mean, sd, true in preds:
        rel_pred, rel_true = root_relative(mean, root), root_relative(true, root)
        half = len(true) // 2
        rows.setdefault(cam.name, []).append(
            {
                "mpjpe_mm": mpjpe(rel_pred, rel_true),
                "pa_mpjpe_mm": pa_mpjpe(mean, true),
                "root_error_mm": mpjpe(mean[:, root], true[:, root]),
                "absolute_error_mm": mpjpe(mean, true),
                "within_1sd_uncalibrated": within_sd(mean[half:], sd[half:], true[half:]),
                "within_1sd": within_sd(mean[half:], scale * sd[half:], true[half:]),
                "mean_pose_baseline_mpjpe_mm": mpjpe(
                    np.broadcast_to(mean_pose, rel_true.shape), rel_true
                ),
            }
        )
        logger.info("held-out %s %s: %s", name, cam.name, rows[cam.name][-1])
    per_camera = {
        c: {k: round(float(np.nanmean([r[k] for r in v])), 3) for k in v[0]}
        for c, v in rows.items()
    }
    overall = {
        k: round(float(np.nanmean([p[k] for p in per_camera.values()])), 3)
        for k in next(iter(per_camera.values()))
    }
    return {"per_camera": per_camera, "mean_over_cameras": overall, "sd_scale": round(scale, 4)}


def train_lift_model(
    sessions: Sequence[TrainingSession],
    config: LiftConfig,
    model_path: str | os.PathLike,
    evaluation_path: str | os.PathLike,
    threads: int = 1,
) -> dict[str, Any]:
    """Train the lifter on multi-camera sessions, report its held-out error, save both.

    Parameters
    ----------
    sessions
        Training sessions (each with >= 1 camera and a 3D target).
    config
        Lifting settings (network, holdout, target kind).
    model_path, evaluation_path
        The checkpoint (torch) and the held-out evaluation (JSON), each written atomically.
    threads
        Torch CPU threads.

    Returns
    -------
    dict
        The evaluation written to ``evaluation_path``.
    """
    if not sessions:
        raise InputDataError(
            "pose3d_lift_train: no training session; the lifter needs sessions "
            "with two or more cameras (triangulated) in the cohort."
        )
    torch.set_num_threads(threads)
    loaded, keypoints = [], None
    for ts in sessions:
        names, views, cams = _views(ts)
        if keypoints is not None and names != keypoints:
            raise InputDataError(
                f"session {ts.name}: keypoints {names} differ from {keypoints} "
                "of the other training sessions."
            )
        keypoints = names
        n_frames = len(next(iter(views.values())))
        loaded.append((ts, views, cams, _world_target(ts, names, n_frames)))
    if len(loaded) > config.holdout >= 1:
        train_part, held_part = loaded[: -config.holdout], loaded[-config.holdout :]
        split = f"sessions: last {config.holdout} held out"
    else:  # one session: hold out the end of each
        cut = [int(0.75 * len(x)) for *_, x in loaded]
        train_part = [
            (ts, {c: uv[:n] for c, uv in v.items()}, cams, x[:n])
            for (ts, v, cams, x), n in zip(loaded, cut, strict=True)
        ]
        held_part = [
            (ts, {c: uv[n:] for c, uv in v.items()}, cams, x[n:])
            for (ts, v, cams, x), n in zip(loaded, cut, strict=True)
        ]
        split = "frames: last 25 % of each session held out"
    train = [(uv, cams[c], x) for _, v, cams, x in train_part for c, uv in v.items()]
    held = [(ts.name, uv, cams[c], x) for ts, v, cams, x in held_part for c, uv in v.items()]
    lifter = Lifter(config.network).fit(train)
    root = config.network.root
    mean_pose = np.nanmean(
        np.concatenate([root_relative(cam.to_camera_frame(x), root) for _, cam, x in train]), axis=0
    )
    evaluation = {
        "split": split,
        "target": config.target,
        "training_sessions": [ts.name for ts, *_ in train_part],
        "held_out_sessions": [ts.name for ts, *_ in held_part],
        "training_views": len(train),
        "steps": config.network.steps,
        "final_training_loss": lifter.history_[-1]["loss"],
        **_evaluate(lifter, held, mean_pose),
    }
    extra = {
        "keypoints": keypoints,
        "target": config.target,
        "training_sessions": evaluation["training_sessions"],
        "held_out_sessions": evaluation["held_out_sessions"],
        "held_out_mpjpe_mm": evaluation["mean_over_cameras"]["mpjpe_mm"],
    }
    with atomic_path(model_path) as tmp:
        lifter.save(tmp, extra=extra)
    write_text(evaluation_path, json.dumps(evaluation, indent=1))
    logger.info(
        "Lifter trained on %d views; held-out MPJPE %.1f mm",
        len(train),
        evaluation["mean_over_cameras"]["mpjpe_mm"],
    )
    return evaluation


def _model_id(model_file: str | os.PathLike) -> str:
    with open(model_file, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def _to_output_frame(camera: Camera, mean: np.ndarray, sd: np.ndarray):
    """Camera-frame mean/sd -> world frame via the extrinsics (camera frame if there are none)."""
    if not (camera.rvec.any() or camera.tvec.any()):
        return mean, sd, "camera"
    rot = camera.rotation_matrix
    world = (mean - camera.tvec) @ rot  # R^T (x - t) for row vectors
    sd_world = np.sqrt((sd**2) @ (rot**2))  # diagonal of R^T diag(var) R
    return world, sd_world, "world"


def lift_session(
    pose2d_file: str | os.PathLike,
    calibration_file: str | os.PathLike,
    camera: str,
    model_file: str | os.PathLike,
    *,
    subject: str,
    session: str,
    truth_file: str | os.PathLike | None = None,
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Lift one camera's 2D pose to 3D; return the 3D pose dataset and its QC dict.

    Parameters
    ----------
    pose2d_file
        The camera's 2D pose (pose data model, px).
    calibration_file
        A calibration holding that camera (intrinsics required; extrinsics give the world
        frame, zero rotation and translation the camera frame).
    camera
        Camera name in the calibration.
    model_file
        Checkpoint of :func:`train_lift_model`.
    subject, session
        IDs, recorded in the output and named in errors.
    truth_file
        The virtual lab's truth: when given, the QC reports the error against it.
    """
    where = f"session {subject}/{session}"
    calibration = read_calibration(calibration_file)
    if camera not in calibration:
        raise InputDataError(
            f"{where}: camera {camera!r} is not in {calibration_file} (it has "
            f"{list(calibration)}); lifting needs at least that camera's intrinsics."
        )
    cam = calibration[camera]
    lifter = Lifter.load(model_file)
    ds2d = load_pose(pose2d_file)
    keypoints = [str(k) for k in ds2d["keypoints"].values]
    if keypoints != lifter.extra_["keypoints"]:
        raise InputDataError(
            f"{where}: {pose2d_file} has keypoints {keypoints} but the lifting model "
            f"{model_file} was trained on {lifter.extra_['keypoints']}; train it on sessions "
            "with the same keypoints."
        )
    individuals = [str(i) for i in ds2d["individuals"].values]
    means, sds = [], []
    for ind in individuals:
        uv = ds2d["position"].sel(individuals=ind).transpose("time", "keypoints", "space").values
        mean, sd = lifter.predict(uv, cam)
        mean, sd, frame = _to_output_frame(cam, mean, sd)
        means.append(mean)
        sds.append(sd)
    pos = np.stack(means, axis=-1).transpose(0, 2, 1, 3)  # (T, 3, K, I)
    sd = np.stack(sds, axis=-1).transpose(0, 2, 1, 3)
    conf = np.exp(-np.linalg.norm(sd, axis=1) / SD_SCALE_MM)
    ds = pose_dataset(
        pos,
        conf,
        keypoints,
        float(ds2d.attrs["fps"]),
        source_software="brainbehave.pose3d.lift",
        units="mm",
        individuals=individuals,
        subject=subject,
        session=session,
        where=f"{where} lifted 3D pose",
    )
    ds["position_sd"] = (("time", "space", "keypoints", "individuals"), sd)
    ds["position_sd"].attrs.update(
        units="mm", description=f"predicted standard deviation of position ({frame} frame)"
    )
    model_id = _model_id(model_file)
    ds.attrs.update(
        lifted="true", lift_model=model_id, frame=frame, camera=camera, cameras=json.dumps([camera])
    )
    ds.attrs["provenance"] = json.dumps(
        {
            "tool": "brainbehave pose3d lift",
            **provenance.versions(("numpy", "torch")),
            "model": str(model_file),
            "model_sha256_16": model_id,
            "model_training_sessions": lifter.extra_["training_sessions"],
            "model_target": lifter.extra_["target"],
            "calibration": str(calibration_file),
            "pose2d": str(pose2d_file),
            "frame": frame,
            "confidence": f"exp(-|sd|/{SD_SCALE_MM} mm)",
        },
        sort_keys=True,
    )
    qc = _lift_qc(pos, sd, keypoints, frame, cam, truth_file, where, lifter.settings.root)
    qc.update(
        subject=subject,
        session=session,
        camera=camera,
        lifted=True,
        model=model_id,
        model_held_out_mpjpe_mm=lifter.extra_["held_out_mpjpe_mm"],
    )
    return ds, qc


def _lift_qc(pos, sd, keypoints, frame, cam, truth_file, where, root) -> dict[str, Any]:
    finite = np.isfinite(pos).all(axis=1)  # (T, K, I)
    norm_sd = np.linalg.norm(sd, axis=1)
    qc: dict[str, Any] = {
        "frame": frame,
        "n_frames": int(pos.shape[0]),
        "points": int(finite.size),
        "points_lifted": int(finite.sum()),
        "nan_points": {"no_2d_keypoint_in_frame": int((~finite).sum())},
        "sd_mm": {
            "median": round(float(np.nanmedian(norm_sd)), 3),
            "per_keypoint": {
                k: round(float(np.nanmedian(norm_sd[:, j])), 3) for j, k in enumerate(keypoints)
            },
        },
    }
    if truth_file:
        from brainbehave.truth import read_truth

        truth = read_truth(truth_file)
        true = truth.pose3d[truth.video_exposure_index][
            :, [list(truth.keypoints).index(k) for k in keypoints]
        ]
        if len(true) != len(pos):
            raise InputDataError(
                f"{where}: truth {truth_file} has {len(true)} frames, the pose {len(pos)}."
            )
        if frame == "camera":
            true = cam.to_camera_frame(true)
        pred = pos[..., 0].transpose(0, 2, 1)
        qc["error_vs_truth"] = {
            "mpjpe_mm": round(mpjpe(root_relative(pred, root), root_relative(true, root)), 3),
            "pa_mpjpe_mm": round(pa_mpjpe(pred, true), 3),
            "absolute_error_mm": round(mpjpe(pred, true), 3),
            "within_1sd": round(within_sd(pred, sd[..., 0].transpose(0, 2, 1), true), 3),
        }
    return qc
