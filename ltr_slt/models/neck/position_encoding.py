"""DETR sine position encoding as TransT uses it (``normalize=True``, no padding masks).

Positions are normalised by each map's own size, so template (16x16) and search (32x32)
positions both lie in (0, 2*pi]. Channel layout: [y-part | x-part], each interleaving
sin (even) and cos (odd) channels.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["PositionEmbeddingSine", "build_position_encoding"]


class PositionEmbeddingSine(nn.Module):
    """Parameter-free; ``forward(x)`` returns [B, 2*num_pos_feats, H, W] for features x [B, C, H, W]."""

    def __init__(self, num_pos_feats: int = 128, temperature: float = 10000.0,
                 normalize: bool = True, scale: float = 2 * math.pi) -> None:
        super().__init__()
        self.num_pos_feats = num_pos_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = scale
        # The encoding depends only on (H, W, device, dtype): computed once per key, not once per frame
        # (it was ~4% of a tiny TransT's per-frame time). A plain dict, so not part of the state_dict.
        self._cache: dict[tuple, torch.Tensor] = {}

    def encode(self, height: int, width: int, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """[2*num_pos_feats, H, W] encoding of an unpadded map (computed in float32)."""
        eps = 1e-6
        ones = torch.ones(1, height, width, device=device, dtype=torch.float32)
        y_embed = ones.cumsum(1)  # [1, H, W], values r+1
        x_embed = ones.cumsum(2)  # [1, H, W], values c+1
        if self.normalize:
            y_embed = y_embed / (y_embed[:, -1:, :] + eps) * self.scale
            x_embed = x_embed / (x_embed[:, :, -1:] + eps) * self.scale
        dim_t = torch.arange(self.num_pos_feats, device=device, dtype=torch.float32)
        dim_t = self.temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / self.num_pos_feats)
        pos_x = x_embed[:, :, :, None] / dim_t  # [1, H, W, F]
        pos_y = y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack((pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()), dim=4).flatten(3)
        pos_y = torch.stack((pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()), dim=4).flatten(3)
        pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)  # [1, 2F, H, W]
        return pos[0].to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        key = (h, w, x.device, x.dtype)
        pos = self._cache.get(key)
        if pos is None:
            pos = self._cache[key] = self.encode(h, w, x.device, x.dtype)
        return pos.unsqueeze(0).expand(b, -1, -1, -1)


def build_position_encoding(hidden_dim: int = 256, position_embedding: str = "sine") -> nn.Module:
    """Only the sine encoding (TransT's 'sine'/'v2') is used by released models."""
    if position_embedding not in ("sine", "v2"):
        raise ValueError(f"unsupported position_embedding '{position_embedding}' (expected 'sine')")
    if hidden_dim % 2:
        raise ValueError(f"hidden_dim must be even for the sine encoding, got {hidden_dim}")
    return PositionEmbeddingSine(hidden_dim // 2, normalize=True)
