"""Box helpers for the losses (kept here so the models package has no data-side dependency)."""
from __future__ import annotations

import torch

__all__ = ["box_cxcywh_to_xyxy", "box_xyxy_to_cxcywh", "paired_iou_giou"]

_EPS = 1e-7  # only guards degenerate boxes; a no-op for boxes with positive area


def box_cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def box_xyxy_to_cxcywh(b: torch.Tensor) -> torch.Tensor:
    x0, y0, x1, y1 = b.unbind(-1)
    return torch.stack(((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0), dim=-1)


def paired_iou_giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and generalized IoU of matching xyxy boxes a[..., 4], b[..., 4] -> ([...], [...])."""
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    lt = torch.max(a[..., :2], b[..., :2])
    rb = torch.min(a[..., 2:], b[..., 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=_EPS)
    lt_c = torch.min(a[..., :2], b[..., :2])
    rb_c = torch.max(a[..., 2:], b[..., 2:])
    wh_c = (rb_c - lt_c).clamp(min=0)
    enclosing = wh_c[..., 0] * wh_c[..., 1]
    giou = iou - (enclosing - union) / enclosing.clamp(min=_EPS)
    return iou, giou
