"""IoU-Net box-regression targets and losses of the DiMP family (kept by SLT, ``slt_algorithm.md`` 7.2).

* SuperDiMP / TrDiMP (probabilistic regression, PrDiMP's KL loss): proposals drawn from a Gaussian
  mixture in relative box space around the GT (ltr ``sample_box_gmm``: centre offsets in units of
  the GT size, log-size offsets; official sigmas (0.05, 0.05) and (0.5, 0.5), 128 boxes), with
  their proposal density q and the GT density p (sigma 0.05); the loss is the Monte-Carlo KL
  estimate ``logsumexp(s - log q) - log P - mean(s * p / q)`` per frame (ltr ``KLRegression``).
* DiMP-50 (ATOM IoU regression): boxes jittered around the GT until IoU > min_iou (ltr
  ``perturb_box``: one sigma factor drawn per box, shrinking by 0.9 per failed try, at most 100
  tries), target ``2 * IoU - 1``, mean squared error.

Everything is vectorised over frames ``[M, 4]`` and draws from an explicit ``torch.Generator`` (or
torch's global CPU RNG, which the trainer checkpoints), so results are reproducible on resume.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch

from ltr_slt.data.bbox import iou as box_iou

__all__ = ["sample_box_gmm", "perturb_boxes", "kl_regression_per_frame", "iou_mse_per_frame",
           "GMM_PROPOSAL_SIGMA", "GMM_GT_SIGMA", "ATOM_SIGMA_FACTORS"]

GMM_PROPOSAL_SIGMA: Tuple[Tuple[float, float], ...] = ((0.05, 0.05), (0.5, 0.5))  # (centre, log-size) per component
GMM_GT_SIGMA: Tuple[float, float] = (0.05, 0.05)
ATOM_SIGMA_FACTORS: Tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.3)


def _gauss_density(x: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * (x / std) ** 2) / (math.sqrt(2 * math.pi) * std)


def sample_box_gmm(gt: torch.Tensor, num_samples: int = 128,
                   proposal_sigma: Sequence[Tuple[float, float]] = GMM_PROPOSAL_SIGMA,
                   gt_sigma: Tuple[float, float] = GMM_GT_SIGMA, generator: Optional[torch.Generator] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Proposals around each GT box ``gt [M, 4]`` xywh -> (proposals [M, P, 4], q [M, P], p [M, P]).

    Relative space: ``(cx / w_gt, cy / h_gt, log w, log h)``; a mixture component is chosen
    uniformly per proposal, offsets are Gaussian with the component's (centre, size) sigmas;
    q is the mixture density of the offset, p the GT Gaussian density (sigma ``gt_sigma``).
    """
    m = gt.shape[0]
    dev, dt = gt.device, torch.float32
    sig = torch.tensor(proposal_sigma, dtype=dt)  # [K, 2]
    std = torch.stack([sig[:, 0], sig[:, 0], sig[:, 1], sig[:, 1]], 0)  # [4, K]
    k = torch.randint(std.shape[1], (m, num_samples), generator=generator)  # component per proposal
    noise = torch.randn(m, num_samples, 4, generator=generator)
    offset = std.t()[k] * noise  # [M, P, 4] relative offsets
    q = _gauss_density(offset[..., None], std).prod(-2).mean(-1)  # [M, P] mixture density
    if gt_sigma[0] == 0 and gt_sigma[1] == 0:
        p = torch.zeros_like(q)
    else:
        std_gt = torch.tensor([gt_sigma[0], gt_sigma[0], gt_sigma[1], gt_sigma[1]], dtype=dt)
        p = _gauss_density(offset, std_gt).prod(-1)
    g = gt.detach().to("cpu", dt)
    size = g[:, 2:].clamp(min=1e-6)  # [M, 2] normaliser of the centre
    rel = torch.cat([(g[:, :2] + 0.5 * g[:, 2:]) / size, torch.log(size)], 1)  # [M, 4]
    prop_rel = rel[:, None] + offset
    wh = torch.exp(prop_rel[..., 2:])
    centre = prop_rel[..., :2] * size[:, None]
    proposals = torch.cat([centre - 0.5 * wh, wh], -1)
    return proposals.to(dev), q.to(dev), p.to(dev)


def perturb_boxes(gt: torch.Tensor, num_boxes: int = 8, min_iou: float = 0.1,
                  sigma_factors: Sequence[float] = ATOM_SIGMA_FACTORS, max_tries: int = 100,
                  generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """ATOM / DiMP-50 proposals: ``gt [M, 4]`` xywh -> (boxes [M, B, 4], target 2 * IoU - 1 [M, B]).

    Per box: a sigma factor drawn from ``sigma_factors``, perturbation std = factor * sqrt(w h) on
    (cx, cy, w, h), rounded; widths / heights <= 1 are replaced by 0.15-0.5 of the GT's; retried with
    the std times 0.9 until IoU > ``min_iou`` (the last try is kept after ``max_tries``).
    """
    m = gt.shape[0]
    dev = gt.device
    g = gt.detach().to("cpu", torch.float32)[:, None].expand(m, num_boxes, 4)  # [M, B, 4]
    factors = torch.tensor(list(sigma_factors), dtype=torch.float32)
    pick = torch.randint(len(factors), (m, num_boxes), generator=generator)
    std = (g[..., 2] * g[..., 3]).clamp(min=0).sqrt() * factors[pick]  # [M, B]
    boxes = g.clone()
    done = torch.zeros(m, num_boxes, dtype=torch.bool)
    overlap = torch.zeros(m, num_boxes)
    for _ in range(max_tries):
        n = torch.randn(m, num_boxes, 4, generator=generator) * std[..., None]
        cx = g[..., 0] + 0.5 * g[..., 2] + n[..., 0]
        cy = g[..., 1] + 0.5 * g[..., 3] + n[..., 1]
        w = g[..., 2] + n[..., 2]
        h = g[..., 3] + n[..., 3]
        u = torch.rand(m, num_boxes, 2, generator=generator) * 0.35 + 0.15
        w = torch.where(w <= 1, g[..., 2] * u[..., 0], w)
        h = torch.where(h <= 1, g[..., 3] * u[..., 1], h)
        cand = torch.stack([cx - 0.5 * w, cy - 0.5 * h, w, h], -1).round()
        cand[..., 2] = torch.where(cand[..., 2] <= 1, g[..., 2] * u[..., 0], cand[..., 2])
        cand[..., 3] = torch.where(cand[..., 3] <= 1, g[..., 3] * u[..., 1], cand[..., 3])
        ov = box_iou(g.reshape(-1, 4), cand.reshape(-1, 4)).reshape(m, num_boxes).float()
        take = ~done
        boxes = torch.where(take[..., None], cand, boxes)
        overlap = torch.where(take, ov, overlap)
        done = done | (ov > min_iou)
        if bool(done.all()):
            break
        std = torch.where(done, std, std * 0.9)
    return boxes.to(dev), (overlap * 2 - 1).to(dev)


def kl_regression_per_frame(scores: torch.Tensor, proposal_density: torch.Tensor, gt_density: torch.Tensor,
                            eps: float = 0.0) -> torch.Tensor:
    """Monte-Carlo KL loss of IoU-Net scores ``[M, P]`` -> per frame ``[M]`` (ltr ``KLRegression``, no mean)."""
    s = scores.float()
    q = proposal_density.float() + eps
    lse = torch.logsumexp(s - torch.log(q), dim=-1) - math.log(s.shape[-1])
    return lse - (s * (gt_density.float() / q)).mean(dim=-1)


def iou_mse_per_frame(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """DiMP-50's IoU regression: mean squared error over a frame's proposals ``[M, B]`` -> ``[M]``."""
    return ((pred.float() - target.float()) ** 2).mean(dim=-1)
