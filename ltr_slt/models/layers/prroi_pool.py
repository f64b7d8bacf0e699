"""Precise RoI Pooling (Jiang et al., "Acquisition of Localization Confidence", IoU-Net), pure PyTorch.

Definition (identical to the original CUDA kernel, vacancy/PreciseRoIPooling, used by pytracking):

* a roi row is ``(batch_index, x1, y1, x2, y2)`` in input-image pixels; the batch index is stored as a
  float and truncated to an int; coordinates are multiplied by ``spatial_scale``;
* bin sizes ``bw = max(X2 - X1, 0) / pooled_width``, ``bh = max(Y2 - Y1, 0) / pooled_height``;
  bin ``(p, q)`` is the window ``[X1 + q*bw, X1 + (q+1)*bw] x [Y1 + p*bh, Y1 + (p+1)*bh]``;
* the feature map is the bilinear interpolation of the samples at integer positions, zero outside
  the map: ``f(x, y) = sum_ij F[i, j] hat(y - i) hat(x - j)``, ``hat(t) = max(0, 1 - |t|)``;
* ``out = (integral of f over the bin) / (bw * bh)``; a bin of zero area gives 0.

The integral is separable.  With ``Hc(t) = integral of hat from -inf to t`` (0 / (t+1)^2/2 /
1-(1-t)^2/2 / 1, i.e. ``0.5 + t - t|t|/2`` on ``t`` clamped to [-1, 1]) the per-axis weights are
``Wx[q, j] = (Hc(xe_q - j) - Hc(xs_q - j)) / bw`` (``Wy`` likewise) and ``out = Wy @ F @ Wx^T``.
The weights are continuous (C^1) functions of the box coordinates, so autograd gives

* the feature gradient of the original ``PrRoIPoolingBackward`` (``grad_out / area`` spread with
  the same integral weights), and
* the coordinate gradient of the original ``PrRoIPoolingCoorBackward``: that kernel does
  differentiate the division by the bin area, per bin
  ``d out / d xe = (int f(xe, y) dy - (ye - ys) * out) / area`` (and the mirrored terms for
  ``xs``, ``ys``, ``ye``), then chains through ``xs_q = X1 (1 - q/pw) + X2 q/pw``,
  ``xe_q = X1 (1 - (q+1)/pw) + X2 (q+1)/pw`` and ``X = x * spatial_scale``.  Autograd through
  ``Hc`` (derivative ``hat``) and ``1 / bw`` is exactly this expression.
* Zero-area and inverted boxes (``x2 <= x1`` or ``y2 <= y1``): output 0, feature and coordinate
  gradients 0, as the original (which returns early there).  The batch-index column gets a zero
  gradient, as the original writes 0 there.

Unlike the original (CUDA, float32 only) this runs on any device and dtype.  An out-of-range batch
index raises ``ValueError`` (the original reads out of bounds).
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["PrRoIPool2D", "prroi_pool2d"]


def _hat_cdf(t: torch.Tensor) -> torch.Tensor:
    """Integral of hat(u) = max(0, 1 - |u|) over (-inf, t]; C^1 in t, derivative hat(t)."""
    t = t.clamp(-1.0, 1.0)
    return 0.5 + t - 0.5 * t * t.abs()


def _axis_weights(start: torch.Tensor, bin_size: torch.Tensor, num_bins: int, size: int) -> torch.Tensor:
    """Un-normalised 1-D integral weights [K, num_bins, size] of bins start + [q, q+1] * bin_size."""
    steps = torch.arange(num_bins + 1, device=start.device, dtype=start.dtype)
    edges = start[:, None] + steps[None, :] * bin_size[:, None]  # [K, num_bins + 1]
    pixels = torch.arange(size, device=start.device, dtype=start.dtype)
    cdf = _hat_cdf(edges[:, :, None] - pixels[None, None, :])  # [K, num_bins + 1, size]
    return cdf[:, 1:] - cdf[:, :-1]  # [K, num_bins, size]


def prroi_pool2d(features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int,
                 spatial_scale: float) -> torch.Tensor:
    """Precise RoI pooling: features [B, C, H, W], rois [K, 5] (b, x1, y1, x2, y2) -> [K, C, ph, pw]."""
    if features.dim() != 4:
        raise ValueError(f"prroi_pool2d: features must be [B, C, H, W], got shape {tuple(features.shape)}")
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f"prroi_pool2d: rois must be [K, 5] (batch_index, x1, y1, x2, y2), got shape {tuple(rois.shape)}")
    if pooled_height <= 0 or pooled_width <= 0:
        raise ValueError(f"prroi_pool2d: pooled size must be positive, got {pooled_height}x{pooled_width}")
    B, C, H, W = features.shape
    K = rois.shape[0]
    ph, pw = int(pooled_height), int(pooled_width)
    rois = rois.to(device=features.device, dtype=features.dtype)

    batch_index = rois[:, 0].long()  # truncation toward zero, like the kernel's int cast
    if K > 0:
        lo, hi = int(batch_index.min()), int(batch_index.max())
        if lo < 0 or hi >= B:
            raise ValueError(f"prroi_pool2d: roi batch index out of range [0, {B}): min {lo}, max {hi}")

    x1, y1, x2, y2 = (rois[:, 1:] * spatial_scale).unbind(1)  # [K] each, feature-map coordinates
    bin_w = (x2 - x1).clamp(min=0) / pw
    bin_h = (y2 - y1).clamp(min=0) / ph
    valid = (bin_w * bin_h) > 0  # zero-area bins give 0, with zero gradients
    one = torch.ones_like(bin_w)
    inv_w = torch.where(valid, 1.0 / torch.where(valid, bin_w, one), torch.zeros_like(bin_w))
    inv_h = torch.where(valid, 1.0 / torch.where(valid, bin_h, one), torch.zeros_like(bin_h))
    wx = _axis_weights(x1, bin_w, pw, W) * inv_w[:, None, None]  # [K, pw, W]
    wy = _axis_weights(y1, bin_h, ph, H) * inv_h[:, None, None]  # [K, ph, H]

    # Group the rois by image, padded to the largest group, so that both products are batched
    # matmuls and the features are never copied per roi.
    counts = torch.bincount(batch_index, minlength=B)  # [B]
    max_count = int(counts.max()) if K > 0 else 0
    order = torch.argsort(batch_index, stable=True)
    group_start = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(batch_index)
    rank[order] = torch.arange(K, device=rois.device) - group_start[batch_index[order]]

    # Contract first along the axis that leaves the smaller intermediate.
    transpose = ph * W < pw * H
    feat = features.transpose(2, 3) if transpose else features  # [B, C, A, Z]: Z contracted first
    w_first, w_second = (wy, wx) if transpose else (wx, wy)  # [K, n1, Z], [K, n2, A]
    n1, n2 = w_first.shape[1], w_second.shape[1]
    A, Z = feat.shape[2], feat.shape[3]
    idx = (batch_index, rank)
    w_first_pad = w_first.new_zeros(B, max_count, n1, Z).index_put(idx, w_first)
    w_second_pad = w_second.new_zeros(B, max_count, n2, A).index_put(idx, w_second)

    # [B, M*n1, Z] @ [B, Z, C*A] -> [B, M*n1, C*A]
    tmp = torch.bmm(w_first_pad.reshape(B, max_count * n1, Z), feat.reshape(B, C * A, Z).transpose(1, 2))
    # [B*M, n1*C, A] @ [B*M, A, n2] -> [B*M, n1*C, n2]
    out = torch.bmm(tmp.reshape(B * max_count, n1 * C, A), w_second_pad.reshape(B * max_count, n2, A).transpose(1, 2))
    out = out.reshape(B, max_count, n1, C, n2)[idx]  # [K, n1, C, n2]
    out = out.permute(0, 2, 1, 3) if transpose else out.permute(0, 2, 3, 1)  # [K, C, ph, pw]
    return out.contiguous()


class PrRoIPool2D(nn.Module):
    """Module form of :func:`prroi_pool2d`, same constructor as pytracking's ``PrRoIPool2D``."""

    def __init__(self, pooled_height: int, pooled_width: int, spatial_scale: float):
        super().__init__()
        self.pooled_height = int(pooled_height)
        self.pooled_width = int(pooled_width)
        self.spatial_scale = float(spatial_scale)

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        return prroi_pool2d(features, rois, self.pooled_height, self.pooled_width, self.spatial_scale)

    def extra_repr(self) -> str:
        return f"kernel_size=({self.pooled_height}, {self.pooled_width}), spatial_scale={self.spatial_scale}"
