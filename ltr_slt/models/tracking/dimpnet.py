"""DiMP network (architectures.md 3): ResNet-50 + linear-filter classifier + ATOM IoU-Net."""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from ltr_slt.admin.model_constructor import model_constructor
from ltr_slt.models.dimp.atom_iou_net import AtomIoUNet
from ltr_slt.models.dimp.classifier import (DiMPSteepestDescentGN, FilterInitializerLinear, InstanceL2Norm,
                                            LinearFilter)
from ltr_slt.models.dimp.resnet50 import ResNetFull


class DiMPnet(nn.Module):
    def __init__(self, feature_extractor: nn.Module, classifier: LinearFilter, bb_regressor: AtomIoUNet,
                 classification_layer: str = "layer3", bb_regressor_layer: Sequence[str] = ("layer2", "layer3")) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.classifier = classifier
        self.bb_regressor = bb_regressor
        self.classification_layer = classification_layer
        self.bb_regressor_layer = tuple(bb_regressor_layer)
        self.output_layers = tuple(sorted(set((classification_layer,) + self.bb_regressor_layer)))

    def forward(self, train_imgs: torch.Tensor, test_imgs: torch.Tensor, train_bb: torch.Tensor,
                test_proposals: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """train_imgs [N_tr,S,3,H,W], test_imgs [N_te,S,3,H,W], train_bb [N_tr,S,4], test_proposals [N_te,S,P,4]
        -> (target_scores: list of num_iter+1 x [N_te,S,H/16+1,W/16+1], iou_pred [N_te,S,P])."""
        train_feat = self.extract_backbone_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        test_feat = self.extract_backbone_features(test_imgs.reshape(-1, *test_imgs.shape[-3:]))
        target_scores = self.classifier(train_feat[self.classification_layer], test_feat[self.classification_layer],
                                        train_bb)
        iou_pred = self.bb_regressor([train_feat[l] for l in self.bb_regressor_layer],
                                     [test_feat[l] for l in self.bb_regressor_layer], train_bb, test_proposals)
        return target_scores, iou_pred

    def extract_backbone_features(self, im: torch.Tensor, layers=None) -> Dict[str, torch.Tensor]:
        """im [B,3,H,W] -> {'layer2': [B,512,H/8,W/8], 'layer3': [B,1024,H/16,W/16]}."""
        return self.feature_extractor(im, self.output_layers if layers is None else layers)

    def extract_classification_feat(self, backbone_feat: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.classifier.extract_classification_feat(backbone_feat[self.classification_layer])  # [B,512,h,w]

    def get_backbone_bbreg_feat(self, backbone_feat: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        return [backbone_feat[l] for l in self.bb_regressor_layer]


def _build(backbone_layers, width, filter_size, optim_iter, optim_init_step, optim_init_reg, out_feature_dim,
           init_gauss_sigma, num_dist_bins, bin_displacement, mask_init_factor, iou_input_dim, iou_inter_dim,
           feat_stride=16) -> DiMPnet:
    backbone = ResNetFull(backbone_layers, width)
    c3 = 16 * width
    feat = nn.Sequential(nn.Conv2d(c3, out_feature_dim, 3, padding=1, bias=False),
                         InstanceL2Norm(scale=math.sqrt(1.0 / (out_feature_dim * filter_size * filter_size))))
    feat[0].weight.data.normal_(0, math.sqrt(2.0 / (9 * out_feature_dim)))
    init = FilterInitializerLinear(filter_size, out_feature_dim, feat_stride)
    optim = DiMPSteepestDescentGN(num_iter=optim_iter, feat_stride=feat_stride, init_step_length=optim_init_step,
                                  init_filter_reg=optim_init_reg, init_gauss_sigma=init_gauss_sigma,
                                  num_dist_bins=num_dist_bins, bin_displacement=bin_displacement,
                                  mask_init_factor=mask_init_factor)
    classifier = LinearFilter(filter_size, init, optim, feat)
    bb = AtomIoUNet(input_dim=(8 * width, 16 * width), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return DiMPnet(backbone, classifier, bb)


@model_constructor
def dimpnet50(filter_size: int = 4, optim_iter: int = 5, optim_init_step: float = 0.9, optim_init_reg: float = 0.1,
              out_feature_dim: int = 512, init_gauss_sigma: float = 0.9, num_dist_bins: int = 100,
              bin_displacement: float = 0.1, mask_init_factor: float = 3.0,
              iou_input_dim: Sequence[int] = (256, 256), iou_inter_dim: Sequence[int] = (256, 256),
              **unused) -> DiMPnet:
    """DiMP-50 as released (architectures.md 3.1); extra ltr kwargs (clf_feat_blocks=0, ...) are accepted."""
    return _build((3, 4, 6, 3), 64, filter_size, optim_iter, optim_init_step, optim_init_reg, out_feature_dim,
                  init_gauss_sigma, num_dist_bins, bin_displacement, mask_init_factor, iou_input_dim, iou_inter_dim)


@model_constructor
def klcedimpnet50(filter_size: int = 4, optim_iter: int = 5, optim_init_step: float = 1.0,
                  optim_init_reg: float = 0.05, out_feature_dim: int = 512, init_gauss_sigma: float = 1.0,
                  num_dist_bins: int = 100, bin_displacement: float = 0.1, mask_init_factor: float = 3.0,
                  iou_input_dim: Sequence[int] = (256, 256), iou_inter_dim: Sequence[int] = (256, 256),
                  **unused) -> DiMPnet:
    """SuperDiMP-style network (here: same classifier modules as DiMP-50; see report)."""
    return _build((3, 4, 6, 3), 64, filter_size, optim_iter, optim_init_step, optim_init_reg, out_feature_dim,
                  init_gauss_sigma, num_dist_bins, bin_displacement, mask_init_factor, iou_input_dim, iou_inter_dim)


def dimpnet_tiny(width: int = 8, out_feature_dim: int = 16, num_dist_bins: int = 10) -> DiMPnet:
    """Small-channel variant for fast tests."""
    return _build((1, 1, 1, 1), width, 4, 2, 0.9, 0.1, out_feature_dim, 0.9, num_dist_bins, 0.5, 3.0,
                  (16, 16), (16, 16))


FACTORIES = (dimpnet50, klcedimpnet50)
