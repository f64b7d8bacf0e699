"""SLT-TransT actor: turn a recorded trajectory chunk into (loss, stats).

The network is re-run WITH gradients on the crops the sampled tracker actually saw (template
features from the recorded template crops), the same policy object that picked the actions gives
log pi(recorded action), and the kept TransT box losses (L1 x5 + GIoU x2) are computed against the
GT placed in those crops.

Chunk-size invariance: every term is a *sum* over the chunk divided by a total of the whole
iteration (:class:`LossNormaliser`: tracked frames for the RL term, positive cells for the box
losses). Summing the chunk losses therefore gives the iteration mean whatever
``num_seq_backward`` is (the official code sums chunk *means*, so its effective learning rate
grows with N / num_seq_backward). Under DDP the totals are summed over ranks and the loss is
multiplied by the world size, so the rank-averaged gradient equals the gradient of one process
holding all the clips.

The network stays in eval mode during learning (BN running stats, no dropout), as in the official
code: the recomputed log-probabilities must be those of the policy that acted.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ltr_slt.actors.base import LossNormaliser, SLTActorBase
from ltr_slt.data.crop import normalize_crops
from ltr_slt.models.loss import SLT_BOX_WEIGHT_DICT, box_loss_terms, positive_mask
from ltr_slt.slt.trajectory import Trajectory, xywh_to_cxcywh_normalised

logger = logging.getLogger(__name__)

__all__ = ["LossNormaliser", "SLTTransTActor"]  # LossNormaliser: from ltr_slt.actors.base


class SLTTransTActor(SLTActorBase):
    """``learn(trajectory_chunk, advantages, normaliser) -> (loss, stats)`` for TransT.

    Settings read (with defaults): ``slt_loss_weight`` 15, ``use_rl_objective`` True (False = the
    SS-only ablation: box losses on the tracker's own crops, no RL term), ``loss_weight``
    {'loss_bbox': 5, 'loss_giou': 2}, ``ss_ce_weight`` 0 (weight of TransT's classification CE on
    the recorded crops; 8.334 reproduces the frame-level objective for an SS ablation),
    ``eos_coef`` 0.0625, ``matcher_clamp`` True (False: the official matcher's unclamped slicing
    at the crop border, for side-by-side runs).
    """

    def __init__(self, net: nn.Module, policy: Any, box_loss: Optional[Callable] = None,
                 settings: Any = None) -> None:
        super().__init__(net, policy, settings, slt_loss_weight=15.0)
        self.box_loss = box_loss or box_loss_terms
        get = lambda k, d: self.setting(settings, k, d)  # noqa: E731
        self.loss_weight = dict(get("loss_weight", None) or SLT_BOX_WEIGHT_DICT)
        self.ss_ce_weight = float(get("ss_ce_weight", 0.0))
        self.eos_coef = float(get("eos_coef", 0.0625))
        self.matcher_clamp = bool(get("matcher_clamp", True))
        self.net.eval()

    # -- helpers ----------------------------------------------------------------------------
    @property
    def search_size(self) -> int:
        return int(getattr(self.net, "search_size", 256))

    @property
    def feature_size(self) -> int:
        return int(getattr(self.net, "feature_size", 32))

    def _gt_targets(self, traj: Trajectory) -> torch.Tensor:
        """[T-1, N, 4] normalised cxcywh GT in the recorded search crops."""
        return xywh_to_cxcywh_normalised(traj.gt_crop.float(), self.search_size)

    @torch.no_grad()
    def normaliser(self, traj: Trajectory) -> LossNormaliser:
        """Totals of a whole iteration's trajectory (computed before the chunked learning)."""
        if traj.gt_crop is None:
            raise ValueError("trajectory was not recorded (rollout(record=False)); cannot learn from it")
        valid = traj.valid.reshape(-1)
        gt = self._gt_targets(traj).reshape(-1, 4)
        hw = self.feature_size ** 2
        num_pos = float(positive_mask(gt, self.feature_size, valid, self.matcher_clamp).sum())
        ce_weight = num_pos + self.eos_coef * (int(valid.sum()) * hw - num_pos)
        return LossNormaliser(num_frames=float(traj.frame_mask.sum()), num_pos=num_pos, ce_weight=ce_weight)

    # -- the learning step ------------------------------------------------------------------
    def learn(self, chunk: Trajectory, advantages: torch.Tensor,
              normaliser: Optional[LossNormaliser] = None) -> Tuple[torch.Tensor, Dict[str, float]]:
        """Loss of one chunk of clips; ``advantages`` [T-1, n] per frame (0 on padding).

        Returns the loss (call ``backward`` on it) and additive stats: summing them over the chunks
        of an iteration gives the iteration values.
        """
        if not chunk.recorded or chunk.template_crops is None or chunk.gt_crop is None:
            raise ValueError("trajectory chunk has no recorded crops (rollout(record=True) is required)")
        chunk, advantages, norm = self._chunk_on_device(chunk, advantages, normaliser)

        t_idx, c_idx = chunk.frame_mask.nonzero(as_tuple=True)  # M real tracked frames (time-major)
        if t_idx.numel() == 0:
            return self._zero_loss(), {}
        search = normalize_crops(chunk.search_crops[t_idx, c_idx])  # [M, 3, S, S]
        template = normalize_crops(chunk.template_crops)  # [n, 3, s, s]
        tf = self.net.encode_template(template).index_select(c_idx)  # template grads flow per clip
        out = self.net.track_from(tf, search)  # pred_logits [M, HW, 2], pred_boxes [M, HW, 4]
        out = {k: v.float() for k, v in out.items()}

        valid = chunk.valid[t_idx, c_idx]  # [M]
        gt = self._gt_targets(chunk)[t_idx, c_idx]  # [M, 4]
        mask = positive_mask(gt, self.feature_size, valid, self.matcher_clamp)  # [M, HW]
        terms = self.box_loss(out["pred_boxes"], gt, valid, mask=mask)
        pos = max(norm.num_pos, 1.0)
        loss_bbox = terms.l1.sum() / pos
        loss_giou = terms.giou.sum() / pos
        total = self.loss_weight.get("loss_bbox", 0.0) * loss_bbox + self.loss_weight.get("loss_giou", 0.0) * loss_giou
        stats: Dict[str, float] = {"Loss/bbox": float(loss_bbox.detach()), "Loss/giou": float(loss_giou.detach()),
                                   "bbox_iou": float(terms.iou.sum()) / pos}

        logits = self.policy.logits(out)  # [M, A] float32
        term = self._self_critical_term(logits, chunk, advantages, t_idx, c_idx, norm, stats)
        if term is not None:
            total = total + term
        if self.ss_ce_weight > 0:
            loss_ce = self._ce_sum(out["pred_logits"], mask, valid) / max(norm.ce_weight, 1e-12)
            total = total + self.ss_ce_weight * loss_ce
            stats["Loss/ce"] = float(loss_ce.detach())
        stats["entropy"] = self._entropy(logits, norm)
        return self._scaled(total, norm, stats), stats

    def _ce_sum(self, logits: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """TransT's weighted CE as a *sum* (positives weight 1, background eos_coef; valid frames)."""
        target = torch.where(mask, 0, 1)
        per_token = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")  # [M, HW]
        weight = torch.where(mask, 1.0, self.eos_coef) * valid.to(logits.dtype)[:, None]
        return (per_token * weight).sum()
