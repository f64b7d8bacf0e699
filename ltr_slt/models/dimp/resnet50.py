"""Standard ResNet-50 (strides 4/8/16/32, layer4 + fc kept for the state dict) returning named layers.

``frozen_layers`` mirrors ltr's ``Backbone``: the named children get ``requires_grad=False`` and
stay in eval mode (BatchNorm statistics fixed) whenever the network is put in train mode.
"""
from __future__ import annotations

from typing import Dict, Sequence, Union

import torch
import torch.nn as nn

from ltr_slt.models.backbone.resnet import Bottleneck, ResNetBase


class ResNetFull(ResNetBase):
    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), width: int = 64, num_classes: int = 1000,
                 frozen_layers: Union[Sequence[str], str] = ()) -> None:
        super().__init__()
        self.frozen_layers = frozen_layers if isinstance(frozen_layers, str) else tuple(frozen_layers)
        self._build_stem(width)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width * Bottleneck.expansion, num_classes)
        self._init_weights()
        self._freeze()

    def _frozen_modules(self):
        if isinstance(self.frozen_layers, str):
            if self.frozen_layers.lower() != "all":
                raise ValueError(f"frozen_backbone_layers: '{self.frozen_layers}' is not 'all' or a list of layer names")
            return [self]
        unknown = [n for n in self.frozen_layers if not isinstance(getattr(self, n, None), nn.Module)]
        if unknown:
            raise ValueError(f"frozen_backbone_layers: unknown layer(s) {unknown} (use conv1, bn1, layer1..layer4, fc)")
        return [getattr(self, n) for n in self.frozen_layers]

    def _freeze(self) -> None:
        for module in self._frozen_modules():
            for p in module.parameters():
                p.requires_grad_(False)

    def set_frozen_layers(self, layers: Union[Sequence[str], str]) -> None:
        """Freeze ``layers`` (no gradient; eval mode whenever the net trains)."""
        self.frozen_layers = layers if isinstance(layers, str) else tuple(layers)
        self._freeze()
        if self.training:
            self.train(True)

    def train(self, mode: bool = True) -> "ResNetFull":
        super().train(mode)
        if mode:
            for module in self._frozen_modules():
                module.eval()
        return self


    def forward(self, x: torch.Tensor, output_layers: Sequence[str] = ("layer2", "layer3")) -> Dict[str, torch.Tensor]:
        out: Dict[str, torch.Tensor] = {}
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # [B, w, H/4, W/4]
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = getattr(self, name)(x)  # layer2 [B,8w,H/8,W/8], layer3 [B,16w,H/16,W/16]
            if name in output_layers:
                out[name] = x
            if len(out) == len(output_layers):
                break
        return out
