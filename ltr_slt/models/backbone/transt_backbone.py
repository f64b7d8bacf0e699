"""Backbone wrappers giving TransT's state-dict prefix ``backbone.0.body.*``.

TransT (after DETR) wraps the ResNet in ``Backbone`` (attribute ``body``) and joins it with the
parameter-free position encoding in a ``Sequential`` -- hence the ``0`` in the key names.
"""
from __future__ import annotations

import torch
from torch import nn

from ltr_slt.models.backbone.resnet import ResNet123

__all__ = ["Backbone", "Joiner"]


class Backbone(nn.Module):
    def __init__(self, body: ResNet123) -> None:
        super().__init__()
        self.body = body
        self.num_channels = body.out_channels
        self.stride = body.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # [B, num_channels, H/8, W/8]


class Joiner(nn.Sequential):
    """``Sequential(backbone, position_embedding)``; ``forward`` returns (features, pos)."""

    def __init__(self, backbone: Backbone, position_embedding: nn.Module) -> None:
        super().__init__(backbone, position_embedding)
        self.num_channels = backbone.num_channels
        self.stride = backbone.stride

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        feat = self[0](x)  # [B, C, h, w]
        pos = self[1](feat)  # [B, D, h, w]
        return feat, pos
