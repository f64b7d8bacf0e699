"""Test doubles and references for the DiMP-family tracker tests (CPU, tiny networks).

* :class:`TransformerDouble` — a TEST DOUBLE with the official TransformerTrack interface
  (``encoder(src [M,S,C,H,W], pos=None) -> (tokens [M*H*W,S,C], feat)``,
  ``decoder(tgt [1,S,C,H,W], memory=[L,S,C], pos=[M,S,H,W], query_pos=None) -> (tokens, feat [S,C,H,W])``).
  It is NOT TrDiMP's transformer (that network is built in ``ltr_slt.models``): it only attends from
  the query to the memory and propagates the labels, so the tracker's transformer-memory handling
  (init encoding, per-image decoding, update / skipping / cap) is exercised and memory contents
  change the output.
* :func:`reference_sample_patch` — pytracking's single-window ``sample_patch`` written plainly with
  ``F.pad`` and ``F.interpolate`` (the behaviour the batched gather must reproduce).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_slt.admin.model_constructor import register_factory
from ltr_slt.models.tracking.dimpnet import dimpnet_tiny


class _EncoderDouble(nn.Module):
    def forward(self, src: torch.Tensor, pos=None):
        assert src.dim() == 5, "Expect 5 dimensional inputs"
        m, s, c, h, w = src.shape
        tokens = src.reshape(m, s, c, -1).permute(0, 3, 1, 2).reshape(-1, s, c)  # [M*H*W, S, C]
        tokens = tokens + tokens.mean(dim=0, keepdim=True)
        feat = tokens.reshape(m, h, w, s, c).permute(0, 3, 4, 1, 2).reshape(-1, c, h, w)
        return tokens, feat


class _DecoderDouble(nn.Module):
    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, pos=None, query_pos=None):
        assert tgt.dim() == 5, "Expect 5 dimensional inputs"
        n, s, c, h, w = tgt.shape
        q = tgt.reshape(n, s, c, -1).permute(0, 3, 1, 2).reshape(-1, s, c)  # [HW, S, C]
        lab = pos.reshape(pos.shape[0], s, -1).permute(0, 2, 1).reshape(-1, s, 1)  # [M*H*W, S, 1]
        att = torch.softmax(torch.einsum("qsc,lsc->sql", q, memory) * 30.0, dim=-1)  # [S, HW, L]
        mask = torch.einsum("sql,lsd->qsd", att, lab)  # [HW, S, 1]
        out = q * (1.0 + mask)
        feat = out.reshape(n, h, w, s, c).permute(0, 3, 4, 1, 2).reshape(-1, c, h, w)
        return out, feat


class TransformerDouble(nn.Module):
    """TEST DOUBLE of ``classifier.transformer`` (interface only; see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = _EncoderDouble()
        self.decoder = _DecoderDouble()


def dimpnet_tiny_transformer_double() -> nn.Module:
    """``dimpnet_tiny`` with the transformer TEST DOUBLE as ``classifier.transformer``."""
    net = dimpnet_tiny()
    net.classifier.transformer = TransformerDouble()
    return net


register_factory(dimpnet_tiny_transformer_double)


def reference_sample_patch(im: torch.Tensor, pos: torch.Tensor, sample_sz: torch.Tensor, output_sz: int,
                           mode: str = "replicate", max_scale_change=None):
    """pytracking ``sample_patch`` for one window: im [1,3,H,W] float, pos (y, x), sample_sz (h, w) float32."""
    posl = pos.long().clone()
    out_sz = torch.tensor([float(output_sz)] * 2)
    if mode in ("inside", "inside_major"):
        im_sz = torch.tensor([float(im.shape[2]), float(im.shape[3])])
        shrink = sample_sz.float() / im_sz
        shrink = shrink.max() if mode == "inside" else shrink.min()
        shrink = shrink.clamp(min=1, max=max_scale_change)
        sample_sz = (sample_sz.float() / shrink).long()
    df = int(max(int(torch.min(sample_sz.float() / out_sz).item() - 0.1), 1))
    sz = sample_sz.float() / df
    if df > 1:
        os_ = posl % df
        posl = (posl - os_) / df
        im2 = im[..., os_[0].item()::df, os_[1].item()::df]
    else:
        im2 = im
    szl = torch.max(sz.round(), torch.tensor([2.0])).long()
    tl = posl - (szl - 1) / 2
    br = posl + szl / 2 + 1
    if mode in ("inside", "inside_major"):
        im2_sz = torch.LongTensor([im2.shape[2], im2.shape[3]])
        shift = (-tl).clamp(0) - (br - im2_sz).clamp(0)
        tl += shift
        br += shift
        outside = ((-tl).clamp(0) + (br - im2_sz).clamp(0)) // 2
        shift = (-tl - outside) * (outside > 0).long()
        tl += shift
        br += shift
    pad = (-tl[1].int().item(), br[1].int().item() - im2.shape[3], -tl[0].int().item(), br[0].int().item() - im2.shape[2])
    patch = F.pad(im2, pad, "replicate")
    coord = df * torch.cat((tl, br)).view(1, 4)
    if patch.shape[-2] == output_sz and patch.shape[-1] == output_sz:
        return patch.clone(), coord
    return F.interpolate(patch, [output_sz, output_sz], mode="bilinear"), coord


def reference_gauss_label(box: torch.Tensor, sigma_factor: float, k: int, feat: int, img: float) -> torch.Tensor:
    """ltr gaussian_label_function for one square-map xywh box (end_pad_if_even=False) -> [feat, feat]."""
    c = box[:2] + 0.5 * box[2:]
    cn = feat * ((c - img / 2) / img) + 0.5 * ((k + 1) % 2)
    sigma = sigma_factor * math.sqrt(feat * feat)
    g = torch.arange(-(feat - 1) / 2, (feat + 1) / 2)
    gx = torch.exp(-1.0 / (2 * sigma ** 2) * (g - cn[0]) ** 2)
    gy = torch.exp(-1.0 / (2 * sigma ** 2) * (g - cn[1]) ** 2)
    return gy[:, None] * gx[None, :]
