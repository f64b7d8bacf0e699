"""Pieces shared by the DiMP-family SLT settings (SLT-TrDiMP, SLT-SuperDiMP, SLT-DiMP-50; full and tiny).

A settings file states its values in ``run(settings)`` and calls :func:`train_slt_dimp`, which builds
rollout tracker (:class:`~ltr_slt.actors.slt_dimp.SLTRolloutDiMP`, parameters from
``pytracking_slt.parameter.dimp_common``) -> the SAME policy object in the actor
(:class:`~ltr_slt.actors.slt_dimp.SLTDiMPActor`) -> sampler / loader (shared with SLT-TransT) ->
Adam with the official per-module learning rates -> StepLR -> :class:`SLTTrainer`, and trains.

Official SLT-TrDiMP values (``slt_algorithm.md`` 2.1, 7, 8.1, 9, 15): 8 clips x 24 search frames per
iteration, chunks of 4 clips, SLT weight 4, IoU-Net KL x 0.01 on 128 proposals, Adam with the
TrDiMP rates x 0.04, StepLR(8, 0.5), gradient clip 40, 40 epochs x 625 iterations (5000 clips).
SLT-SuperDiMP and SLT-DiMP-50 have no official recipe: they use the same SLT values with their own
FLT rates x 0.04 and their own kept IoU loss (DiMP-50: ATOM IoU MSE x 1 on 8 boxes).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

import torch

from ltr_slt.train_settings.slt._common import train_slt

__all__ = ["SLT_TRDIMP_DEFAULTS", "FAMILY_VALUES", "apply_dimp_defaults", "build_dimp_optimizer",
           "build_dimp_tracker_and_actor", "train_slt_dimp"]

SLT_TRDIMP_DEFAULTS: Dict[str, Any] = {
    "description": "SLT-TrDiMP: sequence-level fine-tuning of TrDiMP",
    # data (slt_algorithm.md 2.1)
    "num_seq": 8,
    "num_frames": 24,
    "num_template_frames": 1,
    "samples_per_epoch": 5000,       # 625 iterations per epoch
    "max_gap": 300,
    "max_interval": 10,
    "interval_prob": 0.3,
    "frame_sample_mode": "random_interval",
    "spatial_augmentation": False,
    "num_workers": 4,
    "p_datasets": [1, 1, 1],
    # rollout tracker: a parameter set of pytracking_slt.parameter.dimp_common plus overrides
    "tracker_variant": "slt_trdimp_rollout",
    "tracker_params": {},
    # objective
    "use_rl_objective": True,
    "slt_loss_weight": 4.0,          # sl_clf
    "iou_loss": "kl",                # IoU-Net KL regression (bb_ce)
    "iou_loss_weight": 0.01,
    "num_proposals": 128,
    "proposal_sigma": ((0.05, 0.05), (0.5, 0.5)),
    "gt_sigma": (0.05, 0.05),
    "train_iou_net": False,          # official: frozen by a side effect (slt_algorithm.md 9)
    "slt_reward": "ao",
    "slt_reward_invisible": "skip",
    "num_seq_backward": 4,           # clips per backward chunk (the gradient does not depend on it)
    # optimisation: Adam, per-module rates (ltr_slt.models.tracking.param_groups.RECIPES)
    "optimizer_recipe": "slt_trdimp",
    "lr_scale": 1.0,
    "lr_step_size": 8,
    "lr_gamma": 0.5,
    "grad_clip_max_norm": 40.0,
    "num_epochs": 40,
    "amp": None,
    "amp_rollout": False,
    "print_interval": 1,
    "fail_safe": False,
    "pretrained_net": "trdimp.pth",
}

# What the other two families change (no official SLT recipe: their FLT rates x 0.04, own IoU loss).
FAMILY_VALUES: Dict[str, Dict[str, Any]] = {
    "trdimp": {},
    "super_dimp": {"description": "SLT-SuperDiMP: sequence-level fine-tuning of SuperDiMP",
                   "tracker_variant": "super_dimp", "tracker_slt_rollout": True,
                   "optimizer_recipe": "super_dimp", "lr_scale": 0.04, "pretrained_net": "super_dimp.pth.tar"},
    "dimp50": {"description": "SLT-DiMP-50: sequence-level fine-tuning of DiMP-50",
               "tracker_variant": "slt_dimp_rollout", "optimizer_recipe": "dimp50", "lr_scale": 0.04,
               "iou_loss": "mse", "iou_loss_weight": 1.0, "num_proposals": 8, "proposal_min_iou": 0.1,
               "proposal_sigma_factors": (0.01, 0.05, 0.1, 0.2, 0.3), "pretrained_net": "dimp50.pth"},
}


def apply_dimp_defaults(settings: Any, family: str, values: Optional[Dict[str, Any]] = None) -> Any:
    """Set every default ``settings`` lacks: SLT-TrDiMP's, then ``family``'s, then ``values``."""
    if family not in FAMILY_VALUES:
        raise ValueError(f"unknown DiMP family '{family}' (known: {sorted(FAMILY_VALUES)})")
    merged = dict(SLT_TRDIMP_DEFAULTS)
    merged.update(FAMILY_VALUES[family])
    merged.update(values or {})
    for key, value in merged.items():
        if not hasattr(settings, key):
            setattr(settings, key, value)
    return settings


def build_dimp_optimizer(net: torch.nn.Module, settings: Any) -> torch.optim.Optimizer:
    """Adam (no weight decay) over the recipe's per-module groups, every rate x ``settings.lr_scale``."""
    from ltr_slt.models.tracking.param_groups import dimp_param_groups

    groups, lr = dimp_param_groups(net, settings.optimizer_recipe, lr_scale=float(settings.lr_scale))
    return torch.optim.Adam(groups, lr=lr)


def tracker_parameters(net: torch.nn.Module, settings: Any, device: torch.device | str) -> Any:
    """Rollout-time TrackerParams: ``settings.tracker_variant`` (+ SLT rollout recipe) + ``tracker_params``."""
    from pytracking_slt.parameter.dimp_common import dimp_parameters, slt_rollout_overrides

    overrides: Dict[str, Any] = {}
    if getattr(settings, "tracker_slt_rollout", False):  # a plain evaluation variant: add the SLT rollout recipe
        overrides.update(slt_rollout_overrides())
    overrides.update(dict(getattr(settings, "tracker_params", None) or {}))
    dev = torch.device(device)
    return dimp_parameters(settings.tracker_variant, net=net, device=str(dev), use_gpu=dev.type == "cuda",
                           **overrides)


def build_dimp_tracker_and_actor(net: torch.nn.Module, settings: Any, device: torch.device | str):
    """Rollout tracker and actor sharing one policy object (the tracker's)."""
    from ltr_slt.actors.slt_dimp import SLTDiMPActor, SLTRolloutDiMP

    params = tracker_parameters(net, settings, device)
    tracker = SLTRolloutDiMP(net, params, device=device)
    actor = SLTDiMPActor(net, tracker.policy, settings=settings, net_opt_iter=int(params.net_opt_iter),
                         sample_size=tracker.img_sample_sz)
    return tracker, actor


def train_slt_dimp(settings: Any, net: torch.nn.Module, datasets: Sequence[Any],
                   before_training: Optional[Callable[[Any], None]] = None) -> Any:
    """SLT for the DiMP family: :func:`~ltr_slt.train_settings.slt._common.train_slt` with the DiMP rollout
    tracker / actor and Adam over the official per-module rates."""
    return train_slt(settings, net, datasets, build_dimp_tracker_and_actor, build_dimp_optimizer,
                     details=f", train_iou_net={settings.train_iou_net}", before_training=before_training)
