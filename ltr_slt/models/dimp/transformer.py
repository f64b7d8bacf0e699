"""TrDiMP's transformer ("Transformer Meets Tracker", architectures.md 4.2-4.3).

One encoder layer and one decoder layer, no FFN, InstanceL2Norm after every residual. The
attention unit (``RelationUnit``) projects queries and keys with the same ``WK`` and a temperature
of 30 on the cosine similarity; values are used raw (``WV`` exists for the state dict only). The
encoder's and the decoder's ``self_attn`` are one module instance, so the state dict holds the same
tensors under both names, exactly like the official checkpoints.

Tokens are ``[L, S, D]`` with ``L = images * h * w`` ordered image-major then row-major.
Module and argument names are those of the official code (``encoder(src, pos=None)``,
``decoder(tgt, memory, pos, query_pos)``) because the TrDiMP tracker calls them directly.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_slt.models.dimp.classifier import InstanceL2Norm

__all__ = ["RelationUnit", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]


class RelationUnit(nn.Module):
    """softmax_k(temp * <n(WK q), n(WK k)>) @ v, with n the L2 normalisation over features."""

    def __init__(self, feature_dim: int = 512, key_feature_dim: int = 64, temperature: float = 30.0) -> None:
        super().__init__()
        self.temp = temperature
        self.WK = nn.Linear(feature_dim, key_feature_dim)
        self.WV = nn.Linear(feature_dim, feature_dim)  # in the official state dict; never used
        for lin in (self.WK, self.WV):
            lin.weight.data.normal_(0, math.sqrt(2.0 / lin.out_features))
            lin.bias.data.zero_()

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """query [Lq, S, D], key [Lk, S, D], value [Lk, S, Dv] -> [Lq, S, Dv]."""
        w_k = F.normalize(self.WK(key), p=2, dim=-1).permute(1, 2, 0)  # [S, Dk, Lk]
        w_q = F.normalize(self.WK(query), p=2, dim=-1).permute(1, 0, 2)  # [S, Lq, Dk]
        affinity = F.softmax(torch.bmm(w_q, w_k) * self.temp, dim=-1)  # [S, Lq, Lk]
        return torch.bmm(affinity, value.permute(1, 0, 2)).permute(1, 0, 2)  # [Lq, S, Dv]


class MultiheadAttention(nn.Module):
    """Heads concatenated along features, no output projection (TrDiMP uses one head)."""

    def __init__(self, feature_dim: int = 512, n_head: int = 1, key_feature_dim: int = 128) -> None:
        super().__init__()
        self.Nh = n_head
        self.head = nn.ModuleList([RelationUnit(feature_dim, key_feature_dim) for _ in range(n_head)])

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        return torch.cat([h(query, key, value) for h in self.head], dim=-1)


def _tokens_to_maps(x: torch.Tensor, input_shape) -> torch.Tensor:
    """[N*h*w, S, D] -> [N*S, D, h, w] (image-major)."""
    n, s, d, h, w = input_shape
    return x.reshape(n, h, w, s, d).permute(0, 3, 4, 1, 2).reshape(-1, d, h, w)


def _maps_to_tokens(x: torch.Tensor, input_shape) -> torch.Tensor:
    """[N*S, D, h, w] -> [N*h*w, S, D]."""
    n, s, d, h, w = input_shape
    return x.reshape(n, s, d, h * w).permute(0, 3, 1, 2).reshape(-1, s, d)


class _InstanceNormTokens(nn.Module):
    """InstanceL2Norm applied per image and sequence on token sequences."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.norm = InstanceL2Norm(scale=math.sqrt(1.0 / (d_model * 4 * 4)))

    def instance_norm(self, src: torch.Tensor, input_shape) -> torch.Tensor:
        return _maps_to_tokens(self.norm(_tokens_to_maps(src, input_shape)), input_shape)


class TransformerEncoderLayer(_InstanceNormTokens):
    """mem = IN(x + SA(x, x, x))."""

    def __init__(self, multihead_attn: MultiheadAttention, FFN: Optional[nn.Module], d_model: int) -> None:
        super().__init__(d_model)
        self.self_attn = multihead_attn
        self.FFN = FFN

    def forward(self, src: torch.Tensor, input_shape, pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.instance_norm(src + self.self_attn(query=src, key=src, value=src), input_shape)


class TransformerEncoder(nn.Module):
    def __init__(self, multihead_attn: MultiheadAttention, FFN: Optional[nn.Module], d_model: int = 512,
                 num_encoder_layers: int = 6) -> None:
        super().__init__()
        layer = TransformerEncoderLayer(multihead_attn, FFN, d_model)
        self.layers = nn.ModuleList([layer for _ in range(num_encoder_layers)])  # one shared instance, as official

    def forward(self, src: torch.Tensor, pos: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """src [N, S, D, h, w] -> (memory tokens [N*h*w, S, D], maps [N*S, D, h, w]); ``pos`` is unused."""
        if src.dim() != 5:
            raise ValueError(f"TransformerEncoder: expected src [N, S, D, h, w], got shape {tuple(src.shape)}")
        shape = src.shape
        out = _maps_to_tokens(src, shape)
        for layer in self.layers:
            out = layer(out, input_shape=shape, pos=None)
        return out, _tokens_to_maps(out, shape)


class TransformerDecoderLayer(_InstanceNormTokens):
    """Feature-mask and label-weighted feature propagation branches (architectures.md 4.3)."""

    def __init__(self, multihead_attn: MultiheadAttention, FFN: Optional[nn.Module], d_model: int,
                 key_feature_dim: int = 128) -> None:
        super().__init__(d_model)
        self.self_attn = multihead_attn
        self.cross_attn = MultiheadAttention(feature_dim=d_model, n_head=1, key_feature_dim=key_feature_dim)
        self.FFN = FFN

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, input_shape, pos: Optional[torch.Tensor] = None,
                query_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        """tgt [h*w, S, D], memory [N*h*w, S, D], pos (labels) [N*h*w, S, D] -> [h*w, S, D]."""
        tgt = self.instance_norm(tgt + self.self_attn(query=tgt, key=tgt, value=tgt), input_shape)
        mask = self.cross_attn(query=tgt, key=memory, value=pos)  # propagated label
        tgt2 = self.instance_norm(tgt * mask, input_shape)
        tgt4 = self.instance_norm(tgt + self.cross_attn(query=tgt, key=memory, value=memory * pos), input_shape)
        return self.instance_norm(tgt2 + tgt4, input_shape)


class TransformerDecoder(nn.Module):
    def __init__(self, multihead_attn: MultiheadAttention, FFN: Optional[nn.Module], d_model: int = 512,
                 num_decoder_layers: int = 6, key_feature_dim: int = 128) -> None:
        super().__init__()
        layer = TransformerDecoderLayer(multihead_attn, FFN, d_model, key_feature_dim)
        self.layers = nn.ModuleList([layer for _ in range(num_decoder_layers)])

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, pos: Optional[torch.Tensor] = None,
                query_pos: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """tgt [1, S, D, h, w] (one query image), memory [N*h*w, S, D], pos labels [N, S, h, w]
        -> (tokens [h*w, S, D], maps [S, D, h, w])."""
        if tgt.dim() != 5:
            raise ValueError(f"TransformerDecoder: expected tgt [N, S, D, h, w], got shape {tuple(tgt.shape)}")
        if pos is None:
            raise ValueError("TransformerDecoder: pos (the train labels [N, S, h, w]) is required")
        shape = tgt.shape
        d = shape[2]
        n_pos, s = pos.shape[:2]
        pos = pos.reshape(n_pos, s, 1, -1).permute(0, 3, 1, 2).reshape(-1, s, 1).repeat(1, 1, d)  # [N*h*w, S, D]
        out = _maps_to_tokens(tgt, shape)
        for layer in self.layers:
            out = layer(out, memory, input_shape=shape, pos=pos, query_pos=query_pos)
        return out, _tokens_to_maps(out, shape)


class Transformer(nn.Module):
    """Encoder over all train images jointly; decoder per train and per test image."""

    def __init__(self, d_model: int = 512, nhead: int = 1, num_layers: int = 1, key_feature_dim: int = 128) -> None:
        super().__init__()
        multihead_attn = MultiheadAttention(feature_dim=d_model, n_head=nhead, key_feature_dim=key_feature_dim)
        self.encoder = TransformerEncoder(multihead_attn, None, d_model, num_layers)
        self.decoder = TransformerDecoder(multihead_attn, None, d_model, num_layers, key_feature_dim)

    def forward(self, train_feat: torch.Tensor, test_feat: torch.Tensor,
                train_label: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """train_feat [N_tr, S, D, h, w], test_feat [N_te, S, D, h, w], train_label [N_tr, S, h, w]
        -> (encoded train [N_tr*S, D, h, w], decoded test [N_te*S, D, h, w])."""
        memory, _ = self.encoder(train_feat, pos=None)  # [N_tr*h*w, S, D]
        encoded = [self.decoder(f.unsqueeze(0), memory=memory, pos=train_label)[1] for f in train_feat]
        decoded = [self.decoder(f.unsqueeze(0), memory=memory, pos=train_label)[1] for f in test_feat]
        return torch.cat(encoded, 0), torch.cat(decoded, 0)
