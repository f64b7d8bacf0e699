"""ResNet body of TransT: ltr's "ResNet123" (stem + layer1..layer3, layer3 at stride 1).

torchvision-v1.5 style bottlenecks (stride on the 3x3 conv). Only the *first* layer3 block is
dilated (2), the others are plain 3x3 convs; the total stride is 8, so a 256 crop gives a 32x32
map. Depth per layer and width are parameters so tests can build a tiny net from the same class.
"""
from __future__ import annotations

import logging
import math
import os
from typing import Optional, Sequence

import torch
from torch import nn

logger = logging.getLogger(__name__)

__all__ = ["Bottleneck", "ResNetBase", "ResNet123", "resnet50_layer3", "load_imagenet_weights"]


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride, dilation) -> 1x1 (x4), residual add, ReLU."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample  # a module (state-dict keys) only in first blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetBase(nn.Module):
    """The parts every ResNet body here shares: the stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool), bottleneck
    stages and ltr's initialisation. Modules are created in ltr's order, so a seeded build draws the same
    initial weights as ltr's."""

    def _build_stem(self, width: int) -> None:
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, kernel_size=1, stride=stride,
                          bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        # Only the first block carries stride and dilation (as in ltr).
        layer = [Bottleneck(self.inplanes, planes, stride, downsample, dilation)]
        self.inplanes = planes * Bottleneck.expansion
        layer += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layer)

    def _init_weights(self) -> None:
        """ltr's ResNet initialisation: conv N(0, sqrt(2 / (k*k*out))), BN weight 1 / bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()


class ResNet123(ResNetBase):
    """Stem + layer1..layer3; output = layer3 with ``out_channels = 4 * 4 * width`` at stride 8.

    Args:
        layers: blocks in layer1, layer2, layer3 ((3, 4, 6) for ResNet-50).
        width: planes of layer1 (64 for ResNet-50); layer2/3 use 2x/4x.
    """

    stride = 8

    def __init__(self, layers: Sequence[int] = (3, 4, 6), width: int = 64) -> None:
        super().__init__()
        if len(layers) != 3 or min(layers) < 1:
            raise ValueError(f"ResNet123 needs 3 positive block counts, got layers={tuple(layers)}")
        self._build_stem(width)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(4 * width, layers[2], stride=1, dilation=2)
        self.out_channels = 4 * width * Bottleneck.expansion
        self._init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # [B, w, H/4, W/4]
        x = self.layer1(x)  # [B, 4w, H/4, W/4]
        x = self.layer2(x)  # [B, 8w, H/8, W/8]
        return self.layer3(x)  # [B, 16w, H/8, W/8]


def load_imagenet_weights(body: ResNet123, path: str | os.PathLike) -> None:
    """Load torchvision-style ImageNet ResNet weights; layer4/fc entries are ignored."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ImageNet backbone weights not found: '{path}'")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt file, foreign pickle
        raise RuntimeError(f"cannot read ImageNet backbone weights '{path}': {err}") from err
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    own = body.state_dict()
    state = {k: v for k, v in state.items() if k in own}
    missing = sorted(set(own) - set(state))
    # num_batches_tracked is absent from old torchvision files: harmless.
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing:
        raise RuntimeError(f"ImageNet weights '{path}' lack {len(missing)} backbone entries, "
                           f"e.g. {missing[:3]}")
    body.load_state_dict(state, strict=False)
    logger.info("loaded ImageNet backbone weights from %s", path)


def resnet50_layer3(pretrained_path: Optional[str] = None) -> ResNet123:
    """ResNet-50 up to layer3 (1024 channels, stride 8), optionally with ImageNet weights."""
    body = ResNet123((3, 4, 6), 64)
    if pretrained_path:
        load_imagenet_weights(body, pretrained_path)
    return body
