"""TransT training losses (``SetCriterion`` in the paper's code) and the SLT box-only losses.

* ``loss_ce``: weighted cross-entropy over all tokens; positives target class 0 (target), the rest
  class 1 (background) with weight ``eos_coef`` = 0.0625; PyTorch's weighted mean.
* ``loss_bbox``: L1 on the positives' (cx, cy, w, h), summed and divided by ``num_pos`` (positives
  over the batch, at least 1).
* ``loss_giou``: sum of (1 - GIoU) over the positives / ``num_pos``.
* total = 8.334 * loss_ce + 5 * loss_bbox + 2 * loss_giou (``weight_dict``).

Samples whose ``valid`` flag is False (target invisible) contribute to no loss at all.
``num_pos`` is per process: under DDP each rank normalises its own batch (gradients are averaged).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ltr_slt.models.loss.box_ops import box_cxcywh_to_xyxy, paired_iou_giou
from ltr_slt.models.loss.matcher import positive_mask, targets_to_boxes

__all__ = ["DEFAULT_WEIGHT_DICT", "SLT_BOX_WEIGHT_DICT", "BoxLossTerms", "box_loss_terms", "box_losses",
           "TransTCriterion", "transt_loss", "transt_criterion"]

DEFAULT_WEIGHT_DICT: Dict[str, float] = {"loss_ce": 8.334, "loss_bbox": 5.0, "loss_giou": 2.0}
SLT_BOX_WEIGHT_DICT: Dict[str, float] = {"loss_bbox": 5.0, "loss_giou": 2.0}


@dataclass
class BoxLossTerms:
    """Per-sample sums over the positive tokens, so callers can normalise chunks themselves."""

    l1: torch.Tensor  # [B] sum over positives of |pred - gt| (4 coordinates)
    giou: torch.Tensor  # [B] sum over positives of (1 - GIoU)
    iou: torch.Tensor  # [B] sum over positives of IoU (statistics only, no gradient)
    num_pos: torch.Tensor  # [B] float, number of positives (0 for invalid samples)

    def normalised(self, num_pos_total: Optional[float] = None) -> Dict[str, torch.Tensor]:
        """{'loss_bbox', 'loss_giou', 'iou'}: batch sums / max(num_pos_total, 1).

        ``num_pos_total`` defaults to this batch's positives; pass a larger total (e.g. of a
        whole batch split into chunks) to make chunk losses add up to the batch loss.
        """
        total = float(self.num_pos.sum()) if num_pos_total is None else float(num_pos_total)
        denom = max(total, 1.0)
        n = float(self.num_pos.sum())
        return {"loss_bbox": self.l1.sum() / denom, "loss_giou": self.giou.sum() / denom,
                "iou": self.iou.sum() / max(n, 1.0)}


def box_loss_terms(pred_boxes: torch.Tensor, gt_cxcywh: torch.Tensor, valid: Optional[torch.Tensor] = None,
                   feature_size: Optional[int] = None, mask: Optional[torch.Tensor] = None) -> BoxLossTerms:
    """Per-sample L1 / GIoU sums for pred_boxes [B, HW, 4] vs one GT box [B, 4] (normalised cxcywh)."""
    b, hw, _ = pred_boxes.shape
    if gt_cxcywh.shape != (b, 4):
        raise ValueError(f"gt_cxcywh must be [{b}, 4] for pred_boxes {tuple(pred_boxes.shape)}, "
                         f"got {tuple(gt_cxcywh.shape)}")
    n = feature_size or math.isqrt(hw)
    if n * n != hw:
        raise ValueError(f"pred_boxes has {hw} tokens, not a square grid of feature_size {n}")
    gt = gt_cxcywh.to(pred_boxes.dtype)
    if mask is None:
        mask = positive_mask(gt, n, valid)  # [B, HW]
    w = mask.to(pred_boxes.dtype)  # [B, HW]
    # Invalid samples may carry NaN/garbage GT: neutralise before it can reach the sums.
    gt = torch.where(mask.any(1, keepdim=True), gt, torch.full_like(gt, 0.5))
    gt_tok = gt[:, None, :].expand(-1, hw, -1)  # [B, HW, 4]
    l1 = ((pred_boxes - gt_tok).abs().sum(-1) * w).sum(1)  # [B]
    iou, giou = paired_iou_giou(box_cxcywh_to_xyxy(pred_boxes), box_cxcywh_to_xyxy(gt_tok))  # [B, HW]
    return BoxLossTerms(l1=l1, giou=((1 - giou) * w).sum(1), iou=(iou.detach() * w).sum(1), num_pos=w.sum(1))


def box_losses(pred_boxes: torch.Tensor, gt_cxcywh: torch.Tensor, valid: Optional[torch.Tensor] = None,
               num_pos_total: Optional[float] = None) -> Dict[str, torch.Tensor]:
    """SLT box losses {'loss_bbox', 'loss_giou', 'iou'}; weight with ``SLT_BOX_WEIGHT_DICT`` (5, 2)."""
    return box_loss_terms(pred_boxes, gt_cxcywh, valid).normalised(num_pos_total)


class TransTCriterion(nn.Module):
    """``criterion(outputs, targets, valid=None)`` -> {'loss_ce', 'loss_bbox', 'loss_giou', 'iou'}.

    ``targets``: [B, 4] normalised cxcywh GT in search-crop coordinates (or the official list of
    ``{'boxes': [1, 4]}`` dicts). ``criterion.total(losses)`` applies ``weight_dict``.
    """

    def __init__(self, num_classes: int = 1, eos_coef: float = 0.0625,
                 weight_dict: Optional[Dict[str, float]] = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.eos_coef = eos_coef
        self.weight_dict = dict(DEFAULT_WEIGHT_DICT if weight_dict is None else weight_dict)
        empty_weight = torch.ones(num_classes + 1)
        empty_weight[-1] = eos_coef
        self.register_buffer("empty_weight", empty_weight)

    def loss_labels(self, logits: torch.Tensor, mask: torch.Tensor,
                    valid: Optional[torch.Tensor]) -> torch.Tensor:
        target = torch.where(mask, 0, self.num_classes)  # [B, HW]; background = last class
        per_token = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")  # [B, HW]
        weight = self.empty_weight.to(logits.dtype)[target]  # [B, HW]
        if valid is not None:
            weight = weight * valid.to(logits.device, logits.dtype)[:, None]
        return (per_token * weight).sum() / weight.sum().clamp(min=torch.finfo(logits.dtype).tiny)

    def forward(self, outputs: Dict[str, torch.Tensor], targets, valid: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        gt = targets_to_boxes(targets).to(outputs["pred_boxes"].device)
        n = math.isqrt(outputs["pred_logits"].shape[1])
        mask = positive_mask(gt, n, valid)  # [B, HW]
        logits = outputs["pred_logits"]
        losses = {"loss_ce": self.loss_labels(logits, mask, valid)}
        with torch.no_grad():  # official statistic: % of positives not classified as target
            pos_logits = logits[mask]  # [P, 2]
            correct = (pos_logits.argmax(-1) == 0).float()
            losses["class_error"] = 100.0 * (1.0 - correct.mean()) if len(correct) else logits.new_zeros(())
        losses.update(box_loss_terms(outputs["pred_boxes"], gt, valid, n, mask).normalised())
        return losses

    def total(self, losses: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Weighted sum over the losses named in ``weight_dict``."""
        return sum(losses[k] * w for k, w in self.weight_dict.items() if k in losses)


def transt_loss(settings=None) -> TransTCriterion:
    """Criterion with the paper's weights (settings may override ``eos_coef`` / ``weight_dict``)."""
    return TransTCriterion(1, float(getattr(settings, "eos_coef", 0.0625)),
                           getattr(settings, "weight_dict", None))


transt_criterion = transt_loss
