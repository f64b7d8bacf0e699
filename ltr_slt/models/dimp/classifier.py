"""DiMP linear-filter classifier (architectures.md 3.2-3.3)."""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_slt.models.layers.prroi_pool import PrRoIPool2D


class InstanceL2Norm(nn.Module):
    def __init__(self, scale: float = 1.0, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale, self.eps = scale, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1] * x.shape[2] * x.shape[3]
        return x * (self.scale * (n / (x.pow(2).sum(dim=(1, 2, 3), keepdim=True) + self.eps)).sqrt())


def apply_filter(feat: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """feat [N_img, S, C, H, W], w [S, C, k, k] -> scores [N_img, S, H', W']."""
    n_img, s = feat.shape[:2]
    pad = (w.shape[-2] // 2, w.shape[-1] // 2)
    out = F.conv2d(feat.reshape(n_img, -1, *feat.shape[-2:]), w, padding=pad, groups=s)
    return out.reshape(n_img, s, *out.shape[-2:])


def xywh_to_rois(bb: torch.Tensor) -> torch.Tensor:
    """bb [B, 4] xywh -> rois [B, 5] (batch_idx, x1, y1, x2, y2)."""
    idx = torch.arange(bb.shape[0], dtype=bb.dtype, device=bb.device).unsqueeze(1)
    return torch.cat((idx, bb[:, :2], bb[:, :2] + bb[:, 2:]), dim=1)


class FilterPool(nn.Module):
    def __init__(self, filter_size: int = 4, feature_stride: int = 16) -> None:
        super().__init__()
        self.prroi_pool = PrRoIPool2D(filter_size, filter_size, 1 / feature_stride)

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        return self.prroi_pool(feat, xywh_to_rois(bb.reshape(-1, 4)))  # [B, C, k, k]


class FilterInitializerLinear(nn.Module):
    def __init__(self, filter_size: int = 4, feature_dim: int = 512, feature_stride: int = 16) -> None:
        super().__init__()
        self.filter_conv = nn.Conv2d(feature_dim, feature_dim, 3, padding=1)
        self.filter_pool = FilterPool(filter_size, feature_stride)
        n = 9 * feature_dim
        self.filter_conv.weight.data.normal_(0, math.sqrt(2.0 / n))
        self.filter_conv.bias.data.zero_()

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        """feat [N_img, S, C, H, W], bb [N_img, S, 4] -> w0 [S, C, k, k] (mean over images)."""
        n_img, s = feat.shape[:2]
        f = self.filter_conv(feat.reshape(-1, *feat.shape[-3:]))
        w = self.filter_pool(f, bb.reshape(-1, 4))  # [N_img*S, C, k, k]
        return w.reshape(n_img, s, *w.shape[-3:]).mean(dim=0)


class DistanceMap(nn.Module):
    def __init__(self, num_bins: int, bin_displacement: float = 1.0) -> None:
        super().__init__()
        self.num_bins, self.bin_displacement = num_bins, bin_displacement

    def forward(self, center: torch.Tensor, output_sz) -> torch.Tensor:
        """center [B, 2] (row, col) in cells -> bins [B, num_bins, H, W]."""
        k = torch.arange(self.num_bins, dtype=center.dtype, device=center.device).view(1, -1, 1, 1)
        r = torch.arange(output_sz[0], dtype=center.dtype, device=center.device).view(1, 1, -1, 1)
        c = torch.arange(output_sz[1], dtype=center.dtype, device=center.device).view(1, 1, 1, -1)
        d = ((r - center[:, 0].view(-1, 1, 1, 1)) ** 2 + (c - center[:, 1].view(-1, 1, 1, 1)) ** 2).sqrt()
        bin_diff = d / self.bin_displacement - k
        return torch.cat((F.relu(1.0 - bin_diff[:, :-1].abs()),
                          (1.0 + bin_diff[:, -1:]).clamp(0, 1)), dim=1)


class DiMPSteepestDescentGN(nn.Module):
    def __init__(self, num_iter: int = 1, feat_stride: int = 16, init_step_length: float = 1.0,
                 init_filter_reg: float = 1e-2, init_gauss_sigma: float = 1.0, num_dist_bins: int = 5,
                 bin_displacement: float = 1.0, mask_init_factor: float = 4.0, min_filter_reg: float = 1e-3,
                 alpha_eps: float = 0.0) -> None:
        super().__init__()
        self.num_iter, self.feat_stride = num_iter, feat_stride
        self.min_filter_reg, self.alpha_eps = min_filter_reg, alpha_eps
        self.log_step_length = nn.Parameter(math.log(init_step_length) * torch.ones(1))
        self.filter_reg = nn.Parameter(init_filter_reg * torch.ones(1))
        self.distance_map = DistanceMap(num_dist_bins, bin_displacement)
        d = torch.arange(num_dist_bins, dtype=torch.float32).view(1, -1, 1, 1) * bin_displacement
        self.label_map_predictor = nn.Conv2d(num_dist_bins, 1, 1, bias=False)
        g = torch.exp(-0.5 * (d / init_gauss_sigma) ** 2)
        self.label_map_predictor.weight.data = g - g.min()
        self.target_mask_predictor = nn.Sequential(nn.Conv2d(num_dist_bins, 1, 1, bias=False), nn.Sigmoid())
        self.target_mask_predictor[0].weight.data = mask_init_factor * torch.tanh(2.0 - d)
        self.spatial_weight_predictor = nn.Conv2d(num_dist_bins, 1, 1, bias=False)
        self.spatial_weight_predictor.weight.data.fill_(1.0)

    def forward(self, weights: torch.Tensor, feat: torch.Tensor, bb: torch.Tensor,
                sample_weight: Optional[torch.Tensor] = None, num_iter: Optional[int] = None,
                compute_losses: bool = True) -> Tuple[torch.Tensor, List[torch.Tensor], List[torch.Tensor]]:
        """weights [S,C,k,k], feat [N,S,C,H,W], bb [N,S,4] xywh -> (w, iterates, losses)."""
        num_iter = self.num_iter if num_iter is None else num_iter
        n_img, s = feat.shape[:2]
        ksz = weights.shape[-2:]
        out_sz = (feat.shape[-2] + (ksz[0] + 1) % 2, feat.shape[-1] + (ksz[1] + 1) % 2)
        step = torch.exp(self.log_step_length)
        reg = (self.filter_reg * self.filter_reg).clamp(min=self.min_filter_reg ** 2)
        offset = (torch.tensor(ksz, dtype=feat.dtype, device=feat.device) % 2) / 2.0
        center = ((bb[..., :2] + bb[..., 2:] / 2) / self.feat_stride).reshape(-1, 2).flip((1,)) - offset
        bins = self.distance_map(center, out_sz)  # [N*S, bins, H', W']
        label = self.label_map_predictor(bins).reshape(n_img, s, *out_sz)
        mask = self.target_mask_predictor(bins).reshape(n_img, s, *out_sz)
        spatial = self.spatial_weight_predictor(bins).reshape(n_img, s, *out_sz)
        if sample_weight is None:
            sample_weight = math.sqrt(1.0 / n_img) * spatial
        else:
            sample_weight = sample_weight.sqrt().reshape(n_img, -1, 1, 1) * spatial
        iterates, losses = [weights], []
        for _ in range(num_iter):
            train = torch.is_grad_enabled()
            with torch.enable_grad():
                if not weights.requires_grad:
                    weights = weights.detach().requires_grad_(True)
                scores = apply_filter(feat, weights)
                act = (1 - mask) / 2 * scores.abs() + (1 + mask) / 2 * scores
                deriv = (1 - mask) / 2 * torch.sign(scores) + (1 + mask) / 2
                residual = sample_weight * (act - label)
                if compute_losses:
                    losses.append(((residual ** 2).sum() + reg * (weights ** 2).sum()) / s)
                resid_grad = sample_weight * deriv * residual
                grad = torch.autograd.grad(scores, weights, resid_grad, create_graph=train)[0]
                grad = grad + reg * weights
            q = sample_weight * deriv * apply_filter(feat, grad)
            alpha_num = (grad * grad).sum(dim=(1, 2, 3))
            alpha_den = ((q * q).reshape(n_img, s, -1).sum(dim=(0, 2)) + (reg + self.alpha_eps) * alpha_num).clamp(1e-8)
            alpha = alpha_num / alpha_den
            weights = weights - step * alpha.view(-1, 1, 1, 1) * grad
            if not train:
                weights, losses = weights.detach(), [l.detach() for l in losses]
            iterates.append(weights)
        if compute_losses:
            scores = apply_filter(feat, weights)
            act = (1 - mask) / 2 * scores.abs() + (1 + mask) / 2 * scores
            residual = sample_weight * (act - label)
            losses.append(((residual ** 2).sum() + reg * (weights ** 2).sum()) / s)
        return weights, iterates, losses


class LinearFilter(nn.Module):
    def __init__(self, filter_size: int, filter_initializer: nn.Module, filter_optimizer: nn.Module,
                 feature_extractor: nn.Module) -> None:
        super().__init__()
        self.filter_size = filter_size
        self.filter_initializer = filter_initializer
        self.filter_optimizer = filter_optimizer
        self.feature_extractor = feature_extractor

    def extract_classification_feat(self, feat: torch.Tensor, num_sequences: Optional[int] = None) -> torch.Tensor:
        out = self.feature_extractor(feat)  # [B, C_clf, H, W]
        return out if num_sequences is None else out.reshape(-1, num_sequences, *out.shape[-3:])

    def classify(self, weights: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return apply_filter(feat, weights)  # [N, S, H+1, W+1]

    def get_filter(self, feat: torch.Tensor, bb: torch.Tensor, num_iter: Optional[int] = None,
                   sample_weight: Optional[torch.Tensor] = None):
        """feat [N,S,C,H,W], bb [N,S,4] -> (w [S,C,k,k], iterates, losses)."""
        w0 = self.filter_initializer(feat, bb)
        return self.filter_optimizer(w0, feat=feat, bb=bb, sample_weight=sample_weight, num_iter=num_iter)

    def forward(self, train_feat: torch.Tensor, test_feat: torch.Tensor, train_bb: torch.Tensor,
                num_iter: Optional[int] = None) -> List[torch.Tensor]:
        """backbone feats [N*S, C, H, W] -> list of score maps [N_te, S, H+1, W+1], one per iterate."""
        s = train_bb.shape[1]
        train_feat = self.extract_classification_feat(train_feat, s)
        test_feat = self.extract_classification_feat(test_feat, s)
        _, iterates, _ = self.get_filter(train_feat, train_bb, num_iter=num_iter)
        return [self.classify(w, test_feat) for w in iterates]
