"""SLT-SuperDiMP: SLT-TrDiMP's recipe on SuperDiMP (no official run; our extension).

    python -m ltr_slt.run_training slt super_dimp_slt

Starts from pytracking's ``super_dimp.pth.tar``. Same clips, policy, reward, chunking, schedule and
clip as ``trdimp_slt``; the optimiser uses SuperDiMP's own per-module FLT rates x 0.04 (the factor
SLT-TrDiMP applies to TrDiMP's); the kept loss is SuperDiMP's IoU-Net KL regression x 0.01.
``train_iou_net`` as in ``trdimp_slt`` (default False, the official SLT-TrDiMP behaviour).
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.slt._dimp_common import apply_dimp_defaults
from ltr_slt.train_settings.slt._dimp_full import run_full


def run(settings: Any) -> Any:
    settings.description = "SLT-SuperDiMP: sequence-level fine-tuning of SuperDiMP"
    settings.num_seq = 8
    settings.num_frames = 24
    settings.samples_per_epoch = 5000
    settings.num_epochs = 40
    settings.p_datasets = [1, 1, 1]
    settings.trackingnet_sets = [6, 7, 8, 9, 10, 11]
    settings.tracker_variant = "super_dimp"
    settings.tracker_slt_rollout = True  # + SLT-TrDiMP's rollout recipe
    settings.slt_loss_weight = 4.0
    settings.iou_loss = "kl"
    settings.iou_loss_weight = 0.01
    settings.num_proposals = 128
    settings.train_iou_net = False
    settings.num_seq_backward = 4
    settings.optimizer_recipe = "super_dimp"
    settings.lr_scale = 0.04
    settings.lr_step_size = 8
    settings.lr_gamma = 0.5
    settings.grad_clip_max_norm = 40.0
    settings.pretrained_net = getattr(settings, "pretrained_net", None) or "super_dimp.pth.tar"
    apply_dimp_defaults(settings, "super_dimp")

    from ltr_slt.models.tracking.dimpnet import super_dimpnet50
    return run_full(settings, super_dimpnet50)
