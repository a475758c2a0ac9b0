"""Single-camera lifting: 2D keypoint sequences of one camera -> camera-frame 3D with uncertainty.

A VideoPose3D-style temporal network: 1D convolutions over time with growing dilation
(1, 3, 9, ...), residual blocks, trained with a Gaussian negative log-likelihood so that every
keypoint gets a mean and a standard deviation (mm, camera frame). The network predicts every
keypoint relative to the root keypoint, and the root's own camera-frame position (its depth,
learnt from the apparent size of the body, is what matters: its x and y then follow from the
root's 2D view); :meth:`Lifter.predict` returns absolute camera-frame positions.

Inputs are camera-independent: each 2D view is undistorted to normalised coordinates with its
calibration, then given as the root's position plus every keypoint relative to the root, with a
visibility channel (NaN views are zero-filled and flagged). Layout, as in CEBRA: data helpers,
the model, a solver whose ``step`` does one optimisation step, and an estimator front end
(:class:`Lifter`: ``fit`` returns self, fitted attributes end in ``_``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import brainbehave
from brainbehave.calibration import Camera
from brainbehave.torch_device import adam

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiftSettings:
    """Network and training settings."""

    channels: int = 128
    blocks: int = 2  # dilations 3, 9, ... after the first layer: receptive field 3**(blocks+1)
    dropout: float = 0.1
    window: int = 64  # output frames per training sequence
    batch_size: int = 32
    steps: int = 500
    lr: float = 1e-3
    root: int = 0  # index of the root keypoint
    seed: int = 0

    @property
    def receptive_field(self) -> int:
        return 3 ** (self.blocks + 1)


def features(uv: np.ndarray, camera: Camera, root: int) -> np.ndarray:
    """(T, K, 2) distorted px -> (T, 3K) network input: root xy, others minus root, visibility."""
    xn = camera.undistort_points(uv)
    visible = np.isfinite(xn).all(axis=-1)
    rel = xn - xn[:, root : root + 1]
    rel[:, root] = xn[:, root]
    rel = np.where(visible[..., None], rel, 0.0)
    rel[~visible[:, root]] = 0.0
    return np.concatenate([rel.reshape(len(uv), -1), visible.astype(float)], axis=1)


def targets(xyz_world: np.ndarray, camera: Camera, root: int) -> np.ndarray:
    """(T, K, 3) world mm -> camera-frame mm relative to the root keypoint."""
    return root_relative(camera.to_camera_frame(xyz_world), root)


def root_relative(xc: np.ndarray, root: int) -> np.ndarray:
    """(T, K, 3) positions minus the root keypoint's (the root becomes 0)."""
    return xc - xc[:, root : root + 1]


def _encode(xc: np.ndarray, root: int, depth_offset: float) -> np.ndarray:
    """Network target: keypoints relative to the root; the root slot holds the root itself
    (its depth minus a constant, so the network's output starts near the right scale)."""
    out = root_relative(xc, root)
    out[:, root] = xc[:, root] - np.array([0.0, 0.0, depth_offset])
    return out


class TemporalLifter(nn.Module):
    """Dilated temporal convolutions: (B, 3K, T + RF - 1) -> mean and log-variance (B, T, K, 3)."""

    def __init__(self, n_keypoints: int, settings: LiftSettings) -> None:
        super().__init__()
        c = settings.channels
        self.n_keypoints = n_keypoints
        self.expand = nn.Sequential(
            nn.Conv1d(3 * n_keypoints, c, 3),
            nn.BatchNorm1d(c),
            nn.ReLU(),
            nn.Dropout(settings.dropout),
        )
        self.blocks = nn.ModuleList()
        for b in range(settings.blocks):
            d = 3 ** (b + 1)
            self.blocks.append(
                nn.Sequential(
                    nn.Conv1d(c, c, 3, dilation=d),
                    nn.BatchNorm1d(c),
                    nn.ReLU(),
                    nn.Dropout(settings.dropout),
                    nn.Conv1d(c, c, 1),
                    nn.BatchNorm1d(c),
                    nn.ReLU(),
                    nn.Dropout(settings.dropout),
                )
            )
        self.head = nn.Conv1d(c, 6 * n_keypoints, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.expand(x)
        for b, block in enumerate(self.blocks):
            trim = 3 ** (b + 1)  # a valid dilated conv shortens the sequence by 2 * dilation
            h = h[:, :, trim:-trim] + block(h)
        out = self.head(h).transpose(1, 2)  # (B, T, 6K)
        out = out.reshape(out.shape[0], out.shape[1], self.n_keypoints, 6)
        return out[..., :3] * 100.0, out[..., 3:].clamp(-10.0, 16.0)  # mean in mm, log var


def gaussian_nll(mean: torch.Tensor, logvar: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean Gaussian negative log-likelihood over the finite targets."""
    ok = torch.isfinite(y)
    y = torch.where(ok, y, mean.detach())
    nll = 0.5 * (logvar + (y - mean) ** 2 / logvar.exp())
    return nll[ok].mean()


class LiftSolver:
    """One optimisation step at a time; the estimator loops over :meth:`step`."""

    def __init__(self, model: TemporalLifter, settings: LiftSettings) -> None:
        self.model = model
        self.optimizer = adam(model.parameters(), lr=settings.lr)
        self.n_steps = 0

    def step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        self.model.train()
        self.optimizer.zero_grad()
        mean, logvar = self.model(x)
        loss = gaussian_nll(mean, logvar, y)
        loss.backward()
        self.optimizer.step()
        self.n_steps += 1
        with torch.no_grad():
            mpjpe = torch.linalg.norm(torch.nan_to_num(mean - y), dim=-1).mean()
        return {"loss": float(loss.detach()), "mpjpe_mm": float(mpjpe)}


def _pad(feat: np.ndarray, half: int) -> np.ndarray:
    """Repeat the edge frames so every frame gets a full receptive field."""
    return np.concatenate([feat[:1].repeat(half, 0), feat, feat[-1:].repeat(half, 0)])


class Lifter:
    """Estimator front end: ``fit(sequences)`` then ``predict(uv, camera)``.

    Fitted attributes: ``model_``, ``solver_``, ``history_``, ``n_keypoints_``,
    ``depth_offset_`` (mean training root depth, mm), ``sd_scale_`` (factor on the predicted
    standard deviations; 1 after ``fit``, set from held-out data by the caller).
    """

    def __init__(self, settings: LiftSettings = LiftSettings()) -> None:
        self.settings = settings

    def _sample(self, data: list[tuple[np.ndarray, np.ndarray]], gen: torch.Generator):
        s, rf = self.settings, self.settings.receptive_field
        xs, ys = [], []
        for _ in range(s.batch_size):
            i = int(torch.randint(len(data), (1,), generator=gen))
            feat, target = data[i]
            start = int(torch.randint(len(target) - s.window + 1, (1,), generator=gen))
            xs.append(feat[start : start + s.window + rf - 1].T)
            ys.append(target[start : start + s.window])
        x = torch.as_tensor(np.stack(xs), dtype=torch.float32)
        return x, torch.as_tensor(np.stack(ys), dtype=torch.float32)

    def fit(self, sequences: list[tuple[np.ndarray, Camera, np.ndarray]]) -> Lifter:
        """Train on (uv (T, K, 2) px, camera, xyz_world (T, K, 3) mm) sequences; return self."""
        s = self.settings
        half = (s.receptive_field - 1) // 2
        for uv, _, _ in sequences:
            if len(uv) < s.window:
                raise ValueError(f"Sequences must have >= {s.window} frames, got {len(uv)}.")
        xcs = [cam.to_camera_frame(xyz) for _, cam, xyz in sequences]
        depths = np.concatenate([xc[:, s.root, 2] for xc in xcs])
        if not np.isfinite(depths).any():
            raise ValueError("No training frame has a finite 3D root keypoint.")
        self.depth_offset_ = float(np.nanmean(depths))
        self.sd_scale_ = 1.0
        data = [
            (_pad(features(uv, cam, s.root), half), _encode(xc, s.root, self.depth_offset_))
            for (uv, cam, _), xc in zip(sequences, xcs, strict=True)
        ]
        gen = torch.Generator().manual_seed(s.seed)
        torch.manual_seed(s.seed)  # weight init and dropout use the global generator
        self.n_keypoints_ = sequences[0][0].shape[1]
        self.model_ = TemporalLifter(self.n_keypoints_, s)
        self.solver_ = LiftSolver(self.model_, s)
        self.history_ = []
        for step in range(s.steps):
            metrics = self.solver_.step(*self._sample(data, gen))
            self.history_.append(metrics)
            if step % 100 == 0:
                logger.info("lift step %d: %s", step, metrics)
        return self

    def predict(self, uv: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        """Camera-frame 3D (T, K, 3) mm and its standard deviation (T, K, 3).

        The root's x and y come from its 2D view and the predicted depth where it was seen
        (the network's own root x, y where not); frames where every keypoint is missing are NaN.
        """
        root = self.settings.root
        half = (self.settings.receptive_field - 1) // 2
        x = torch.as_tensor(_pad(features(uv, camera, root), half).T[None])
        self.model_.eval()
        with torch.no_grad():
            mean, logvar = self.model_(x.float())
        self.model_.train()
        mean = mean[0].numpy().astype(float)
        sd = (0.5 * logvar[0]).exp().numpy().astype(float) * self.sd_scale_
        depth, sd_depth = mean[:, root, 2] + self.depth_offset_, sd[:, root, 2]
        xn = camera.undistort_points(uv[:, root])
        seen = np.isfinite(xn).all(axis=1)
        root_xyz = np.where(
            seen[:, None], np.column_stack([xn * depth[:, None], depth]), mean[:, root]
        )
        root_xyz[:, 2] = depth
        root_sd = sd[:, root].copy()
        root_sd[seen, :2] = np.abs(xn[seen]) * sd_depth[seen, None]
        out = mean + root_xyz[:, None]
        out[:, root] = root_xyz
        out_sd = np.sqrt(sd**2 + root_sd[:, None] ** 2)
        out_sd[:, root] = root_sd
        nothing = ~np.isfinite(uv).all(axis=-1).any(axis=1)
        out[nothing], out_sd[nothing] = np.nan, np.nan
        return out, out_sd

    def save(self, path: str | Path, extra: dict | None = None) -> None:
        """Checkpoint: weights, optimizer, step, settings, their hash and the package version.

        ``extra`` (JSON-serialisable, e.g. keypoint names and training sessions) is stored too
        and comes back as ``extra_`` from :meth:`load`. ``path`` is written as given: callers
        wrap it in :func:`brainbehave.atomic.atomic_path`.
        """
        cfg = json.dumps(asdict(self.settings), sort_keys=True)
        torch.save(
            {
                "depth_offset": self.depth_offset_,
                "sd_scale": self.sd_scale_,
                "extra": json.dumps(extra or {}, sort_keys=True),
                "model": self.model_.state_dict(),
                "optimizer": self.solver_.optimizer.state_dict(),
                "step": self.solver_.n_steps,
                "settings": cfg,
                "config_hash": hashlib.sha256(cfg.encode()).hexdigest()[:16],
                "n_keypoints": self.n_keypoints_,
                "version": brainbehave.__version__,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path) -> Lifter:
        """A fitted Lifter from :meth:`save` (ready to predict or to resume training)."""
        ckpt = torch.load(path, weights_only=True)
        lifter = cls(LiftSettings(**json.loads(ckpt["settings"])))
        lifter.n_keypoints_ = ckpt["n_keypoints"]
        lifter.depth_offset_ = float(ckpt["depth_offset"])
        lifter.sd_scale_ = float(ckpt["sd_scale"])
        lifter.extra_ = json.loads(ckpt["extra"])
        lifter.model_ = TemporalLifter(lifter.n_keypoints_, lifter.settings)
        lifter.model_.load_state_dict(ckpt["model"])
        lifter.solver_ = LiftSolver(lifter.model_, lifter.settings)
        lifter.solver_.optimizer.load_state_dict(ckpt["optimizer"])
        lifter.solver_.n_steps = ckpt["step"]
        lifter.history_ = []
        return lifter


def within_sd(pred: np.ndarray, sd: np.ndarray, true: np.ndarray) -> float:
    """Share of finite coordinates whose error is within one predicted sd (0.68 if calibrated)."""
    ok = np.isfinite(pred) & np.isfinite(true) & np.isfinite(sd)
    return float(np.mean(np.abs(pred - true)[ok] <= sd[ok])) if ok.any() else float("nan")


def mpjpe(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean per-joint position error (mm) over finite points."""
    err = np.linalg.norm(pred - true, axis=-1)
    return float(np.nanmean(err))


def pa_mpjpe(pred: np.ndarray, true: np.ndarray) -> float:
    """MPJPE after a per-frame similarity (Procrustes: rotation, scale, translation) alignment."""
    errs = []
    for p, t in zip(pred, true, strict=True):
        ok = np.isfinite(p).all(axis=1) & np.isfinite(t).all(axis=1)
        if ok.sum() < 3:
            continue
        p, t = p[ok] - p[ok].mean(0), t[ok] - t[ok].mean(0)
        u, s, vt = np.linalg.svd(p.T @ t)
        d = np.sign(np.linalg.det(u @ vt))
        s[-1] *= d
        u[:, -1] *= d
        rot = u @ vt
        scale = s.sum() / (p**2).sum()
        errs.append(np.linalg.norm(scale * p @ rot - t, axis=1).mean())
    return float(np.mean(errs)) if errs else float("nan")
