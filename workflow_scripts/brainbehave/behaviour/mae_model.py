"""The network of the hierarchical masked autoencoder (in the spirit of hBehaveMAE / Hiera).

Tokens are (keypoint group x time patch): each group of input channels over ``patch``
frames is embedded by its own linear map. Three transformer stages see ever coarser tokens:

- stage 1: every (group, patch) token, attention inside one mask unit (finest: primitives);
- merge: all groups and ``merge[0]`` time patches into one token (whole body, longer time);
- stage 2: attention over neighbouring mask units within ``attn_radius[1]`` (actions);
- merge ``merge[1]`` time tokens into one token per mask unit; stage 3: attention over the
  whole window (activities).

A **mask unit** is the span of one coarsest token (``patch x merge[0] x merge[1]`` frames,
all groups), so every merge keeps a unit whole and the mask means the same thing at every
level. Masked units are *dropped* before stage 1 (Hiera's sparse encoding): the encoder only
computes on the visible ``1 - mask_ratio`` of the window, which is where the training speed
comes from. Position embeddings are added before dropping, so a visible token knows where it
lies. The decoder fuses the three levels of each visible unit (Hiera's multi-scale fusion:
a linear map of each finer level's tokens inside the unit, so their order is kept), puts a
learned mask token at every dropped unit, runs a small transformer over the units and
predicts every frame of each masked unit; the loss counts masked units only.

Receptive fields therefore grow with the level: one unit (0.8 s at 30 fps with the
defaults), ``2 * attn_radius[1] * depths[1] + 1`` units, then the whole window.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from brainbehave.behaviour.mae_config import MAEConfig


class Block(nn.Module):
    """Pre-norm transformer block; ``blocked`` (B*heads, L, L) marks pairs that may not attend."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, blocked: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, attn_mask=blocked, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


def _stage(dim: int, heads: int, depth: int) -> nn.ModuleList:
    return nn.ModuleList(Block(dim, heads) for _ in range(depth))


def _band(units: torch.Tensor, per_unit: int, radius: int, heads: int) -> torch.Tensor | None:
    """Attention mask of tokens ``per_unit`` per unit: True where units lie > radius apart."""
    if radius < 0:
        return None
    u = units.repeat_interleave(per_unit, dim=1)  # (B, L) unit index of each token
    blocked = (u[:, :, None] - u[:, None, :]).abs() > radius
    return blocked.repeat_interleave(heads, dim=0)


class HierarchicalEncoder(nn.Module):
    """Group x time tokens -> three stages with token merging; masked units are dropped."""

    def __init__(self, cfg: MAEConfig, group_sizes: Sequence[int]) -> None:
        super().__init__()
        self.cfg, self.n_groups = cfg, len(group_sizes)
        d1, d2, d3 = cfg.dims
        n_time = cfg.window // cfg.patch
        self.embed = nn.ModuleList(nn.Linear(cfg.patch * c, d1) for c in group_sizes)
        self.time_pos = nn.Parameter(0.02 * torch.randn(1, n_time, 1, d1))
        self.group_pos = nn.Parameter(0.02 * torch.randn(1, 1, self.n_groups, d1))
        self.stage1 = _stage(d1, cfg.heads[0], cfg.depths[0])
        self.merge1 = nn.Linear(cfg.merge[0] * self.n_groups * d1, d2)
        self.stage2 = _stage(d2, cfg.heads[1], cfg.depths[1])
        self.merge2 = nn.Linear(cfg.merge[1] * d2, d3)
        self.stage3 = _stage(d3, cfg.heads[2], cfg.depths[2])

    def tokens(self, patches: Sequence[torch.Tensor]) -> torch.Tensor:
        """(B, n_units, patches_per_unit, G, d1) token grid from per-group patches."""
        x = torch.stack([emb(p) for emb, p in zip(self.embed, patches, strict=True)], dim=2)
        x = x + self.time_pos + self.group_pos
        b, _, g, d1 = x.shape
        return x.reshape(b, self.cfg.n_units, self.cfg.patches_per_unit, g, d1)

    def _run(self, blocks: nn.ModuleList, x: torch.Tensor, units, per_unit, radius):
        if radius == 0:  # attention inside a unit: a batch of short sequences, no mask
            b, n = x.shape[0], x.shape[1] // per_unit
            x = x.reshape(b * n, per_unit, x.shape[-1])
            for blk in blocks:
                x = blk(x)
            return x.reshape(b, n * per_unit, x.shape[-1])
        blocked = _band(units, per_unit, radius, blocks[0].heads) if len(blocks) else None
        for blk in blocks:
            x = blk(x, blocked)
        return x

    def forward(
        self, patches: Sequence[torch.Tensor], keep: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The visible units' tokens of the three levels.

        Parameters
        ----------
        patches
            Per group (B, window // patch, patch * C_g).
        keep
            (B, K) sorted indices of the visible mask units; None keeps every unit.

        Returns
        -------
        list of torch.Tensor
            (B, K, patches_per_unit, G, d1), (B, K, merge[1], d2), (B, K, d3).
        """
        cfg = self.cfg
        x = self.tokens(patches)
        b, n_u, ppu, g, d1 = x.shape
        if keep is None:
            keep = torch.arange(n_u, device=x.device).expand(b, n_u)
        x = torch.gather(x, 1, keep[:, :, None, None, None].expand(-1, -1, ppu, g, d1))
        k = keep.shape[1]
        s1 = self._run(self.stage1, x.reshape(b, k * ppu * g, d1), keep, ppu * g, 0)
        s1 = s1.reshape(b, k, ppu, g, d1)
        m1, m2 = cfg.merge
        x2 = self.merge1(s1.reshape(b, k * m2, m1 * g * d1))
        s2 = self._run(self.stage2, x2, keep, m2, cfg.attn_radius[1])
        x3 = self.merge2(s2.reshape(b, k, m2 * s2.shape[-1]))
        s3 = self._run(self.stage3, x3, keep, 1, cfg.attn_radius[2])
        return [s1, s2.reshape(b, k, m2, -1), s3]

    def levels_in_time(self, patches: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Unmasked encoding, each level as (B, n_tokens_in_time, D_l) in time order."""
        s1, s2, s3 = self.forward(patches)
        b, n_u = s3.shape[:2]
        return [
            s1.reshape(b, n_u * self.cfg.patches_per_unit, -1),  # groups concatenated
            s2.reshape(b, n_u * self.cfg.merge[1], -1),
            s3,
        ]


class Decoder(nn.Module):
    """Fused levels of the visible units + mask tokens -> every frame of every unit."""

    def __init__(self, cfg: MAEConfig, group_sizes: Sequence[int]) -> None:
        super().__init__()
        self.cfg, dd = cfg, cfg.decoder_dim
        d1, d2, d3 = cfg.dims
        g = len(group_sizes)
        self.fuse = nn.ModuleList(
            [
                nn.Linear(cfg.patches_per_unit * g * d1, dd),
                nn.Linear(cfg.merge[1] * d2, dd),
                nn.Linear(d3, dd),
            ]
        )
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dd))
        self.pos = nn.Parameter(0.02 * torch.randn(1, cfg.n_units, dd))
        self.blocks = _stage(dd, 2, cfg.decoder_depth)
        self.norm = nn.LayerNorm(dd)
        self.heads = nn.ModuleList(
            nn.Linear(dd, cfg.patches_per_unit * cfg.patch * c) for c in group_sizes
        )

    def forward(self, levels: list[torch.Tensor], keep: torch.Tensor) -> list[torch.Tensor]:
        """Per group (B, window // patch, patch * C_g): the reconstruction of every patch."""
        b, k = keep.shape
        fused = sum(f(lvl.reshape(b, k, -1)) for f, lvl in zip(self.fuse, levels, strict=True))
        grid = self.mask_token.expand(b, self.cfg.n_units, -1).clone()
        grid = grid.scatter(1, keep[:, :, None].expand(-1, -1, fused.shape[-1]), fused)
        grid = grid + self.pos
        for blk in self.blocks:
            grid = blk(grid)
        grid = self.norm(grid)
        n_t = self.cfg.n_units * self.cfg.patches_per_unit
        return [head(grid).reshape(b, n_t, -1) for head in self.heads]


class HierarchicalMAE(nn.Module):
    """Encoder + decoder; ``forward`` returns the reconstruction loss on masked units."""

    def __init__(self, cfg: MAEConfig, group_sizes: Sequence[int]) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = HierarchicalEncoder(cfg, group_sizes)
        self.decoder = Decoder(cfg, group_sizes)

    def forward(self, patches: list[torch.Tensor], masked: torch.Tensor) -> torch.Tensor:
        """Loss of one batch; ``masked`` is (B, n_units) bool with the same count per row."""
        b = masked.shape[0]
        keep = (~masked).nonzero()[:, 1].reshape(b, -1)  # row-major: sorted per row
        pred = self.decoder(self.encoder(patches, keep), keep)
        err = torch.stack(
            [((p - t) ** 2).mean(-1) for p, t in zip(pred, patches, strict=True)], dim=2
        ).mean(2)  # (B, n_time)
        err = err.reshape(b, self.cfg.n_units, -1).mean(2)  # (B, n_units)
        weight = masked.float() if masked.any() else torch.ones_like(err)
        return (err * weight).sum() / weight.sum()
