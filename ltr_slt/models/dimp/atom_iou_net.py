"""ATOM IoU-Net (architectures.md 3.5)."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn

from ltr_slt.models.dimp.classifier import xywh_to_rois
from ltr_slt.models.layers.prroi_pool import PrRoIPool2D


def conv_bn_relu(cin: int, cout: int, k: int = 3, pad: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=pad, bias=True), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class LinearBlock(nn.Module):
    def __init__(self, in_planes: int, out_planes: int, input_sz: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_planes * input_sz * input_sz, out_planes)
        self.bn = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x.reshape(x.shape[0], -1))
        return self.relu(self.bn(x.reshape(x.shape[0], x.shape[1], 1, 1)))  # [N, out, 1, 1]


class AtomIoUNet(nn.Module):
    def __init__(self, input_dim: Sequence[int] = (128, 256), pred_input_dim: Sequence[int] = (256, 256),
                 pred_inter_dim: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        self.conv3_1r = conv_bn_relu(input_dim[0], 128)
        self.conv3_1t = conv_bn_relu(input_dim[0], 256)
        self.conv3_2t = conv_bn_relu(256, pred_input_dim[0])
        self.prroi_pool3r = PrRoIPool2D(3, 3, 1 / 8)
        self.prroi_pool3t = PrRoIPool2D(5, 5, 1 / 8)
        self.fc3_1r = conv_bn_relu(128, 256, 3, pad=0)
        self.conv4_1r = conv_bn_relu(input_dim[1], 256)
        self.conv4_1t = conv_bn_relu(input_dim[1], 256)
        self.conv4_2t = conv_bn_relu(256, pred_input_dim[1])
        self.prroi_pool4r = PrRoIPool2D(1, 1, 1 / 16)
        self.prroi_pool4t = PrRoIPool2D(3, 3, 1 / 16)
        self.fc34_3r = conv_bn_relu(256 + 256, pred_input_dim[0], 1, pad=0)
        self.fc34_4r = conv_bn_relu(256 + 256, pred_input_dim[1], 1, pad=0)
        self.fc3_rt = LinearBlock(pred_input_dim[0], pred_inter_dim[0], 5)
        self.fc4_rt = LinearBlock(pred_input_dim[1], pred_inter_dim[1], 3)
        self.iou_predictor = nn.Linear(pred_inter_dim[0] + pred_inter_dim[1], 1, bias=True)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight.data, mode="fan_in")
                if m.bias is not None:
                    m.bias.data.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.uniform_()
                m.bias.data.zero_()

    def get_modulation(self, feat: List[torch.Tensor], bb: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """feat [layer2 [B,C2,H,W], layer3 [B,C3,H/2,W/2]], bb [B,4] xywh -> 2 x [B, D, 1, 1]."""
        rois = xywh_to_rois(bb.reshape(-1, 4))
        fc3_r = self.fc3_1r(self.prroi_pool3r(self.conv3_1r(feat[0]), rois))  # [B,256,1,1]
        fc4_r = self.prroi_pool4r(self.conv4_1r(feat[1]), rois)  # [B,256,1,1]
        fc34_r = torch.cat((fc3_r, fc4_r), dim=1)  # [B,512,1,1]
        return self.fc34_3r(fc34_r), self.fc34_4r(fc34_r)

    def get_iou_feat(self, feat: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.conv3_2t(self.conv3_1t(feat[0])), self.conv4_2t(self.conv4_1t(feat[1]))

    def predict_iou(self, modulation, feat, proposals: torch.Tensor) -> torch.Tensor:
        """modulation 2 x [B,D,1,1] (or [D,1,1], the tracker's mean), feat 2 x [B,D,H,W],
        proposals [B,P,4] xywh -> [B, P]."""
        b, p = feat[0].shape[0], proposals.shape[1]
        c3 = feat[0] * modulation[0].reshape(b, -1, 1, 1)
        c4 = feat[1] * modulation[1].reshape(b, -1, 1, 1)
        idx = torch.arange(b, dtype=proposals.dtype, device=proposals.device).view(b, 1, 1).expand(b, p, 1)
        xyxy = torch.cat((proposals[..., :2], proposals[..., :2] + proposals[..., 2:]), dim=2)
        rois = torch.cat((idx, xyxy), dim=2).reshape(-1, 5)
        fc3 = self.fc3_rt(self.prroi_pool3t(c3, rois))  # [B*P,256,1,1]
        fc4 = self.fc4_rt(self.prroi_pool4t(c4, rois))
        return self.iou_predictor(torch.cat((fc3, fc4), dim=1).reshape(b * p, -1)).reshape(b, p)

    def forward(self, feat1, feat2, bb1: torch.Tensor, proposals2: torch.Tensor) -> torch.Tensor:
        """feat1/feat2: lists of [N*S,C,H,W]; bb1 [N_tr,S,4]; proposals2 [N_te,S,P,4] -> [N_te,S,P]."""
        n_te, s = proposals2.shape[:2]
        feat1 = [f.reshape(-1, s, *f.shape[-3:])[0] for f in feat1]  # first train image only
        mod = self.get_modulation(feat1, bb1[0])
        mod = [m.unsqueeze(0).expand(n_te, *m.shape).reshape(-1, *m.shape[1:]) for m in mod]
        iou_feat = self.get_iou_feat(feat2)
        return self.predict_iou(mod, iou_feat, proposals2.reshape(n_te * s, -1, 4)).reshape(n_te, s, -1)
