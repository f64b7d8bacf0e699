"""Gaussian label maps of DiMP / TrDiMP (ltr ``processing_utils.gaussian_label_function``).

The transformer of TrDiMP takes these maps as its "positional" input (sigma factor 0.1,
``end_pad_if_even=False``); the DiMP classification loss uses them as targets (sigma factor
1/4/search_area_factor, ``end_pad_if_even=True`` for the (feat+1)^2 score map).
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import torch

__all__ = ["gaussian_label_function"]

Size = Union[int, float, Sequence[float]]


def _pair(v: Size) -> Tuple[float, float]:
    return (float(v), float(v)) if isinstance(v, (int, float)) else (float(v[0]), float(v[1]))


def _gauss_1d(sz: float, sigma: float, center: torch.Tensor, end_pad: int, density: bool) -> torch.Tensor:
    k = torch.arange(-(sz - 1) / 2, (sz + 1) / 2 + end_pad, dtype=center.dtype, device=center.device).reshape(1, -1)
    g = torch.exp(-1.0 / (2 * sigma ** 2) * (k - center.reshape(-1, 1)) ** 2)  # [N, sz + end_pad]
    return g / (math.sqrt(2 * math.pi) * sigma) if density else g


def gaussian_label_function(target_bb: torch.Tensor, sigma_factor: float, kernel_sz: Size, feat_sz: Size,
                            image_sz: Size, end_pad_if_even: bool = True, density: bool = False,
                            uni_bias: float = 0.0) -> torch.Tensor:
    """target_bb [N, 4] xywh in crop pixels -> labels [N, H (+pad), W (+pad)], peak at the box centre / stride."""
    if target_bb.dim() != 2 or target_bb.shape[-1] != 4:
        raise ValueError(f"gaussian_label_function: target_bb must be [N, 4] xywh, got shape {tuple(target_bb.shape)}")
    kernel_sz, feat_sz, image_sz = _pair(kernel_sz), _pair(feat_sz), _pair(image_sz)
    bb = target_bb.float()
    img = torch.tensor(image_sz, dtype=bb.dtype, device=bb.device)
    feat = torch.tensor(feat_sz, dtype=bb.dtype, device=bb.device)
    center_norm = (bb[:, 0:2] + 0.5 * bb[:, 2:4] - img / 2) / img  # [N, 2] (x, y)
    center = feat * center_norm + 0.5 * torch.tensor([(kernel_sz[0] + 1) % 2, (kernel_sz[1] + 1) % 2],
                                                     dtype=bb.dtype, device=bb.device)
    sigma = sigma_factor * math.sqrt(feat_sz[0] * feat_sz[1])
    end_pad = (int(kernel_sz[0] % 2 == 0), int(kernel_sz[1] % 2 == 0)) if end_pad_if_even else (0, 0)
    gx = _gauss_1d(feat_sz[0], sigma, center[:, 0], end_pad[0], density).reshape(bb.shape[0], 1, -1)
    gy = _gauss_1d(feat_sz[1], sigma, center[:, 1], end_pad[1], density).reshape(bb.shape[0], -1, 1)
    label = gx * gy  # [N, H, W]
    if density:
        size = (feat_sz[0] + end_pad[0]) * (feat_sz[1] + end_pad[1])
        return (1.0 - uni_bias) * label + uni_bias / size
    return label + uni_bias
