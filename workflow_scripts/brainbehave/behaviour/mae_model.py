"""The network of the hierarchical masked autoencoder (in the spirit of hBehaveMAE).

Tokens are (keypoint group x time patch): each group of input channels over ``patch``
frames is embedded by its own linear map. Three transformer stages see ever coarser tokens:

- stage 1: every (group, patch) token (finest: motion primitives);
- merge: all groups and ``merge[0]`` time patches into one token (whole body, longer time);
- stage 2 (actions); merge ``merge[1]`` time tokens; stage 3 (activities).

Masking replaces masked tokens by a learned mask token before stage 1 (SimMIM style, so the
token grid stays whole through the merges); mask units span ``mask_unit`` time patches of one
group. The decoder starts from the coarsest stage, to which the two finer stages are added
after pooling (Hiera's multi-scale fusion), broadcasts it back onto the token grid and
predicts every token's frames; the loss counts masked tokens only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class MAEConfig:
    """Shape of the model and of its training (part of the checkpoint's config hash)."""

    window: int = 96
    patch: int = 4
    merge: tuple[int, int] = (2, 3)
    dims: tuple[int, int, int] = (32, 64, 96)
    depths: tuple[int, int, int] = (2, 2, 1)
    heads: tuple[int, int, int] = (2, 4, 4)
    decoder_dim: int = 48
    mask_ratio: float = 0.75
    mask_unit: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    steps: int = 600
    seed: int = 0

    def __post_init__(self) -> None:
        n_time = self.window // self.patch
        if self.window % self.patch or n_time % (self.merge[0] * self.merge[1]):
            raise ValueError(
                f"MAE window {self.window} must be a multiple of patch x merges "
                f"({self.patch} x {self.merge[0]} x {self.merge[1]})."
            )
        if n_time % self.mask_unit:
            raise ValueError(f"window/patch ({n_time}) must be a multiple of mask_unit.")
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


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class HierarchicalEncoder(nn.Module):
    """Group x time tokens -> three stages with token merging between them."""

    def __init__(self, cfg: MAEConfig, group_sizes: Sequence[int]) -> None:
        super().__init__()
        self.cfg, self.n_groups = cfg, len(group_sizes)
        d1, d2, d3 = cfg.dims
        n_time = cfg.window // cfg.patch
        self.embed = nn.ModuleList(nn.Linear(cfg.patch * c, d1) for c in group_sizes)
        self.time_pos = nn.Parameter(0.02 * torch.randn(1, n_time, 1, d1))
        self.group_pos = nn.Parameter(0.02 * torch.randn(1, 1, self.n_groups, d1))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, 1, d1))
        self.stage1 = nn.Sequential(*(Block(d1, cfg.heads[0]) for _ in range(cfg.depths[0])))
        self.merge1 = nn.Linear(cfg.merge[0] * self.n_groups * d1, d2)
        self.stage2 = nn.Sequential(*(Block(d2, cfg.heads[1]) for _ in range(cfg.depths[1])))
        self.merge2 = nn.Linear(cfg.merge[1] * d2, d3)
        self.stage3 = nn.Sequential(*(Block(d3, cfg.heads[2]) for _ in range(cfg.depths[2])))

    def tokens(self, patches: Sequence[torch.Tensor]) -> torch.Tensor:
        """(B, n_time, G, d1) token grid from per-group patches (B, n_time, patch * C_g)."""
        x = torch.stack([emb(p) for emb, p in zip(self.embed, patches, strict=True)], dim=2)
        return x + self.time_pos + self.group_pos

    def forward(
        self, patches: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Token sequences of the three levels: (B, n1, G, d1), (B, n2, d2), (B, n3, d3)."""
        x = self.tokens(patches)
        if mask is not None:
            x = torch.where(mask[..., None], self.mask_token.expand_as(x), x)
        b, n_t, g, d1 = x.shape
        s1 = self.stage1(x.reshape(b, n_t * g, d1)).reshape(b, n_t, g, d1)
        m1 = self.cfg.merge[0]
        s2 = self.stage2(self.merge1(s1.reshape(b, n_t // m1, m1 * g * d1)))
        m2 = self.cfg.merge[1]
        s3 = self.stage3(self.merge2(s2.reshape(b, n_t // m1 // m2, m2 * s2.shape[-1])))
        return [s1, s2, s3]


class Decoder(nn.Module):
    """Coarsest stage + pooled finer stages -> every token's frames."""

    def __init__(self, cfg: MAEConfig, group_sizes: Sequence[int]) -> None:
        super().__init__()
        self.cfg, dd = cfg, cfg.decoder_dim
        d1, d2, d3 = cfg.dims
        n_groups = len(group_sizes)
        self.fuse = nn.ModuleList([nn.Linear(n_groups * d1, dd), nn.Linear(d2, dd)])
        self.proj3 = nn.Linear(d3, dd)
        n_time = cfg.window // cfg.patch
        self.pos = nn.Parameter(0.02 * torch.randn(1, n_time, n_groups, dd))
        self.block = Block(dd, 2)
        self.heads = nn.ModuleList(nn.Linear(dd, cfg.patch * c) for c in group_sizes)

    def forward(self, levels: list[torch.Tensor]) -> list[torch.Tensor]:
        s1, s2, s3 = levels
        b, n_t, g, _ = s1.shape
        n3 = s3.shape[1]
        fine1 = self.fuse[0](s1.reshape(b, n_t, -1)).reshape(b, n3, n_t // n3, -1).mean(2)
        fine2 = self.fuse[1](s2).reshape(b, n3, s2.shape[1] // n3, -1).mean(2)
        coarse = self.proj3(s3) + fine1 + fine2
        grid = coarse.repeat_interleave(n_t // n3, dim=1)[:, :, None, :] + self.pos
        out = self.block(grid.reshape(b, n_t * g, -1)).reshape(b, n_t, g, -1)
        return [head(out[:, :, i]) for i, head in enumerate(self.heads)]


class HierarchicalMAE(nn.Module):
    """Encoder + decoder; ``forward`` returns the masked reconstruction loss."""

    def __init__(self, cfg: MAEConfig, group_sizes: Sequence[int]) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = HierarchicalEncoder(cfg, group_sizes)
        self.decoder = Decoder(cfg, group_sizes)

    def forward(self, patches: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        pred = self.decoder(self.encoder(patches, mask))
        losses = [((p - t) ** 2).mean(-1) for p, t in zip(pred, patches, strict=True)]
        err = torch.stack(losses, dim=2)  # (B, n_time, G)
        return (err * mask).sum() / mask.sum().clamp(min=1)
