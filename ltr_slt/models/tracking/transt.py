"""TransT (Chen et al., CVPR 2021) with the official state-dict layout, plus tiny variants.

The network is split so tracking pays for the template only once:

* ``encode_template(z) -> TemplateFeatures``: backbone + input projection + position encoding of
  the template (the fusion network mixes both branches, so nothing later can be cached).
* ``track_from(template_features, x)``: the search branch, fusion and heads.
* ``forward(search, template)`` = both; ``template(z)`` / ``track(x)`` keep the official cached API.

Outputs: ``pred_logits`` [B, HW, 2] (channel 0 = target, 1 = background) and ``pred_boxes``
[B, HW, 4] (cx, cy, w, h normalised by the search crop side). Token n is feature cell
``divmod(n, feature_size)``. Inputs are ImageNet-normalised float images.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

import torch
from torch import nn

from ltr_slt.admin.model_constructor import model_constructor
from ltr_slt.models.backbone.resnet import ResNet123, load_imagenet_weights
from ltr_slt.models.backbone.transt_backbone import Backbone, Joiner
from ltr_slt.models.neck.featurefusion_network import FeatureFusionNetwork
from ltr_slt.models.neck.position_encoding import build_position_encoding
from ltr_slt.models.tracking.heads import MLP

logger = logging.getLogger(__name__)

__all__ = ["TemplateFeatures", "TransTConfig", "TransT", "build_transt", "transt_resnet50",
           "transt_tiny", "TINY_CONFIG", "IMAGENET_WEIGHT_FILES"]

# File names looked up in ``pretrained_networks`` for ImageNet ResNet-50 weights.
IMAGENET_WEIGHT_FILES = ("resnet50-19c8e357.pth", "resnet50-0676ba61.pth", "resnet50.pth")


@dataclass
class TemplateFeatures:
    """Encoded templates, batch first: ``feat`` and ``pos`` are [B, Lt, C] token tensors."""

    feat: torch.Tensor  # [B, Lt, C] projected template features
    pos: torch.Tensor  # [B, Lt, C] template position encoding

    def __len__(self) -> int:
        return self.feat.shape[0]

    @property
    def batch_size(self) -> int:
        return self.feat.shape[0]

    def _map(self, fn) -> "TemplateFeatures":
        return TemplateFeatures(*(fn(getattr(self, f.name)) for f in dataclasses.fields(self)))

    def repeat(self, k: int) -> "TemplateFeatures":
        """Tile the batch k times: [a, b] -> [a, b, a, b] (like ``Tensor.repeat``)."""
        return self._map(lambda t: t.repeat(k, *([1] * (t.dim() - 1))))

    def repeat_interleave(self, k: int) -> "TemplateFeatures":
        """Repeat each sample k times in place: [a, b] -> [a, a, b, b]."""
        return self._map(lambda t: t.repeat_interleave(k, dim=0))

    def index_select(self, idx: torch.Tensor | Sequence[int]) -> "TemplateFeatures":
        """Pick samples along the batch dim (idx may repeat entries)."""
        idx = torch.as_tensor(idx, dtype=torch.long, device=self.feat.device)
        return self._map(lambda t: t.index_select(0, idx))

    def to(self, *args: Any, **kwargs: Any) -> "TemplateFeatures":
        return self._map(lambda t: t.to(*args, **kwargs))

    def detach(self) -> "TemplateFeatures":
        return self._map(lambda t: t.detach())

    @staticmethod
    def cat(items: Sequence["TemplateFeatures"]) -> "TemplateFeatures":
        return TemplateFeatures(*(torch.cat([getattr(i, f.name) for i in items], 0)
                                  for f in dataclasses.fields(TemplateFeatures)))


@dataclass
class TransTConfig:
    """Size of a TransT; the defaults are the published TransT-R50."""

    backbone_layers: tuple = (3, 4, 6)  # bottleneck blocks in layer1..layer3
    backbone_width: int = 64  # layer1 planes; output channels = 16 * width
    hidden_dim: int = 256
    nheads: int = 8
    dim_feedforward: int = 2048
    featurefusion_layers: int = 4
    dropout: float = 0.1
    position_embedding: str = "sine"
    template_size: int = 128
    search_size: int = 256

    def __post_init__(self) -> None:
        self.backbone_layers = tuple(int(n) for n in self.backbone_layers)
        for name in ("template_size", "search_size"):
            size = getattr(self, name)
            if size % ResNet123.stride:
                raise ValueError(f"TransTConfig.{name}={size} must be a multiple of {ResNet123.stride}")


# Tiny TransT for tests and the CPU demo: same classes, same 128/256 crops and 32x32 search
# grid (so trackers and policies need no change), ~0.2M parameters.
TINY_CONFIG = TransTConfig(backbone_layers=(1, 1, 1), backbone_width=8, hidden_dim=32, nheads=2,
                           dim_feedforward=64, featurefusion_layers=1, dropout=0.1)


class TransT(nn.Module):
    """Backbone -> input projection -> feature fusion -> class / box heads."""

    def __init__(self, backbone: Joiner, featurefusion_network: FeatureFusionNetwork,
                 num_classes: int = 1, template_size: int = 128, search_size: int = 256) -> None:
        super().__init__()
        hidden_dim = featurefusion_network.d_model
        # Registration order = official state-dict order.
        self.featurefusion_network = featurefusion_network
        self.class_embed = MLP(hidden_dim, hidden_dim, num_classes + 1, 3)
        self.bbox_embed = MLP(hidden_dim, hidden_dim, 4, 3)
        self.input_proj = nn.Conv2d(backbone.num_channels, hidden_dim, kernel_size=1)
        self.backbone = backbone
        self.template_size = template_size
        self.search_size = search_size
        self.stride = backbone.stride
        self.feature_size = search_size // backbone.stride  # search grid side (32 for 256)
        self.template_feature_size = template_size // backbone.stride
        self._cached_template: Optional[TemplateFeatures] = None

    # -- building blocks -------------------------------------------------------------------
    def _tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat, pos = self.backbone(images)  # [B, Cb, h, w], [B, C, h, w]
        feat = self.input_proj(feat)  # [B, C, h, w]
        return feat.flatten(2).transpose(1, 2), pos.flatten(2).transpose(1, 2)  # [B, hw, C] x2

    def encode_template(self, z: torch.Tensor) -> TemplateFeatures:
        """Template branch for z [B, 3, Ht, Wt] -> TemplateFeatures ([B, Lt, C] tensors)."""
        feat, pos = self._tokens(z)
        return TemplateFeatures(feat, pos)

    def track_from(self, template_features: TemplateFeatures, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Search branch for x [B, 3, Hs, Ws] against matching template features (same B)."""
        if len(template_features) != x.shape[0]:
            raise ValueError(f"template features hold {len(template_features)} samples but the search "
                             f"batch has {x.shape[0]}; use TemplateFeatures.repeat/index_select")
        s, ps = self._tokens(x)  # [B, Ls, C]
        hs = self.featurefusion_network(template_features.feat, s, template_features.pos, ps)  # [B, Ls, C]
        return {"pred_logits": self.class_embed(hs),  # [B, Ls, 2]
                "pred_boxes": self.bbox_embed(hs).sigmoid()}  # [B, Ls, 4]

    def forward(self, search: torch.Tensor, template: torch.Tensor) -> Dict[str, torch.Tensor]:
        return self.track_from(self.encode_template(template), search)

    # -- official-style cached API ---------------------------------------------------------
    def template(self, z: torch.Tensor) -> None:
        """Encode and cache the template for later ``track`` calls (official TransT API)."""
        self._cached_template = self.encode_template(z)

    def track(self, search: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self._cached_template is None:
            raise RuntimeError("TransT.track called before TransT.template(z)")
        return self.track_from(self._cached_template, search)

    def extract_backbone_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone[0](images)


def build_transt(config: TransTConfig | None = None, backbone_pretrained_path: Optional[str] = None,
                 **overrides: Any) -> TransT:
    """Build a TransT of any size (no constructor record: use the decorated factories for that)."""
    config = dataclasses.replace(config or TransTConfig(), **overrides)
    body = ResNet123(config.backbone_layers, config.backbone_width)
    if backbone_pretrained_path:
        load_imagenet_weights(body, backbone_pretrained_path)
    backbone = Joiner(Backbone(body), build_position_encoding(config.hidden_dim, config.position_embedding))
    fusion = FeatureFusionNetwork(config.hidden_dim, config.nheads, config.featurefusion_layers,
                                  config.dim_feedforward, config.dropout)
    net = TransT(backbone, fusion, num_classes=1, template_size=config.template_size,
                 search_size=config.search_size)
    net.config = config
    return net


def _imagenet_weights_path(settings: Any) -> str:
    """ImageNet ResNet-50 weights: ``settings.backbone_pretrained_path``, else ``pretrained_networks``."""
    explicit = getattr(settings, "backbone_pretrained_path", None)
    if explicit:
        if not os.path.isfile(explicit):
            raise FileNotFoundError(f"settings.backbone_pretrained_path='{explicit}' does not exist")
        return explicit
    dirs = []
    env = getattr(settings, "env", None)
    if getattr(env, "pretrained_networks", ""):
        dirs.append(env.pretrained_networks)
    from ltr_slt.admin.environment import env_settings  # lazy: reads config files
    if env_settings().pretrained_networks:
        dirs.append(env_settings().pretrained_networks)
    tried = [os.path.join(d, name) for d in dirs for name in IMAGENET_WEIGHT_FILES]
    for path in tried:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        "backbone_pretrained=True but no local ImageNet ResNet-50 weights were found (nothing is "
        f"downloaded). Tried: {tried or 'no pretrained_networks directory configured'}. Put "
        f"{IMAGENET_WEIGHT_FILES[0]} into the pretrained_networks directory or set "
        "settings.backbone_pretrained_path.")


# The settings attributes the official ``transt_resnet50(settings)`` reads, at the released values.
R50_SETTINGS = {"position_embedding": "sine", "hidden_dim": 256, "dropout": 0.1, "nheads": 8,
                "dim_feedforward": 2048, "featurefusion_layers": 4}


def set_r50_settings(settings: Any) -> Any:
    """Write the released TransT-R50 architecture attributes onto a train-settings object."""
    for name, value in R50_SETTINGS.items():
        setattr(settings, name, value)
    return settings


@model_constructor
def transt_resnet50(settings: Any = None, backbone_pretrained: bool = False) -> TransT:
    """TransT-R50 reading the official settings attributes (getattr defaults = released model)."""
    config = TransTConfig(
        hidden_dim=int(getattr(settings, "hidden_dim", 256)),
        nheads=int(getattr(settings, "nheads", 8)),
        dim_feedforward=int(getattr(settings, "dim_feedforward", 2048)),
        featurefusion_layers=int(getattr(settings, "featurefusion_layers", 4)),
        dropout=float(getattr(settings, "dropout", 0.1)),
        position_embedding=str(getattr(settings, "position_embedding", "sine")),
    )
    path = _imagenet_weights_path(settings) if backbone_pretrained else None
    return build_transt(config, backbone_pretrained_path=path)


@model_constructor
def transt_tiny(settings: Any = None, **overrides: Any) -> TransT:
    """Tiny TransT (``TINY_CONFIG`` + overrides, any ``TransTConfig`` field) for tests and demos."""
    overrides.pop("backbone_pretrained", None)  # pytracking's loader passes it; tiny has no weights
    return build_transt(TINY_CONFIG, **overrides)
