"""TransT feature fusion network: ECA/CFA encoder layers on both branches + one CFA decoder.

Internally token tensors are sequence-first ([L, B, C]) as torch's MultiheadAttention expects
with ``batch_first=False`` (the official layout; ``in_proj_weight`` stacks q, k, v). The public
``forward`` takes and returns batch-first tokens so callers never see the transposes.
Post-norm everywhere; dropout only acts in training.
"""
from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FeatureFusionLayer", "DecoderCFALayer", "Encoder", "Decoder", "FeatureFusionNetwork",
           "build_featurefusion_network"]


def _attend(attn: nn.MultiheadAttention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # need_weights=False lets torch use its fused scaled-dot-product kernel.
    return attn(q, k, v, need_weights=False)[0]


class FeatureFusionLayer(nn.Module):
    """One ECA (self-attention per branch) + CFA (cross-attention both ways) + FFN per branch.

    Branch 1 = template, branch 2 = search. Names follow the official state dict.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn1 = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.self_attn2 = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.multihead_attn1 = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.multihead_attn2 = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear11 = nn.Linear(d_model, dim_feedforward)
        self.dropout1 = nn.Dropout(dropout)
        self.linear12 = nn.Linear(dim_feedforward, d_model)
        self.linear21 = nn.Linear(d_model, dim_feedforward)
        self.dropout2 = nn.Dropout(dropout)
        self.linear22 = nn.Linear(dim_feedforward, d_model)
        self.norm11, self.norm12, self.norm13 = (nn.LayerNorm(d_model) for _ in range(3))
        self.norm21, self.norm22, self.norm23 = (nn.LayerNorm(d_model) for _ in range(3))
        self.dropout11, self.dropout12, self.dropout13 = (nn.Dropout(dropout) for _ in range(3))
        self.dropout21, self.dropout22, self.dropout23 = (nn.Dropout(dropout) for _ in range(3))

    def forward(self, src1: torch.Tensor, src2: torch.Tensor, pos1: torch.Tensor,
                pos2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # src1/pos1: template [Lt, B, C]; src2/pos2: search [Ls, B, C]
        q1 = src1 + pos1
        src1 = self.norm11(src1 + self.dropout11(_attend(self.self_attn1, q1, q1, src1)))
        q2 = src2 + pos2
        src2 = self.norm21(src2 + self.dropout21(_attend(self.self_attn2, q2, q2, src2)))

        q1, q2 = src1 + pos1, src2 + pos2
        a = _attend(self.multihead_attn1, q1, q2, src2)  # template attends to search
        b = _attend(self.multihead_attn2, q2, q1, src1)  # search attends to template
        src1 = self.norm12(src1 + self.dropout12(a))
        src1 = self.norm13(src1 + self.dropout13(self.linear12(self.dropout1(F.relu(self.linear11(src1))))))
        src2 = self.norm22(src2 + self.dropout22(b))
        src2 = self.norm23(src2 + self.dropout23(self.linear22(self.dropout2(F.relu(self.linear21(src2))))))
        return src1, src2


class DecoderCFALayer(nn.Module):
    """Search tokens cross-attend to the template once more, then an FFN."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1) -> None:
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, pos_enc: torch.Tensor,
                pos_dec: torch.Tensor) -> torch.Tensor:
        # tgt/pos_dec: search [Ls, B, C]; memory/pos_enc: template [Lt, B, C]
        a = _attend(self.multihead_attn, tgt + pos_dec, memory + pos_enc, memory)
        tgt = self.norm1(tgt + self.dropout1(a))
        tgt = self.norm2(tgt + self.dropout2(self.linear2(self.dropout(F.relu(self.linear1(tgt))))))
        return tgt


class Encoder(nn.Module):
    def __init__(self, layer: FeatureFusionLayer, num_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])

    def forward(self, src1: torch.Tensor, src2: torch.Tensor, pos1: torch.Tensor,
                pos2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for layer in self.layers:
            src1, src2 = layer(src1, src2, pos1, pos2)
        return src1, src2


class Decoder(nn.Module):
    def __init__(self, layer: DecoderCFALayer, num_layers: int, norm: Optional[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.norm = norm

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, pos_enc: torch.Tensor,
                pos_dec: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            tgt = layer(tgt, memory, pos_enc, pos_dec)
        return tgt if self.norm is None else self.norm(tgt)


class FeatureFusionNetwork(nn.Module):
    """``forward(template, search, pos_template, pos_search)`` -> fused search tokens.

    All arguments are batch-first tokens: template/pos [B, Lt, C], search/pos [B, Ls, C].
    Returns [B, Ls, C].
    """

    def __init__(self, d_model: int = 256, nhead: int = 8, num_featurefusion_layers: int = 4,
                 dim_feedforward: int = 2048, dropout: float = 0.1) -> None:
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"hidden_dim {d_model} is not divisible by nheads {nhead}")
        self.encoder = Encoder(FeatureFusionLayer(d_model, nhead, dim_feedforward, dropout),
                               num_featurefusion_layers)
        self.decoder = Decoder(DecoderCFALayer(d_model, nhead, dim_feedforward, dropout), 1,
                               nn.LayerNorm(d_model))
        self.d_model = d_model
        self.nhead = nhead
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, template: torch.Tensor, search: torch.Tensor, pos_template: torch.Tensor,
                pos_search: torch.Tensor) -> torch.Tensor:
        t, s = template.transpose(0, 1), search.transpose(0, 1)  # [Lt, B, C], [Ls, B, C]
        pt, ps = pos_template.transpose(0, 1), pos_search.transpose(0, 1)
        t, s = self.encoder(t, s, pt, ps)
        hs = self.decoder(s, t, pt, ps)  # [Ls, B, C]
        return hs.transpose(0, 1)  # [B, Ls, C]


def build_featurefusion_network(hidden_dim: int = 256, nheads: int = 8, featurefusion_layers: int = 4,
                                dim_feedforward: int = 2048, dropout: float = 0.1) -> FeatureFusionNetwork:
    return FeatureFusionNetwork(hidden_dim, nheads, featurefusion_layers, dim_feedforward, dropout)
