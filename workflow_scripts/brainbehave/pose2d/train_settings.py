"""How to train a DeepLabCut model: the ``pose2d.train`` block of the config, validated."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from brainbehave.errors import ConfigError

INITS = ("scratch", "pretrained")


@dataclass(frozen=True)
class TrainSettings:
    """How to train a DeepLabCut model (the ``pose2d.train`` block of the config).

    Attributes
    ----------
    net_type
        DeepLabCut net type (``cspnext_s``, ``resnet_50``, ``hrnet_w18``, ...).
    init
        ``scratch`` (random weights, offline) or ``pretrained`` (ImageNet backbone: needs the
        weights on disk or internet).
    epochs, batch_size
        Training length and batch size.
    train_fraction
        Fraction of labelled frames used for training; the rest is DeepLabCut's test set.
    split_seed
        Seed of the random train/test split (a local generator: reproducible).
    test_indices
        Explicit test frames (indices into the project's labelled frames); overrides
        ``train_fraction`` when given.
    shuffle
        DeepLabCut's shuffle number.
    seed
        Training seed (DeepLabCut's ``train_settings.seed``).
    device
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
    head_upsampling
        Number of stride-2 deconvolutions in the heatmap head (None: DeepLabCut's default, one).
        More layers give finer heatmaps; small animals in small frames need them (cspnext_s's
        backbone has stride 32, so one layer leaves a heatmap cell of 16 px).
    scaling
        Range of the random rescaling in the training augmentation (None: DeepLabCut's
        0.5-1.25). Halving the size of the virtual lab's 3-px markers blurs them away.
    crop
        ``(width, height)`` of the training crops DeepLabCut samples around the labelled
        keypoints (None: whole frames). Frames much larger than the animal train several times
        faster on crops; inference still sees whole frames.
    save_every
        Keep a snapshot (with the optimizer state) every this many epochs, so a killed training
        resumes from the latest one (None: about ten per training).
    autocast
        Train in mixed precision: the backbone's forward pass in bfloat16; heads, loss,
        gradients, optimizer and weights stay float32 (bfloat16 needs no loss scaling).
        DeepLabCut has no setting for it in training.
    channels_last
        Hold the network in channels-last memory layout (NHWC) while training, which oneDNN's
        CPU convolutions run faster.
    workers
        Processes that load and augment training images while the network trains
        (DeepLabCut's ``dataloader_workers``; 0: the training process does it between steps).
    """

    net_type: str = "cspnext_s"
    init: str = "scratch"
    epochs: int = 40
    batch_size: int = 8
    train_fraction: float = 0.8
    split_seed: int = 0
    test_indices: tuple[int, ...] | None = None
    shuffle: int = 1
    seed: int = 42
    device: str = "auto"
    head_upsampling: int | None = None
    scaling: tuple[float, float] | None = None
    crop: tuple[int, int] | None = None
    save_every: int | None = None
    autocast: bool = False
    channels_last: bool = False
    workers: int = 0

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ConfigError(f"pose2d.train.init must be one of {INITS}, got {self.init!r}.")
        if not 0 < self.train_fraction < 1:
            raise ConfigError(
                f"pose2d.train.train_fraction must lie in (0, 1), got {self.train_fraction!r}."
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("pose2d.train.epochs and batch_size must be at least 1.")
        if self.head_upsampling is not None and not 1 <= self.head_upsampling <= 4:
            raise ConfigError(
                f"pose2d.train.head_upsampling must be 1..4 or null, got {self.head_upsampling!r}."
            )
        if self.scaling is not None and not (
            len(self.scaling) == 2 and 0 < self.scaling[0] <= self.scaling[1]
        ):
            raise ConfigError(
                f"pose2d.train.scaling must be [low, high] with 0 < low <= high, got "
                f"{self.scaling!r}."
            )
        if self.crop is not None and not (len(self.crop) == 2 and min(self.crop) >= 32):
            raise ConfigError(
                f"pose2d.train.crop must be [width, height] of at least 32 px, or null; got "
                f"{self.crop!r}."
            )
        if self.workers < 0:
            raise ConfigError(f"pose2d.train.workers must be >= 0, got {self.workers!r}.")
        if self.save_every is not None and self.save_every < 1:
            raise ConfigError(f"pose2d.train.save_every must be >= 1, got {self.save_every!r}.")

    @property
    def snapshot_epochs(self) -> int:
        """Epochs between the snapshots kept for resuming."""
        return self.save_every or max(1, self.epochs // 10)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrainSettings:
        """Build from a config mapping; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(values) - names):
            raise ConfigError(f"Unknown pose2d.train setting(s) {unknown}; known: {sorted(names)}.")
        kwargs = dict(values)
        if kwargs.get("test_indices") is not None:
            kwargs["test_indices"] = tuple(int(i) for i in kwargs["test_indices"])
        if kwargs.get("scaling") is not None:
            kwargs["scaling"] = tuple(float(v) for v in kwargs["scaling"])
        if kwargs.get("crop") is not None:
            kwargs["crop"] = tuple(int(v) for v in kwargs["crop"])
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """Plain-type dictionary (for JSON and provenance)."""
        out = dataclasses.asdict(self)
        out["test_indices"] = list(self.test_indices) if self.test_indices else None
        out["scaling"] = list(self.scaling) if self.scaling else None
        out["crop"] = list(self.crop) if self.crop else None
        return out
