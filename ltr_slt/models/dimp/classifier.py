"""DiMP linear-filter classifier (architectures.md 3.2-3.3, 4.4).

Shapes follow ltr: features are ``[images, sequences, C, H, W]`` in training; the tracker passes
``[images, C, H, W]`` with boxes ``[images, 4]`` (one sequence), which every function here accepts
like the original (the sequence axis is then 1).
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_slt.models.layers.prroi_pool import PrRoIPool2D

__all__ = ["InstanceL2Norm", "apply_filter", "xywh_to_rois", "FilterPool", "FilterInitializerLinear", "DistanceMap",
           "DiMPSteepestDescentGN", "LinearFilter"]


class InstanceL2Norm(nn.Module):
    """Per-sample L2 normalisation over (C, H, W) to RMS ``scale`` (ltr ``InstanceL2Norm``)."""

    def __init__(self, size_average: bool = True, eps: float = 1e-5, scale: float = 1.0) -> None:
        super().__init__()
        self.size_average, self.eps, self.scale = size_average, eps, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sq = x.pow(2).sum(dim=(1, 2, 3), keepdim=True) + self.eps  # [B, 1, 1, 1]
        if self.size_average:
            return x * (self.scale * (x.shape[1] * x.shape[2] * x.shape[3] / sq).sqrt())
        return x * (self.scale / sq.sqrt())


def apply_filter(feat: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """feat [N_img, S, C, H, W] or [N_img, C, H, W] (S=1), weights [S, C, k, k] -> [N_img, S, H', W'].

    ``H' = H + 1 - k % 2`` (padding ``k // 2``): 19x19 for an 18x18 map and a 4x4 filter.
    """
    n_img = feat.shape[0]
    s = feat.shape[1] if feat.dim() == 5 else 1
    pad = (weights.shape[-2] // 2, weights.shape[-1] // 2)
    out = F.conv2d(feat.reshape(n_img, -1, *feat.shape[-2:]), weights, padding=pad, groups=s)
    return out.reshape(n_img, s, *out.shape[-2:])


def xywh_to_rois(bb: torch.Tensor) -> torch.Tensor:
    """bb [B, 4] xywh -> rois [B, 5] (batch_idx, x1, y1, x2, y2), roi i on feature map i."""
    idx = torch.arange(bb.shape[0], dtype=bb.dtype, device=bb.device).unsqueeze(1)
    return torch.cat((idx, bb[:, :2], bb[:, :2] + bb[:, 2:]), dim=1)


class FilterPool(nn.Module):
    """PrRoIPool of the target box (one box per feature map) to a ``filter_size`` square."""

    def __init__(self, filter_size: int = 4, feature_stride: int = 16) -> None:
        super().__init__()
        self.prroi_pool = PrRoIPool2D(filter_size, filter_size, 1 / feature_stride)

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        return self.prroi_pool(feat, xywh_to_rois(bb.reshape(-1, 4)))  # [B, C, k, k]


class FilterInitializerLinear(nn.Module):
    """3x3 conv, pool the target box, average over the train images (ltr ``FilterInitializerLinear``)."""

    def __init__(self, filter_size: int = 4, feature_dim: int = 512, feature_stride: int = 16,
                 filter_norm: bool = False) -> None:
        super().__init__()
        self.filter_conv = nn.Conv2d(feature_dim, feature_dim, 3, padding=1)
        self.filter_pool = FilterPool(filter_size, feature_stride)
        self.filter_norm = filter_norm
        n = 9 * feature_dim
        self.filter_conv.weight.data.normal_(0, math.sqrt(2.0 / n))
        self.filter_conv.bias.data.zero_()

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        """feat [N_img, (S,) C, H, W], bb [N_img, (S,) 4] -> w0 [S, C, k, k] (mean over images)."""
        n_img = feat.shape[0]
        f = self.filter_conv(feat.reshape(-1, *feat.shape[-3:]))
        w = self.filter_pool(f, bb.reshape(-1, 4))  # [N_img*S, C, k, k]
        if n_img > 1:
            w = w.reshape(n_img, -1, *w.shape[-3:]).mean(dim=0)
        if self.filter_norm:
            w = w / (w.shape[1] * w.shape[2] * w.shape[3])
        return w


class DistanceMap(nn.Module):
    """Triangular bins of the distance to a centre; the last bin is open-ended."""

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
    """Unrolled steepest descent with Gauss-Newton step length and learned loss (ltr ``DiMPSteepestDescentGN``).

    Only ``score_act='relu'`` (the parametric leaky ReLU of the paper, used by every released
    model) is implemented; ``mask_act`` is ``'sigmoid'`` or ``'linear'`` as in ltr.
    """

    def __init__(self, num_iter: int = 1, feat_stride: int = 16, init_step_length: float = 1.0,
                 init_filter_reg: float = 1e-2, init_gauss_sigma: float = 1.0, num_dist_bins: int = 5,
                 bin_displacement: float = 1.0, mask_init_factor: float = 4.0, score_act: str = "relu",
                 act_param=None, min_filter_reg: float = 1e-3, mask_act: str = "sigmoid",
                 detach_length: float = float("inf"), alpha_eps: float = 0.0) -> None:
        super().__init__()
        if score_act != "relu":
            raise ValueError(f"DiMPSteepestDescentGN: score_act '{score_act}' is not supported (only 'relu')")
        if mask_act not in ("sigmoid", "linear"):
            raise ValueError(f"DiMPSteepestDescentGN: unknown mask_act '{mask_act}' (use 'sigmoid' or 'linear')")
        self.num_iter, self.feat_stride = num_iter, feat_stride
        self.min_filter_reg, self.alpha_eps = min_filter_reg, alpha_eps
        self.detach_length = float(detach_length)  # ltr records float("inf"); JSON files "inf"
        self.log_step_length = nn.Parameter(math.log(init_step_length) * torch.ones(1))
        self.filter_reg = nn.Parameter(init_filter_reg * torch.ones(1))
        self.distance_map = DistanceMap(num_dist_bins, bin_displacement)
        d = torch.arange(num_dist_bins, dtype=torch.float32).view(1, -1, 1, 1) * bin_displacement
        if init_gauss_sigma == 0:
            g = torch.zeros_like(d)
            g[0, 0, 0, 0] = 1
        else:
            g = torch.exp(-0.5 * (d / init_gauss_sigma) ** 2)
        self.label_map_predictor = nn.Conv2d(num_dist_bins, 1, 1, bias=False)
        self.label_map_predictor.weight.data = g - g.min()
        mask_layers = [nn.Conv2d(num_dist_bins, 1, 1, bias=False)] + ([nn.Sigmoid()] if mask_act == "sigmoid" else [])
        self.target_mask_predictor = nn.Sequential(*mask_layers)
        init_bias = 0.0 if mask_act == "sigmoid" else 0.5
        self.target_mask_predictor[0].weight.data = mask_init_factor * torch.tanh(2.0 - d) + init_bias
        self.spatial_weight_predictor = nn.Conv2d(num_dist_bins, 1, 1, bias=False)
        self.spatial_weight_predictor.weight.data.fill_(1.0)

    def forward(self, weights: torch.Tensor, feat: torch.Tensor, bb: torch.Tensor,
                sample_weight: Optional[torch.Tensor] = None, num_iter: Optional[int] = None,
                compute_losses: bool = True) -> Tuple[torch.Tensor, List[torch.Tensor], List[torch.Tensor]]:
        """weights [S,C,k,k], feat [N,(S,)C,H,W], bb [N,(S,)4] xywh, sample_weight [N,(S)]
        -> (final weights [S,C,k,k], iterates [w0..w_num_iter], losses per iteration + final)."""
        num_iter = self.num_iter if num_iter is None else num_iter
        n_img = feat.shape[0]
        s = feat.shape[1] if feat.dim() == 5 else 1
        ksz = weights.shape[-2:]
        out_sz = (feat.shape[-2] + (ksz[0] + 1) % 2, feat.shape[-1] + (ksz[1] + 1) % 2)
        step = torch.exp(self.log_step_length)
        reg = (self.filter_reg * self.filter_reg).clamp(min=self.min_filter_reg ** 2)
        offset = (torch.tensor(tuple(ksz), dtype=bb.dtype, device=bb.device) % 2) / 2.0
        center = ((bb[..., :2] + bb[..., 2:] / 2) / self.feat_stride).reshape(-1, 2).flip((1,)) - offset
        bins = self.distance_map(center, out_sz)  # [N*S, bins, H', W']
        label = self.label_map_predictor(bins).reshape(n_img, s, *out_sz)
        mask = self.target_mask_predictor(bins).reshape(n_img, s, *out_sz)
        spatial = self.spatial_weight_predictor(bins).reshape(n_img, s, *out_sz)
        if sample_weight is None:
            sample_weight = math.sqrt(1.0 / n_img) * spatial
        else:
            sample_weight = sample_weight.sqrt().reshape(n_img, s, 1, 1) * spatial

        train = torch.is_grad_enabled()
        iterates, losses = [weights], []
        for i in range(num_iter):
            if self.detach_length <= 0 or (i > 0 and i % self.detach_length == 0):
                weights = weights.detach()
            with torch.enable_grad():
                w_in = weights if weights.requires_grad else weights.detach().requires_grad_(True)
                scores = apply_filter(feat, w_in)  # [N, S, H', W']
                act = (1 - mask) / 2 * scores.abs() + (1 + mask) / 2 * scores
                deriv = (1 - mask) / 2 * torch.sign(scores.detach()) + (1 + mask) / 2
                residual = sample_weight * (act - label)
                # X^T (score_mask * r_w * r): the VJP of apply_filter w.r.t. the filter
                grad = torch.autograd.grad(scores, w_in, deriv * (sample_weight * residual), create_graph=train)[0]
            if compute_losses:
                losses.append(((residual ** 2).sum() + reg * (weights ** 2).sum()) / s)
            grad = grad + reg * weights  # [S, C, k, k]
            q = sample_weight * (deriv * apply_filter(feat, grad))
            alpha_num = (grad * grad).sum(dim=(1, 2, 3))  # [S]
            alpha_den = ((q * q).reshape(n_img, s, -1).sum(dim=(0, 2)) + (reg + self.alpha_eps) * alpha_num).clamp(1e-8)
            weights = weights - (step * (alpha_num / alpha_den).reshape(-1, 1, 1, 1)) * grad
            if not train:
                weights = weights.detach()
            iterates.append(weights)
        if compute_losses:
            scores = apply_filter(feat, weights)
            act = (1 - mask) / 2 * scores.abs() + (1 + mask) / 2 * scores
            losses.append((((sample_weight * (act - label)) ** 2).sum() + reg * (weights ** 2).sum()) / s)
        if not train:
            losses = [l.detach() for l in losses]
        return weights, iterates, losses


class LinearFilter(nn.Module):
    """Target classifier: features, filter initializer + optimizer, and (TrDiMP) the transformer."""

    def __init__(self, filter_size: int, filter_initializer: nn.Module, filter_optimizer: nn.Module,
                 feature_extractor: nn.Module, transformer: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.filter_size = filter_size
        self.filter_initializer = filter_initializer
        self.filter_optimizer = filter_optimizer
        self.feature_extractor = feature_extractor
        if transformer is not None:  # keeps DiMP-50's state-dict layout free of a None entry
            self.transformer = transformer

    def extract_classification_feat(self, feat: torch.Tensor, num_sequences: Optional[int] = None) -> torch.Tensor:
        """backbone [B, C3, H, W] -> [B, C, H, W], or [B/S, S, C, H, W] when ``num_sequences`` is given."""
        out = self.feature_extractor(feat.reshape(-1, *feat.shape[-3:]))
        return out if num_sequences is None else out.reshape(-1, num_sequences, *out.shape[-3:])

    def classify(self, weights: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return apply_filter(feat, weights)  # [N, S, H+1, W+1]

    def get_filter(self, feat: torch.Tensor, bb: torch.Tensor, *args, **kwargs):
        """feat [N,(S,)C,H,W], bb [N,(S,)4] -> (w [S,C,k,k], iterates, losses); extra args go to the optimizer."""
        weights = self.filter_initializer(feat, bb)
        if self.filter_optimizer is None:
            return weights, [weights], None
        return self.filter_optimizer(weights, *args, feat=feat, bb=bb, **kwargs)

    def forward(self, train_feat: torch.Tensor, test_feat: torch.Tensor, train_bb: torch.Tensor,
                *args, train_label: Optional[torch.Tensor] = None, **kwargs) -> List[torch.Tensor]:
        """backbone feats [N*S, C3, H, W] -> score maps [N_te, S, H+1, W+1], one per filter iterate.

        With a transformer, ``train_label`` [N_tr, S, H, W] (Gaussian labels) is required.
        """
        s = train_bb.shape[1]
        train_feat = self.extract_classification_feat(train_feat, s)  # [N_tr, S, C, H, W]
        test_feat = self.extract_classification_feat(test_feat, s)  # [N_te, S, C, H, W]
        if getattr(self, "transformer", None) is not None:
            if train_label is None:
                raise ValueError("LinearFilter with a transformer needs train_label [N_tr, S, H, W]")
            train_feat, test_feat = self.transformer(train_feat, test_feat, train_label)
            train_feat = train_feat.reshape(-1, s, *train_feat.shape[-3:])
            test_feat = test_feat.reshape(-1, s, *test_feat.shape[-3:])
        _, iterates, _ = self.get_filter(train_feat, train_bb, *args, **kwargs)
        return [self.classify(w, test_feat) for w in iterates]
