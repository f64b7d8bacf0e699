"""Standard ResNet-50 (strides 4/8/16/32, layer4 + fc kept for the state dict) returning named layers.

``frozen_layers`` mirrors ltr's ``Backbone``: the named children get ``requires_grad=False`` and
stay in eval mode (BatchNorm statistics fixed) whenever the network is put in train mode.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Union

import torch
import torch.nn as nn

from ltr_slt.models.backbone.resnet import Bottleneck


class ResNetFull(nn.Module):
    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), width: int = 64, num_classes: int = 1000,
                 frozen_layers: Union[Sequence[str], str] = ()) -> None:
        super().__init__()
        self.frozen_layers = frozen_layers if isinstance(frozen_layers, str) else tuple(frozen_layers)
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
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

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion))
        layer = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layer += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layer)

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
