"""The masked autoencoder's shape and training settings (no torch: the settings load fast).

:mod:`brainbehave.behaviour.mae_model` builds the network from it; see there for what the
levels, mask units and receptive fields are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MAEConfig:
    """Shape of the model and of its training (part of the checkpoint's config hash).

    ``attn_radius`` is, per stage, how many mask units either side a token may attend to
    (0: its own unit only; -1: the whole window).
    """

    window: int = 384
    patch: int = 4
    merge: tuple[int, int] = (2, 3)
    dims: tuple[int, int, int] = (16, 64, 96)
    depths: tuple[int, int, int] = (2, 2, 2)
    heads: tuple[int, int, int] = (2, 4, 4)
    attn_radius: tuple[int, int, int] = (0, 1, -1)
    decoder_dim: int = 64
    decoder_depth: int = 1
    mask_ratio: float = 0.75
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    steps: int = 600
    seed: int = 0

    def __post_init__(self) -> None:
        unit = self.frames_per_token[2]
        if self.window % unit or self.window < unit:
            raise ValueError(
                f"MAE window {self.window} must be a multiple of patch x merges "
                f"({self.patch} x {self.merge[0]} x {self.merge[1]} = {unit} frames)."
            )
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must lie in [0, 1), got {self.mask_ratio}.")

    def to_dict(self) -> dict:
        """Plain dict (lists instead of tuples) for JSON and checkpoints."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def frames_per_token(self) -> tuple[int, int, int]:
        """Frames covered by one token of each level (its temporal resolution)."""
        p, (m1, m2) = self.patch, self.merge
        return (p, p * m1, p * m1 * m2)

    @property
    def n_units(self) -> int:
        """Mask units (= coarsest tokens) per window."""
        return self.window // self.frames_per_token[2]

    @property
    def patches_per_unit(self) -> int:
        """Time patches (finest tokens, per group) in one mask unit."""
        return self.merge[0] * self.merge[1]
