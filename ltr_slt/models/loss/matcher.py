"""TransT's fixed matcher: positives are the grid cells inside the ground-truth box.

For a box with corners (xmin, ymin, xmax, ymax) in [0, 1] crop units and an n x n grid:
``Xmin = ceil(xmin*n)``, ``Xmax = ceil(xmax*n)`` (``Xmax += 1`` when equal), likewise for y, and
the positives are tokens ``y*n + x`` with ``Ymin <= y < Ymax`` and ``Xmin <= x < Xmax``.

Deliberate fix: the official code slices the grid with the unclamped numbers, so a box reaching
past the left/top border (negative Xmin) gets *no* positives (``b[-2:5]`` is empty) and a box fully
outside on that side selects cells on the opposite border (``b[-5:-2]`` wraps). Here the ranges are
clamped to the grid and always keep at least one cell (the nearest border cell for a box that lies
fully outside). Boxes inside the grid give exactly the official cells. ``clamp=False`` reproduces
the official slicing (Python slice semantics, including the empty and wrapped ranges) for
side-by-side runs (settings ``matcher_clamp=False``).
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
from torch import nn

__all__ = ["cell_ranges", "positive_mask", "TrackingMatcher", "targets_to_boxes"]


def _python_slice_bound(index: torch.Tensor, n: int) -> torch.Tensor:
    """Where ``range(n)[i:]`` / ``[:i]`` puts the bound ``i``: negative counts from the end, then [0, n]."""
    return torch.where(index < 0, (index + n).clamp(min=0), index.clamp(max=n))


def cell_ranges(boxes_cxcywh: torch.Tensor, feature_size: int, clamp: bool = True) -> torch.Tensor:
    """Half-open cell ranges [B, 4] = (Xmin, Xmax, Ymin, Ymax) for boxes [B, 4] in [0, 1].

    ``clamp=True``: clamped to the grid, at least one cell. ``clamp=False``: the official code's
    ``grid[Ymin:Ymax, Xmin:Xmax]`` with Python slice semantics (may be empty, may wrap).
    """
    b = boxes_cxcywh.detach().to(torch.float64)  # official: python floats
    cx, cy, w, h = b.unbind(-1)
    n = feature_size
    lo_x, hi_x = torch.ceil((cx - w / 2) * n), torch.ceil((cx + w / 2) * n)
    lo_y, hi_y = torch.ceil((cy - h / 2) * n), torch.ceil((cy + h / 2) * n)
    hi_x = torch.where(hi_x == lo_x, hi_x + 1, hi_x)
    hi_y = torch.where(hi_y == lo_y, hi_y + 1, hi_y)
    if not clamp:
        bounds = [_python_slice_bound(v, n) for v in (lo_x, hi_x, lo_y, hi_y)]
        return torch.stack(bounds, dim=-1).long()  # an empty range when lo >= hi
    lo_x, lo_y = lo_x.clamp(0, n - 1), lo_y.clamp(0, n - 1)
    hi_x = torch.maximum(hi_x.clamp(max=n), lo_x + 1)
    hi_y = torch.maximum(hi_y.clamp(max=n), lo_y + 1)
    return torch.stack((lo_x, hi_x, lo_y, hi_y), dim=-1).long()


def positive_mask(boxes_cxcywh: torch.Tensor, feature_size: int,
                  valid: Optional[torch.Tensor] = None, clamp: bool = True) -> torch.Tensor:
    """[B, n*n] bool: True at the positive tokens of each sample (none where ``valid`` is False)."""
    r = cell_ranges(boxes_cxcywh, feature_size, clamp).to(boxes_cxcywh.device)  # [B, 4]
    grid = torch.arange(feature_size, device=boxes_cxcywh.device)
    in_x = (grid[None] >= r[:, 0:1]) & (grid[None] < r[:, 1:2])  # [B, n]
    in_y = (grid[None] >= r[:, 2:3]) & (grid[None] < r[:, 3:4])  # [B, n]
    mask = (in_y[:, :, None] & in_x[:, None, :]).flatten(1)  # [B, n*n], token = y*n + x
    if valid is not None:
        mask = mask & valid.to(mask.device, torch.bool)[:, None]
    return mask


class TrackingMatcher(nn.Module):
    """Official-style interface: ``matcher(outputs, targets)`` -> [(token_idx, target_idx)] per sample.

    ``targets`` is a [B, 4] cxcywh tensor or the official list of ``{'boxes': [1, 4]}`` dicts.
    """

    @torch.no_grad()
    def forward(self, outputs: dict, targets) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        boxes = targets_to_boxes(targets)
        n = math.isqrt(outputs["pred_logits"].shape[1])
        mask = positive_mask(boxes, n)
        out = []
        for m in mask:
            idx = m.nonzero(as_tuple=False)[:, 0]
            out.append((idx, torch.zeros_like(idx)))
        return out


def targets_to_boxes(targets) -> torch.Tensor:
    """Accept [B, 4] cxcywh or a list of dicts with 'boxes' [1, 4] -> [B, 4]."""
    if isinstance(targets, torch.Tensor):
        if targets.dim() != 2 or targets.shape[-1] != 4:
            raise ValueError(f"targets must be [B, 4] cxcywh boxes, got shape {tuple(targets.shape)}")
        return targets
    try:
        return torch.stack([t["boxes"].reshape(-1, 4)[0] for t in targets])
    except (KeyError, TypeError, IndexError) as err:
        raise ValueError("targets must be a [B, 4] tensor or a list of {'boxes': [1, 4]} dicts") from err
