"""IoU-Net box refinement for a batch of sequences (``architectures.md`` 7.2 step 4, pytracking's
``refine_target_box`` / ``optimize_boxes_default`` / ``optimize_boxes_relative``).

Per sequence: the current box in sample coordinates plus ``num_init_random_boxes`` jittered boxes
(centre jitter ``box_jitter_pos * sqrt(wh)``, size jitter ``box_jitter_sz * sqrt(wh)``, uniform in
+-1/2 of these, sides at least ``min(w, h) / 3``), ``box_refinement_iter`` gradient-ascent steps on
the predicted IoU ('default': ``b += step * dIoU/db * (w, h, w, h)``; 'relative':
``(cx/w0, cy/h0, log w, log h)`` normalised by the first box), aspect-ratio filter, mean of the top-k
boxes by the IoU predicted at the last step's *input* boxes. All sequences are optimised in one
IoU-Net call per step (the IoU of a box depends only on that box: BatchNorm is in eval mode).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import torch

__all__ = ["BoxRefinement", "rect_to_rel", "rel_to_rect"]


def rect_to_rel(bb: torch.Tensor, sz_norm: torch.Tensor) -> torch.Tensor:
    """xywh -> (cx/sw, cy/sh, log w, log h)."""
    c = bb[..., :2] + 0.5 * bb[..., 2:]
    return torch.cat((c / sz_norm, torch.log(bb[..., 2:])), dim=-1)


def rel_to_rect(bb: torch.Tensor, sz_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rect_to_rel`."""
    sz = torch.exp(bb[..., 2:])
    c = bb[..., :2] * sz_norm
    return torch.cat((c - 0.5 * sz, sz), dim=-1)


def _grad_ready(t: torch.Tensor) -> torch.Tensor:
    """A plain detached tensor usable by autograd (a clone when ``t`` was made in inference mode)."""
    return t.clone() if t.is_inference() else t.detach()


@dataclass
class BoxRefinement:
    """pytracking's IoU-Net refinement parameters (same names)."""

    num_init_random_boxes: int = 9
    box_jitter_pos: float = 0.1
    box_jitter_sz: float = 0.5
    maximal_aspect_ratio: float = 6.0
    box_refinement_iter: int = 5
    box_refinement_step_length: float = 1.0
    box_refinement_step_decay: float = 1.0
    box_refinement_space: str = "default"
    iounet_k: int = 5

    def __post_init__(self) -> None:
        if self.box_refinement_space not in ("default", "relative"):
            raise ValueError(f"box_refinement_space must be 'default' or 'relative', got {self.box_refinement_space!r}")
        if isinstance(self.box_refinement_step_length, (tuple, list)):
            raise ValueError("a per-coordinate box_refinement_step_length is not supported; give one number")

    def initial_boxes(self, init_box: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
        """``init_box`` [b, 4] xywh -> [b, 1 + num_init_random_boxes, 4] (draws from each sequence's RNG)."""
        if self.num_init_random_boxes <= 0:
            return init_box[:, None]
        rand = torch.stack([torch.rand(self.num_init_random_boxes, 4, generator=g) for g in generators])
        rand = rand.to(init_box.device)  # [b, n, 4]
        square = init_box[:, 2:].prod(dim=1).sqrt()  # [b]
        jit = torch.tensor([self.box_jitter_pos] * 2 + [self.box_jitter_sz] * 2, device=init_box.device)
        rand_factor = square[:, None] * jit  # [b, 4]
        min_edge = init_box[:, 2:].min(dim=1)[0] / 3
        rand_bb = (rand - 0.5) * rand_factor[:, None]
        new_sz = torch.maximum(init_box[:, None, 2:] + rand_bb[..., 2:], min_edge[:, None, None])
        new_center = (init_box[:, None, :2] + init_box[:, None, 2:] / 2) + rand_bb[..., :2]
        boxes = torch.cat([new_center - new_sz / 2, new_sz], dim=2)
        return torch.cat([init_box[:, None], boxes], dim=1)

    def optimize(self, bb_regressor: torch.nn.Module, modulation: List[torch.Tensor], iou_feat: List[torch.Tensor],
                 boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradient ascent on ``predict_iou``: boxes [b, P, 4] -> (boxes [b, P, 4], iou [b, P])."""
        with torch.inference_mode(False), torch.enable_grad():
            modulation = [_grad_ready(m) for m in modulation]
            iou_feat = [_grad_ready(f) for f in iou_feat]
            out = _grad_ready(boxes)
            step = float(self.box_refinement_step_length)
            relative = self.box_refinement_space == "relative"
            sz_norm = out[:, :1, 2:].clone() if relative else None
            state = rect_to_rel(out, sz_norm) if relative else out
            iou = None
            for _ in range(int(self.box_refinement_iter)):
                b0 = state.clone().detach().requires_grad_(True)
                bb = rel_to_rect(b0, sz_norm) if relative else b0
                iou = bb_regressor.predict_iou(modulation, iou_feat, bb)
                if isinstance(iou, (list, tuple)):
                    iou = iou[0]
                grad, = torch.autograd.grad(iou, b0, torch.ones_like(iou))
                if relative:
                    state = (b0 + step * grad).detach()
                else:
                    state = (b0 + step * grad * b0[:, :, 2:].repeat(1, 1, 2)).detach()
                step *= self.box_refinement_step_decay
            if iou is None:  # no iterations: score the initial boxes
                bb = rel_to_rect(state, sz_norm) if relative else state
                iou = bb_regressor.predict_iou(modulation, iou_feat, bb)
            result = rel_to_rect(state, sz_norm) if relative else state
            return result.detach(), iou.detach().reshape(result.shape[:2])

    def select(self, boxes: torch.Tensor, iou: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Aspect-ratio filter and top-k mean: -> (box [b, 4], ok [b] bool: some box survived)."""
        boxes = torch.cat([boxes[..., :2], boxes[..., 2:].clamp(min=1)], dim=-1)
        ar = boxes[..., 2] / boxes[..., 3]
        keep = (ar < self.maximal_aspect_ratio) & (ar > 1 / self.maximal_aspect_ratio)  # [b, P]
        n_keep = keep.sum(dim=1)
        k = torch.clamp(n_keep, max=int(self.iounet_k))  # topk = min(k, #kept)
        score = torch.where(keep, iou, torch.full_like(iou, -float("inf")))
        order = torch.argsort(score, dim=1, descending=True)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
        chosen = (rank < k[:, None]) & keep
        weight = chosen.float()
        mean = (boxes * weight[..., None]).sum(dim=1) / weight.sum(dim=1, keepdim=True).clamp(min=1)
        return mean, n_keep > 0

    def predicted(self, pred_box: torch.Tensor, sample_pos: torch.Tensor, sample_scale: torch.Tensor,
                  img_sample_sz: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Box in sample pixels [b, 4] -> new (pos [b, 2] (y, x), target_sz [b, 2] (h, w)) in the image."""
        centre = pred_box[:, :2] + pred_box[:, 2:] / 2
        pos = (centre.flip(1) - (img_sample_sz - 1) / 2) * sample_scale[:, None] + sample_pos
        return pos, pred_box[:, 2:].flip(1) * sample_scale[:, None]
