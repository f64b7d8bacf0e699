"""DiMP family networks (architectures.md 3, 4): DiMP-50, SuperDiMP and TrDiMP.

* ``dimpnet50(**kwargs)``: ltr's factory, same name and keyword arguments; with the released
  DiMP-50 values as defaults. Official ``dimp50.pth`` and ``super_dimp.pth.tar`` record exactly
  this factory (SuperDiMP is ``dimpnet50`` with ``init_gauss_sigma=(1/4/6)*22`` and a frozen
  stem/layer1/layer2; its sizes are DiMP-50's), so both load through it.
* ``super_dimpnet50()``: ``dimpnet50`` with the ``super_dimp`` train-setting arguments.
* ``trdimpnet50(**kwargs)``: SuperDiMP plus the TrDiMP transformer (``classifier.transformer``).
  TransformerTrack / SLTtrack checkpoints record ``dimpnet50`` as well (their ``dimpnet.py``
  always adds the transformer); records naming ``dimpnet50`` whose weights hold
  ``classifier.transformer.*`` keys are rebuilt with ``trdimpnet50`` (see ``register_key_variant``).
* ``dimpnet_tiny`` / ``super_dimpnet_tiny`` / ``trdimpnet_tiny``: the same classes at small widths.

Tracking API (names of the official code, which the DiMP / TrDiMP trackers call):
``extract_backbone_features``, ``extract_classification_feat``, ``get_backbone_clf_feat``,
``get_backbone_bbreg_feat``, ``extract_features``, ``classifier.{get_filter, classify,
filter_optimizer, filter_size, transformer.encoder, transformer.decoder}``,
``bb_regressor.{get_modulation, get_iou_feat, predict_iou}``. Inputs are already normalised
images (the tracker's ``NetWithBackbone.preprocess_image`` does that, as in pytracking).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from ltr_slt.admin.model_constructor import model_constructor, register_key_variant
from ltr_slt.models.dimp.atom_iou_net import AtomIoUNet
from ltr_slt.models.dimp.classifier import (DiMPSteepestDescentGN, FilterInitializerLinear, InstanceL2Norm,
                                            LinearFilter)
from ltr_slt.models.dimp.labels import gaussian_label_function
from ltr_slt.models.dimp.resnet50 import ResNetFull
from ltr_slt.models.dimp.transformer import Transformer

__all__ = ["DiMPnet", "TrDiMPnet", "dimpnet50", "super_dimpnet50", "trdimpnet50", "dimpnet_tiny", "DIMP50_KWARGS",
           "super_dimpnet_tiny", "trdimpnet_tiny", "SUPER_DIMP_KWARGS", "TRDIMP_KWARGS", "FACTORIES",
           "transformer_train_label"]

# The keyword arguments of the official train settings (hyperparams.json), backbone_pretrained aside.
DIMP50_KWARGS: Dict[str, Any] = dict(filter_size=4, optim_iter=5, clf_feat_norm=True, clf_feat_blocks=0,
                                     final_conv=True, out_feature_dim=512, optim_init_step=0.9, optim_init_reg=0.1,
                                     init_gauss_sigma=1 / 4 / 5 * 18, num_dist_bins=100, bin_displacement=0.1,
                                     mask_init_factor=3.0, target_mask_act="sigmoid", score_act="relu")
SUPER_DIMP_KWARGS: Dict[str, Any] = dict(DIMP50_KWARGS, init_gauss_sigma=1 / 4 / 6 * 22,
                                         frozen_backbone_layers=["conv1", "bn1", "layer1", "layer2"])
TRDIMP_KWARGS: Dict[str, Any] = dict(SUPER_DIMP_KWARGS)
# TrDiMP's transformer label: sigma factor and end padding of ``gaussian_label_function``.
TRANSFORMER_LABEL_SIGMA = 0.1


def transformer_train_label(train_bb: torch.Tensor, filter_size: int, feat_sz: int, image_sz: int) -> torch.Tensor:
    """TrDiMP's transformer input labels: train_bb [N, S, 4] xywh -> [N, S, feat_sz, feat_sz]."""
    n, s = train_bb.shape[:2]
    label = gaussian_label_function(train_bb.reshape(-1, 4), TRANSFORMER_LABEL_SIGMA, filter_size, feat_sz, image_sz,
                                    end_pad_if_even=False)
    return label.reshape(n, s, *label.shape[-2:]).to(train_bb.device)


class DiMPnet(nn.Module):
    """Backbone + target classifier + IoU-Net (ltr ``DiMPnet``)."""

    def __init__(self, feature_extractor: nn.Module, classifier: LinearFilter, bb_regressor: AtomIoUNet,
                 classification_layer: Union[str, Sequence[str]] = "layer3",
                 bb_regressor_layer: Sequence[str] = ("layer2", "layer3")) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.classifier = classifier
        self.bb_regressor = bb_regressor
        self.classification_layer = [classification_layer] if isinstance(classification_layer, str) \
            else list(classification_layer)
        self.bb_regressor_layer = list(bb_regressor_layer)
        self.output_layers = sorted(set(self.classification_layer + self.bb_regressor_layer))

    def forward(self, train_imgs: torch.Tensor, test_imgs: torch.Tensor, train_bb: torch.Tensor,
                test_proposals: torch.Tensor, *args, **kwargs) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Training forward.

        train_imgs [N_tr,S,3,H,W], test_imgs [N_te,S,3,H,W], train_bb [N_tr,S,4] xywh,
        test_proposals [N_te,S,P,4] xywh -> (target_scores: num_iter+1 maps [N_te,S,H/16+1,W/16+1],
        one per filter iterate; iou_pred [N_te,S,P]). Extra arguments go to the filter optimizer.
        """
        if train_imgs.dim() != 5 or test_imgs.dim() != 5:
            raise ValueError(f"DiMPnet.forward: expected 5-dim images, got {tuple(train_imgs.shape)} / "
                             f"{tuple(test_imgs.shape)}")
        train_feat = self.extract_backbone_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        test_feat = self.extract_backbone_features(test_imgs.reshape(-1, *test_imgs.shape[-3:]))
        target_scores = self._classify_train(train_imgs, train_feat, test_feat, train_bb, *args, **kwargs)
        iou_pred = self.bb_regressor(self.get_backbone_bbreg_feat(train_feat), self.get_backbone_bbreg_feat(test_feat),
                                     train_bb, test_proposals)  # [N_te, S, P]
        return target_scores, iou_pred

    def _classify_train(self, train_imgs, train_feat, test_feat, train_bb, *args, **kwargs) -> List[torch.Tensor]:
        return self.classifier(self.get_backbone_clf_feat(train_feat), self.get_backbone_clf_feat(test_feat),
                               train_bb, *args, **kwargs)

    def get_backbone_clf_feat(self, backbone_feat: Mapping[str, torch.Tensor]):
        feat = OrderedDict((l, backbone_feat[l]) for l in self.classification_layer)
        return feat[self.classification_layer[0]] if len(self.classification_layer) == 1 else feat

    def get_backbone_bbreg_feat(self, backbone_feat: Mapping[str, torch.Tensor]) -> List[torch.Tensor]:
        return [backbone_feat[l] for l in self.bb_regressor_layer]  # [layer2 [B,512,H/8,W/8], layer3 [B,1024,H/16,W/16]]

    def extract_classification_feat(self, backbone_feat: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.classifier.extract_classification_feat(self.get_backbone_clf_feat(backbone_feat))  # [B,512,h,w]

    def extract_backbone_features(self, im: torch.Tensor, layers: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
        """im [B,3,H,W] (normalised) -> {'layer2': [B,512,H/8,W/8], 'layer3': [B,1024,H/16,W/16]}."""
        return self.feature_extractor(im, self.output_layers if layers is None else list(layers))

    def extract_features(self, im: torch.Tensor, layers: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
        """Backbone layers plus ``'classification'`` (the classifier features), as ltr."""
        layers = list(self.bb_regressor_layer) + ["classification"] if layers is None else list(layers)
        if "classification" not in layers:
            return self.feature_extractor(im, layers)
        backbone_layers = sorted(set(l for l in layers + self.classification_layer if l != "classification"))
        all_feat = self.feature_extractor(im, backbone_layers)
        all_feat["classification"] = self.extract_classification_feat(all_feat)
        return OrderedDict((l, all_feat[l]) for l in layers)


class TrDiMPnet(DiMPnet):
    """DiMPnet whose classifier holds the TrDiMP transformer (architectures.md 4.4)."""

    def forward(self, train_imgs: torch.Tensor, test_imgs: torch.Tensor, train_bb: torch.Tensor,
                test_proposals: torch.Tensor, *args, train_label: Optional[torch.Tensor] = None,
                **kwargs) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """As ``DiMPnet.forward``; ``train_label`` [N_tr,S,h,w] defaults to the official transformer label
        of ``train_bb`` (sigma factor 0.1, no end padding). The official code takes it positionally
        before ``test_proposals``; here it is a keyword so all three networks share one signature."""
        return super().forward(train_imgs, test_imgs, train_bb, test_proposals, *args, train_label=train_label,
                               **kwargs)

    def _classify_train(self, train_imgs, train_feat, test_feat, train_bb, *args, train_label=None, **kwargs):
        if train_label is None:
            feat_sz = self.get_backbone_clf_feat(train_feat).shape[-1]
            train_label = transformer_train_label(train_bb, self.classifier.filter_size, feat_sz, train_imgs.shape[-1])
        return self.classifier(self.get_backbone_clf_feat(train_feat), self.get_backbone_clf_feat(test_feat),
                               train_bb, *args, train_label=train_label, **kwargs)

    def transformer_label(self, target_bb: torch.Tensor, feat_sz: int, image_sz: int) -> torch.Tensor:
        """Labels as the TrDiMP tracker builds them: target_bb [N, 4] -> [N, 1, feat_sz, feat_sz]."""
        return transformer_train_label(target_bb.reshape(-1, 1, 4), self.classifier.filter_size, feat_sz, image_sz)


def _check_supported(classification_layer: str, clf_feat_blocks: int, clf_feat_norm: bool, final_conv: bool) -> None:
    """Only the configuration every released DiMP-family model uses is implemented; say so otherwise."""
    bad = {k: v for k, v, ok in (("classification_layer", classification_layer, classification_layer == "layer3"),
                                 ("clf_feat_blocks", clf_feat_blocks, clf_feat_blocks == 0),
                                 ("clf_feat_norm", clf_feat_norm, bool(clf_feat_norm)),
                                 ("final_conv", final_conv, bool(final_conv))) if not ok}
    if bad:
        raise ValueError(f"dimpnet: unsupported constructor arguments {bad} (implemented: classification_layer="
                         "'layer3', clf_feat_blocks=0, clf_feat_norm=True, final_conv=True, as all released models)")


def _build(backbone_layers: Sequence[int], width: int, filter_size: int, optim_iter: int, optim_init_step: float,
           optim_init_reg: float, feat_stride: int, init_filter_norm: bool, out_feature_dim: int,
           init_gauss_sigma: float, num_dist_bins: int, bin_displacement: float, mask_init_factor: float,
           iou_input_dim: Sequence[int], iou_inter_dim: Sequence[int], score_act: str, act_param: Any,
           target_mask_act: str, detach_length: float, frozen_backbone_layers, transformer: bool,
           transformer_key_dim: int = 128, backbone_pretrained_path: Optional[str] = None) -> DiMPnet:
    """Build in the official module-creation order (backbone, clf features, initializer, optimizer,
    transformer, classifier, IoU-Net) so that seeded initialisations match ltr's."""
    backbone = ResNetFull(backbone_layers, width, frozen_layers=frozen_backbone_layers)
    if backbone_pretrained_path:
        from ltr_slt.models.backbone.resnet import load_imagenet_weights
        load_imagenet_weights(backbone, backbone_pretrained_path)
    norm_scale = math.sqrt(1.0 / (out_feature_dim * filter_size * filter_size))
    clf_features = nn.Sequential(nn.Conv2d(16 * width, out_feature_dim, 3, padding=1, bias=False),
                                 InstanceL2Norm(scale=norm_scale))  # [B, C3, h, w] -> [B, D, h, w]
    initializer = FilterInitializerLinear(filter_size, out_feature_dim, feat_stride, filter_norm=init_filter_norm)
    optimizer = DiMPSteepestDescentGN(num_iter=optim_iter, feat_stride=feat_stride, init_step_length=optim_init_step,
                                      init_filter_reg=optim_init_reg, init_gauss_sigma=init_gauss_sigma,
                                      num_dist_bins=num_dist_bins, bin_displacement=bin_displacement,
                                      mask_init_factor=mask_init_factor, score_act=score_act, act_param=act_param,
                                      mask_act=target_mask_act, detach_length=detach_length)
    tf = Transformer(d_model=out_feature_dim, nhead=1, num_layers=1, key_feature_dim=transformer_key_dim) \
        if transformer else None
    classifier = LinearFilter(filter_size, initializer, optimizer, clf_features, transformer=tf)
    # ltr's LinearFilter re-initialises the feature conv after the other parts exist
    clf_features[0].weight.data.normal_(0, math.sqrt(2.0 / (9 * out_feature_dim)))
    bb = AtomIoUNet(input_dim=(8 * width, 16 * width), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    cls = TrDiMPnet if transformer else DiMPnet
    return cls(backbone, classifier, bb, classification_layer="layer3", bb_regressor_layer=("layer2", "layer3"))


def _backbone_weights(backbone_pretrained: bool, backbone_pretrained_path: Optional[str]) -> Optional[str]:
    if not backbone_pretrained:
        return None
    if backbone_pretrained_path:
        return backbone_pretrained_path
    from ltr_slt.models.tracking.transt import _imagenet_weights_path  # same lookup as TransT
    return _imagenet_weights_path(None)


def _dimp_r50(transformer: bool, filter_size: int, optim_iter: int, optim_init_step: float, optim_init_reg: float,
              classification_layer: str, feat_stride: int, backbone_pretrained: bool, clf_feat_blocks: int,
              clf_feat_norm: bool, init_filter_norm: bool, final_conv: bool, out_feature_dim: int,
              init_gauss_sigma: float, num_dist_bins: int, bin_displacement: float, mask_init_factor: float,
              iou_input_dim, iou_inter_dim, score_act: str, act_param, target_mask_act: str, detach_length: float,
              frozen_backbone_layers, backbone_pretrained_path: Optional[str]) -> DiMPnet:
    _check_supported(classification_layer, clf_feat_blocks, clf_feat_norm, final_conv)
    return _build((3, 4, 6, 3), 64, filter_size, optim_iter, optim_init_step, optim_init_reg, feat_stride,
                  init_filter_norm, out_feature_dim, init_gauss_sigma, num_dist_bins, bin_displacement,
                  mask_init_factor, iou_input_dim, iou_inter_dim, score_act, act_param, target_mask_act, detach_length,
                  frozen_backbone_layers, transformer,
                  backbone_pretrained_path=_backbone_weights(backbone_pretrained, backbone_pretrained_path))


@model_constructor
def dimpnet50(filter_size: int = 4, optim_iter: int = 5, optim_init_step: float = 0.9, optim_init_reg: float = 0.1,
              classification_layer: str = "layer3", feat_stride: int = 16, backbone_pretrained: bool = False,
              clf_feat_blocks: int = 0, clf_feat_norm: bool = True, init_filter_norm: bool = False,
              final_conv: bool = True, out_feature_dim: int = 512, init_gauss_sigma: float = 0.9,
              num_dist_bins: int = 100, bin_displacement: float = 0.1, mask_init_factor: float = 3.0,
              iou_input_dim: Sequence[int] = (256, 256), iou_inter_dim: Sequence[int] = (256, 256),
              score_act: str = "relu", act_param: Any = None, target_mask_act: str = "sigmoid",
              detach_length: float = float("inf"), frozen_backbone_layers: Union[Sequence[str], str] = (),
              backbone_pretrained_path: Optional[str] = None) -> DiMPnet:
    """DiMP-50 (architectures.md 3.1): ltr's ``dimpnet50`` arguments, released DiMP-50 values as defaults.

    ``backbone_pretrained=True`` loads local ImageNet ResNet-50 weights (``backbone_pretrained_path``
    or the ``pretrained_networks`` directory; nothing is downloaded).
    """
    return _dimp_r50(False, filter_size, optim_iter, optim_init_step, optim_init_reg, classification_layer,
                     feat_stride, backbone_pretrained, clf_feat_blocks, clf_feat_norm, init_filter_norm, final_conv,
                     out_feature_dim, init_gauss_sigma, num_dist_bins, bin_displacement, mask_init_factor,
                     iou_input_dim, iou_inter_dim, score_act, act_param, target_mask_act, detach_length,
                     frozen_backbone_layers, backbone_pretrained_path)


def super_dimpnet50(**overrides: Any) -> DiMPnet:
    """SuperDiMP: ``dimpnet50`` with the ``super_dimp`` train-setting arguments (records ``dimpnet50``,
    exactly as the official ``super_dimp.pth.tar`` does)."""
    return dimpnet50(**dict(SUPER_DIMP_KWARGS, **overrides))


@model_constructor
def trdimpnet50(filter_size: int = 4, optim_iter: int = 5, optim_init_step: float = 0.9, optim_init_reg: float = 0.1,
                classification_layer: str = "layer3", feat_stride: int = 16, backbone_pretrained: bool = False,
                clf_feat_blocks: int = 0, clf_feat_norm: bool = True, init_filter_norm: bool = False,
                final_conv: bool = True, out_feature_dim: int = 512, init_gauss_sigma: float = 1 / 4 / 6 * 22,
                num_dist_bins: int = 100, bin_displacement: float = 0.1, mask_init_factor: float = 3.0,
                iou_input_dim: Sequence[int] = (256, 256), iou_inter_dim: Sequence[int] = (256, 256),
                score_act: str = "relu", act_param: Any = None, target_mask_act: str = "sigmoid",
                detach_length: float = float("inf"),
                frozen_backbone_layers: Union[Sequence[str], str] = ("conv1", "bn1", "layer1", "layer2"),
                backbone_pretrained_path: Optional[str] = None) -> TrDiMPnet:
    """TrDiMP (architectures.md 4): the TransformerTrack / SLTtrack ``dimpnet50`` (SuperDiMP + transformer),
    with the released TrDiMP values as defaults."""
    return _dimp_r50(True, filter_size, optim_iter, optim_init_step, optim_init_reg, classification_layer,
                     feat_stride, backbone_pretrained, clf_feat_blocks, clf_feat_norm, init_filter_norm, final_conv,
                     out_feature_dim, init_gauss_sigma, num_dist_bins, bin_displacement, mask_init_factor,
                     iou_input_dim, iou_inter_dim, score_act, act_param, target_mask_act, detach_length,
                     frozen_backbone_layers, backbone_pretrained_path)


def _tiny(transformer: bool, width: int, out_feature_dim: int, num_dist_bins: int, optim_iter: int,
          init_gauss_sigma: float, frozen_backbone_layers) -> DiMPnet:
    return _build((1, 1, 1, 1), width, 4, optim_iter, 0.9, 0.1, 16, False, out_feature_dim, init_gauss_sigma,
                  num_dist_bins, 0.5, 3.0, (16, 16), (16, 16), "relu", None, "sigmoid", float("inf"),
                  frozen_backbone_layers, transformer, transformer_key_dim=8)


@model_constructor
def dimpnet_tiny(width: int = 8, out_feature_dim: int = 16, num_dist_bins: int = 10, optim_iter: int = 2) -> DiMPnet:
    """DiMP-50's classes at small widths (one block per layer) for tests, the demo and CPU runs."""
    return _tiny(False, width, out_feature_dim, num_dist_bins, optim_iter, 0.9, ())


@model_constructor
def super_dimpnet_tiny(width: int = 8, out_feature_dim: int = 16, num_dist_bins: int = 10,
                       optim_iter: int = 2) -> DiMPnet:
    """SuperDiMP's configuration (frozen stem/layer1/layer2) at small widths."""
    return _tiny(False, width, out_feature_dim, num_dist_bins, optim_iter, 1 / 4 / 6 * 22,
                 SUPER_DIMP_KWARGS["frozen_backbone_layers"])


@model_constructor
def trdimpnet_tiny(width: int = 8, out_feature_dim: int = 16, num_dist_bins: int = 10,
                   optim_iter: int = 2) -> TrDiMPnet:
    """TrDiMP's classes (with the transformer, key dim 8) at small widths."""
    return _tiny(True, width, out_feature_dim, num_dist_bins, optim_iter, 1 / 4 / 6 * 22,
                 TRDIMP_KWARGS["frozen_backbone_layers"])


def _has_transformer(state_keys) -> bool:
    return any(k.startswith(("classifier.transformer.", "module.classifier.transformer.")) for k in state_keys)


# TransformerTrack / SLTtrack record ``ltr.models.tracking.dimpnet.dimpnet50`` for TrDiMP.
register_key_variant(__name__, "dimpnet50", _has_transformer, __name__, "trdimpnet50")

FACTORIES = (dimpnet50, trdimpnet50, dimpnet_tiny, super_dimpnet_tiny, trdimpnet_tiny)
