"""The virtual lab's ground-truth file: one HDF5 file per session.

Every per-frame array is indexed by camera EXPOSURE (``N`` rows), including the exposures the
video dropped; ``video_exposure_index`` (``M`` rows) maps each saved video frame to its
exposure, so ``truth.pose2d[cam][truth.video_exposure_index]`` lines up with the video.

Layout (datasets; names as :class:`SessionTruth` fields)::

    labels/{activity,action,primitive}   (N,) int16, names in attrs
    pose3d                               (N, K, 3) mm, world frame
    pose2d/<camera>                      (N, K, 2) px, distorted image coordinates
    visible/<camera>                     (N, K) bool, marker visible in the rendered frame
    body/{position,heading,head_direction,speed,pitch}
    latents                              (N, D) the neural latent dynamics
    clock/{exposure_times_video,ttl_times_neural,dropped}
    units/kind                           (U,) ground-truth cell types
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from brainbehave.atomic import atomic_path

FORMAT_VERSION = 1


@dataclass
class SessionTruth:
    """Everything the virtual lab knows about one session."""

    subject: str
    session: str
    fps: float
    keypoints: list[str]
    level_names: dict[str, list[str]]
    labels: dict[str, np.ndarray]
    pose3d: np.ndarray
    pose2d: dict[str, np.ndarray]
    visible: dict[str, np.ndarray]
    body: dict[str, np.ndarray]
    latents: np.ndarray
    exposure_times_video: np.ndarray
    ttl_times_neural: np.ndarray
    dropped: np.ndarray
    clock_offset_s: float
    clock_drift_ppm: float
    unit_kind: np.ndarray
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def video_exposure_index(self) -> np.ndarray:
        """Exposure index of each saved video frame."""
        return np.flatnonzero(~self.dropped)

    @property
    def cameras(self) -> list[str]:
        """Camera names, in calibration order."""
        return list(self.pose2d)

    def video_to_neural(self, t_video: np.ndarray) -> np.ndarray:
        """The true (noise-free) map from the video clock to the neural clock."""
        return self.clock_offset_s + (1.0 + self.clock_drift_ppm * 1e-6) * np.asarray(t_video)


def write_truth(path: str | Path, truth: SessionTruth) -> None:
    """Write a ground-truth file atomically (temp file in the same folder, then rename)."""
    opts = {"compression": "gzip", "compression_opts": 4}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(
            format_version=FORMAT_VERSION,
            subject=truth.subject,
            session=truth.session,
            fps=truth.fps,
            keypoints=json.dumps(truth.keypoints),
            level_names=json.dumps(truth.level_names),
            cameras=json.dumps(truth.cameras),
            clock_offset_s=truth.clock_offset_s,
            clock_drift_ppm=truth.clock_drift_ppm,
            extra=json.dumps(truth.attrs),
        )
        for level, values in truth.labels.items():
            f.create_dataset(f"labels/{level}", data=values.astype(np.int16), **opts)
        f.create_dataset("pose3d", data=truth.pose3d, **opts)
        for cam in truth.cameras:
            f.create_dataset(f"pose2d/{cam}", data=truth.pose2d[cam], **opts)
            f.create_dataset(f"visible/{cam}", data=truth.visible[cam].astype(bool), **opts)
        for name, values in truth.body.items():
            f.create_dataset(f"body/{name}", data=values, **opts)
        f.create_dataset("latents", data=truth.latents, **opts)
        f.create_dataset("clock/exposure_times_video", data=truth.exposure_times_video)
        f.create_dataset("clock/ttl_times_neural", data=truth.ttl_times_neural)
        f.create_dataset("clock/dropped", data=truth.dropped.astype(bool))
        f.create_dataset("units/kind", data=np.asarray(truth.unit_kind, dtype="S"))


def read_truth(path: str | Path) -> SessionTruth:
    """Read a ground-truth file written by :func:`write_truth`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Ground-truth file {str(path)!r} does not exist.")
    with h5py.File(path, "r") as f:
        version = int(f.attrs.get("format_version", -1))
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{path}: ground-truth format version {version}, expected {FORMAT_VERSION}. "
                "Regenerate the virtual-lab cohort with this version of brainbehave."
            )
        cameras = json.loads(f.attrs["cameras"])
        return SessionTruth(
            subject=str(f.attrs["subject"]),
            session=str(f.attrs["session"]),
            fps=float(f.attrs["fps"]),
            keypoints=json.loads(f.attrs["keypoints"]),
            level_names=json.loads(f.attrs["level_names"]),
            labels={k: v[()] for k, v in f["labels"].items()},
            pose3d=f["pose3d"][()],
            pose2d={c: f[f"pose2d/{c}"][()] for c in cameras},
            visible={c: f[f"visible/{c}"][()] for c in cameras},
            body={k: v[()] for k, v in f["body"].items()},
            latents=f["latents"][()],
            exposure_times_video=f["clock/exposure_times_video"][()],
            ttl_times_neural=f["clock/ttl_times_neural"][()],
            dropped=f["clock/dropped"][()],
            clock_offset_s=float(f.attrs["clock_offset_s"]),
            clock_drift_ppm=float(f.attrs["clock_drift_ppm"]),
            unit_kind=f["units/kind"][()].astype(str),
            attrs=json.loads(f.attrs["extra"]),
        )
