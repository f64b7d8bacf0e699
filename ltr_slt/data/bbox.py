"""Box conversions and IoU, for torch tensors and numpy arrays alike.

Conventions (see ``ARCHITECTURE.md``): ``xywh`` = pytracking's ``[x, y, w, h]`` (top-left corner and
size, float image pixels); ``xyxy`` = corners ``[x1, y1, x2, y2]`` with ``x2 = x + w`` (continuous,
no ``-1``); ``cxcywh`` = centre and size (TransT's network output, normalised or not).

IoU is the continuous IoU that pytracking's analysis computes (its ``-1``/``+1`` cancel out):
``|A n B| / (|A| + |B| - |A n B|)``. Edge cases, chosen so a rollout reward is always finite:

* a box with zero or negative width/height has area 0 and IoU 0 with everything (also with an
  identical degenerate box, where pytracking would produce ``0/0 = NaN``);
* non-finite coordinates (NaN/inf) give IoU 0;
* the result lies in ``[0, 1]`` and has the dtype of the (floating) input.

Every function works on any leading batch shape ``[..., 4]``.
"""
from __future__ import annotations

from typing import TypeVar, Union

import numpy as np
import torch

__all__ = ["xywh_to_xyxy", "xyxy_to_xywh", "xywh_to_cxcywh", "cxcywh_to_xywh", "xyxy_to_cxcywh",
           "cxcywh_to_xyxy", "iou", "iou_xyxy", "iou_np"]

Array = TypeVar("Array", torch.Tensor, np.ndarray)
ArrayLike = Union[torch.Tensor, np.ndarray]


def _check(boxes: ArrayLike, name: str) -> None:
    if boxes.shape[-1:] != (4,):
        raise ValueError(f"{name}: boxes must have shape [..., 4], got {tuple(boxes.shape)}")


def _cat(parts: list, like: ArrayLike) -> ArrayLike:
    if isinstance(like, torch.Tensor):
        return torch.stack(parts, dim=-1)
    return np.stack(parts, axis=-1)


def xywh_to_xyxy(boxes: Array) -> Array:
    """[x, y, w, h] -> [x1, y1, x2, y2] with x2 = x + w."""
    _check(boxes, "xywh_to_xyxy")
    x, y, w, h = (boxes[..., i] for i in range(4))
    return _cat([x, y, x + w, y + h], boxes)


def xyxy_to_xywh(boxes: Array) -> Array:
    """[x1, y1, x2, y2] -> [x, y, w, h] (negative sizes are kept, IoU treats them as empty)."""
    _check(boxes, "xyxy_to_xywh")
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    return _cat([x1, y1, x2 - x1, y2 - y1], boxes)


def xywh_to_cxcywh(boxes: Array) -> Array:
    """[x, y, w, h] -> [cx, cy, w, h] with cx = x + w/2 (TransT's centre convention)."""
    _check(boxes, "xywh_to_cxcywh")
    x, y, w, h = (boxes[..., i] for i in range(4))
    return _cat([x + 0.5 * w, y + 0.5 * h, w, h], boxes)


def cxcywh_to_xywh(boxes: Array) -> Array:
    """[cx, cy, w, h] -> [x, y, w, h]."""
    _check(boxes, "cxcywh_to_xywh")
    cx, cy, w, h = (boxes[..., i] for i in range(4))
    return _cat([cx - 0.5 * w, cy - 0.5 * h, w, h], boxes)


def xyxy_to_cxcywh(boxes: Array) -> Array:
    return xywh_to_cxcywh(xyxy_to_xywh(boxes))


def cxcywh_to_xyxy(boxes: Array) -> Array:
    return xywh_to_xyxy(cxcywh_to_xywh(boxes))


def iou_xyxy(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise IoU of corner boxes ``a`` and ``b`` (broadcastable ``[..., 4]``) -> ``[...]``."""
    _check(a, "iou_xyxy(a)")
    _check(b, "iou_xyxy(b)")
    if not a.is_floating_point():
        a = a.float()
    if not b.is_floating_point():
        b = b.to(a.dtype)
    wa = a[..., 2] - a[..., 0]
    ha = a[..., 3] - a[..., 1]
    wb = b[..., 2] - b[..., 0]
    hb = b[..., 3] - b[..., 1]
    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = iw * ih
    area_a = wa.clamp(min=0) * ha.clamp(min=0)
    area_b = wb.clamp(min=0) * hb.clamp(min=0)
    union = area_a + area_b - inter
    valid = (wa > 0) & (ha > 0) & (wb > 0) & (hb > 0) & (union > 0) & torch.isfinite(union) & torch.isfinite(inter)
    out = inter / torch.where(valid, union, torch.ones_like(union))
    return torch.where(valid, out, torch.zeros_like(out)).clamp(0.0, 1.0)


def iou(a: ArrayLike, b: ArrayLike) -> ArrayLike:
    """Element-wise IoU of ``xywh`` boxes (torch or numpy; numpy in -> numpy out) -> ``[...]``."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return iou_np(a, b)
    a_t = torch.as_tensor(a)
    b_t = torch.as_tensor(b, device=a_t.device)
    return iou_xyxy(xywh_to_xyxy(a_t), xywh_to_xyxy(b_t))


def iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`iou` for ``xywh`` boxes (float64 unless the inputs are float32)."""
    a = np.asarray(a)
    b = np.asarray(b)
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        res = iou_xyxy(torch.from_numpy(xywh_to_xyxy(a.astype(dtype))),
                       torch.from_numpy(xywh_to_xyxy(b.astype(dtype))))
    return res.numpy()
