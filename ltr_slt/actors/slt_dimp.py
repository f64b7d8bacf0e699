"""SLT actor for the DiMP family (DiMP-50, SuperDiMP, TrDiMP): a recorded trajectory chunk -> (loss, stats).

Learning re-runs the network WITH gradients on exactly what the sampled tracker saw:

* the clip's template samples (the K init augmentations, recorded once per clip as uint8) with
  their target boxes -> classification features (TrDiMP: transformer encoder over the K samples,
  decoder over them and over the search samples) -> filter initializer + ``net_opt_iter``
  steepest-descent iterations, the same number the rollout tracker ran;
* the recorded search samples (uint8) -> score map of the LAST filter iterate -> the SAME
  :class:`~ltr_slt.slt.policy.Policy` object that acted gives ``log pi(recorded action)``; the SLT
  term is ``-adv * log pi`` (``slt_algorithm.md`` 7.1, weight ``sl_clf`` = 4 officially);
* the kept base loss on the same search samples (7.2): SuperDiMP / TrDiMP the IoU-Net KL
  regression on 128 GMM proposals per frame (weight 0.01), DiMP-50 the ATOM IoU regression on 8
  jittered boxes (MSE on 2 IoU - 1, weight 1), against the GT placed in the recorded samples with the
  tracker's own mapping (``get_iounet_box``). Proposals are drawn once per iteration in
  :meth:`SLTDiMPActor.prepare` (checkpointed global RNG), so every chunking sees the same ones.

Chunk-size invariance as in :mod:`ltr_slt.actors.slt_transt`: each term is a sum over the chunk
divided by an iteration-wide total (tracked frames for the SLT term, valid frames for the IoU loss).

``train_iou_net`` (default False = the official behaviour): the official rollout's
``batch_init_iou_net`` sets ``requires_grad=False`` on the training net's IoU-Net, so after the first
rollout it never trains although it has an optimizer group (``slt_algorithm.md`` 9, "Bug / side
effect"); the IoU loss then only reaches backbone layer3 through the frozen IoU-Net. With
``train_iou_net=True`` the IoU-Net's own weights are trained too; nothing else changes.

:class:`SLTRolloutDiMP` is the rollout tracker: :class:`BatchedDiMP` with (a) samples quantised to
uint8 before the backbone, so the recorded uint8 crops ARE the pixels that acted (learning recomputes
the acting policy exactly; at most half a grey level from the evaluation tracker's float samples),
(b) the template boxes kept per clip (``state.clip_template_boxes``) and (c) fresh per-clip RNG seeds
for the init augmentations / jitter boxes from torch's (checkpointed) global RNG at every rollout.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from ltr_slt.actors.base import LossNormaliser, SLTActorBase
from ltr_slt.models.loss.iou_regression import (ATOM_SIGMA_FACTORS, GMM_GT_SIGMA, GMM_PROPOSAL_SIGMA,
                                                iou_mse_per_frame, kl_regression_per_frame, perturb_boxes,
                                                sample_box_gmm)
from ltr_slt.slt.trajectory import Trajectory
from pytracking_slt.tracker.dimp.batched import BatchedDiMP, DiMPState, DiMPStepOutput
from pytracking_slt.tracker.dimp.sampling import normalize_patches

logger = logging.getLogger(__name__)

__all__ = ["SLTDiMPActor", "SLTRolloutDiMP", "set_iou_net_trainable", "gt_in_sample", "IOU_LOSSES"]

IOU_LOSSES = ("kl", "mse")


def set_iou_net_trainable(net: nn.Module, trainable: bool) -> None:
    """``requires_grad`` of every IoU-Net (``bb_regressor``) weight; False reproduces the official run."""
    net = net.module if isinstance(net, (nn.DataParallel, nn.parallel.DistributedDataParallel)) else net
    net.bb_regressor.requires_grad_(bool(trainable))


def _quantise(patches: torch.Tensor) -> torch.Tensor:
    """0..255 float samples -> the same values rounded to uint8 levels (still float)."""
    return patches.round().clamp(0.0, 255.0)


class SLTRolloutDiMP(BatchedDiMP):
    """BatchedDiMP for SLT rollouts: uint8 samples, per-clip template boxes, fresh seeds (module docstring)."""

    def _backbone(self, patches: torch.Tensor) -> Dict[str, torch.Tensor]:
        return super()._backbone(_quantise(patches))

    def init(self, template_images: Sequence[Any], template_boxes: Any, init_boxes: Any = None, copies: int = 1,
             seeds: Optional[Sequence[int]] = None) -> DiMPState:
        if seeds is None:  # new augmentation shifts / jitter every rollout, reproducible on resume
            seeds = torch.randint(0, 2 ** 31 - 1, (len(template_images),)).tolist()
        state = super().init(template_images, template_boxes, init_boxes, copies=copies, seeds=seeds)
        state.template_crops = _quantise(state.template_crops).to(torch.uint8)  # [N, K, 3, S, S]
        state.clip_template_boxes = state.template_boxes.transpose(0, 1).contiguous()  # [N, K', 4]
        return state

    def step(self, frames: Any, state: DiMPState, mode: str = "greedy", generator: Optional[torch.Generator] = None,
             record: bool = False) -> Tuple[DiMPState, DiMPStepOutput]:
        state, out = super().step(frames, state, mode=mode, generator=generator, record=record)
        if record and out.crops is not None:
            out.crops = _quantise(out.crops).to(torch.uint8)
        return state, out


def gt_in_sample(gt_xywh: torch.Tensor, centers: torch.Tensor, sides: torch.Tensor, size: int) -> torch.Tensor:
    """Image boxes ``[..., 4]`` xywh -> sample pixels with the DiMP tracker's mapping (``get_iounet_box``).

    ``centers`` ``[..., 2]`` (x, y) sample centres and ``sides`` ``[...]`` sample sides in image pixels
    (``sample_scale * size``); centre convention ``x + (w - 1) / 2`` as pytracking.
    """
    g = gt_xywh.double()
    scale = (sides.double() / float(size))[..., None]  # image pixels per sample pixel
    c = (g[..., :2] + (g[..., 2:] - 1) / 2 - centers.double()) / scale + (size - 1) / 2
    wh = g[..., 2:] / scale
    return torch.cat([c - (wh - 1) / 2, wh], -1)


class SLTDiMPActor(SLTActorBase):
    """``prepare(traj)`` once per iteration, then ``learn(chunk, advantages, normaliser) -> (loss, stats)``.

    Settings read (defaults = SLT-TrDiMP): ``slt_loss_weight`` 4, ``use_rl_objective`` True,
    ``iou_loss`` 'kl' ('mse' = DiMP-50's ATOM regression), ``iou_loss_weight`` 0.01,
    ``num_proposals`` 128 (8 for 'mse'), ``proposal_sigma`` ((0.05, 0.05), (0.5, 0.5)), ``gt_sigma``
    (0.05, 0.05), ``proposal_min_iou`` 0.1 and ``proposal_sigma_factors`` (0.01 ... 0.3) for 'mse',
    ``train_iou_net`` False (see the module docstring). ``net_opt_iter``: filter iterations of the
    rollout tracker (the learner recomputes the same iterate).
    """

    def __init__(self, net: nn.Module, policy: Any, settings: Any = None, net_opt_iter: int = 5,
                 sample_size: int = 352) -> None:
        super().__init__(net, policy, settings, slt_loss_weight=4.0)
        get = lambda k, d: self.setting(settings, k, d)  # noqa: E731
        self.iou_loss = str(get("iou_loss", "kl"))
        if self.iou_loss not in IOU_LOSSES:
            raise ValueError(f"settings.iou_loss={self.iou_loss!r}: expected one of {IOU_LOSSES}")
        self.iou_loss_weight = float(get("iou_loss_weight", 0.01 if self.iou_loss == "kl" else 1.0))
        self.num_proposals = int(get("num_proposals", 128 if self.iou_loss == "kl" else 8))
        self.proposal_sigma = tuple(tuple(s) for s in get("proposal_sigma", GMM_PROPOSAL_SIGMA))
        self.gt_sigma = tuple(get("gt_sigma", GMM_GT_SIGMA))
        self.proposal_min_iou = float(get("proposal_min_iou", 0.1))
        self.proposal_sigma_factors = tuple(get("proposal_sigma_factors", ATOM_SIGMA_FACTORS))
        self.train_iou_net = bool(get("train_iou_net", False))
        self.net_opt_iter = int(net_opt_iter)
        self.sample_size = int(sample_size)
        set_iou_net_trainable(self.net, self.train_iou_net)
        self.net.eval()

    # -- once per iteration -----------------------------------------------------------------
    @torch.no_grad()
    def prepare(self, traj: Trajectory, generator: Optional[torch.Generator] = None) -> Trajectory:
        """GT in the recorded samples (tracker mapping) and the IoU-Net proposals, for the whole iteration."""
        if not traj.recorded or traj.template_boxes is None:
            raise ValueError("trajectory has no recorded samples / template boxes (rollout(record=True) with "
                             "SLTRolloutDiMP is required)")
        steps, n = traj.num_steps, traj.num_clips
        gt = gt_in_sample(traj.gt_boxes, traj.crop_centers, traj.crop_sides, self.sample_size).float()  # [T-1, N, 4]
        traj.gt_crop = gt
        flat = gt.reshape(-1, 4)
        ok = traj.valid.reshape(-1) & (flat[:, 2:] > 0).all(1)
        safe = torch.where(ok[:, None], flat, flat.new_tensor([0.0, 0.0, 16.0, 16.0]))  # any box: masked out
        if self.iou_loss == "kl":
            props, q, p = sample_box_gmm(safe, self.num_proposals, self.proposal_sigma, self.gt_sigma, generator)
            traj.extras = {"proposals": props.reshape(steps, n, -1, 4), "proposal_density": q.reshape(steps, n, -1),
                           "gt_density": p.reshape(steps, n, -1)}
        else:
            props, target = perturb_boxes(safe, self.num_proposals, self.proposal_min_iou,
                                          self.proposal_sigma_factors, generator=generator)
            traj.extras = {"proposals": props.reshape(steps, n, -1, 4), "proposal_iou": target.reshape(steps, n, -1)}
        return traj

    @torch.no_grad()
    def normaliser(self, traj: Trajectory) -> LossNormaliser:
        """Iteration totals: tracked frames (SLT term) and valid frames (IoU loss, in ``num_pos``)."""
        if traj.gt_crop is None:
            raise ValueError("trajectory was not recorded (rollout(record=True)); cannot learn from it")
        return LossNormaliser(num_frames=float(traj.frame_mask.sum()), num_pos=float(traj.valid.sum()))

    # -- the learning step ------------------------------------------------------------------
    def forward(self, chunk: Trajectory) -> Tuple[torch.Tensor, torch.Tensor]:
        """Re-run the net on a chunk: (score map of the last filter iterate [T-1, n, H, W], IoU scores [T-1, n, P])."""
        train = normalize_patches(chunk.template_crops.transpose(0, 1).float())  # [K, n, 3, S, S]
        train_bb = chunk.template_boxes.transpose(0, 1).float()  # [K', n, 4]
        if train_bb.shape[0] != train.shape[0]:
            raise ValueError(f"{train_bb.shape[0]} template boxes for {train.shape[0]} template samples per clip: "
                             "the 'dropout' init augmentation is not supported in SLT rollouts (the official "
                             "SLT-TrDiMP rollout has none)")
        test = normalize_patches(chunk.search_crops.float())  # [T-1, n, 3, S, S]
        proposals = chunk.extras["proposals"].float()  # [T-1, n, P, 4]
        scores, iou = self.net(train, test, train_bb, proposals, num_iter=self.net_opt_iter, compute_losses=False)
        return scores[-1], iou

    def learn(self, chunk: Trajectory, advantages: torch.Tensor,
              normaliser: Optional[LossNormaliser] = None) -> Tuple[torch.Tensor, Dict[str, float]]:
        """Loss of one chunk of clips; ``advantages`` [T-1, n] (0 on padding). Stats add up over chunks."""
        if not chunk.recorded or chunk.template_crops is None or chunk.extras is None:
            raise ValueError("trajectory chunk has no recorded samples / proposals (rollout(record=True) and "
                             "SLTDiMPActor.prepare are required)")
        chunk, advantages, norm = self._chunk_on_device(chunk, advantages, normaliser)
        mask = chunk.frame_mask  # [T-1, n]
        if not bool(mask.any()):
            return self._zero_loss(), {}

        scores, iou = self.forward(chunk)
        valid = chunk.valid.to(torch.float32)
        if self.iou_loss == "kl":
            per_frame = kl_regression_per_frame(iou, chunk.extras["proposal_density"], chunk.extras["gt_density"])
            name = "Loss/bb_ce"
        else:
            per_frame = iou_mse_per_frame(iou, chunk.extras["proposal_iou"])
            name = "Loss/iou"
        loss_iou = (per_frame * valid).sum() / max(norm.num_pos, 1.0)
        total = self.iou_loss_weight * loss_iou
        stats: Dict[str, float] = {name: float(loss_iou.detach())}

        t_idx, c_idx = mask.nonzero(as_tuple=True)  # real tracked frames
        out = {"scores": scores[t_idx, c_idx]}  # [M, H, W]
        logits = self.policy.logits(out)  # [M, A]
        term = self._self_critical_term(logits, chunk, advantages, t_idx, c_idx, norm, stats)
        if term is not None:
            total = total + term
        stats["entropy"] = self._entropy(logits, norm)
        return self._scaled(total, norm, stats), stats
