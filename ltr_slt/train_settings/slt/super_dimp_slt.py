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
from ltr_slt.train_settings.slt._dimp_full import run_full, set_slt_recipe


def run(settings: Any) -> Any:
    set_slt_recipe(settings, description="SLT-SuperDiMP: sequence-level fine-tuning of SuperDiMP",
                   tracker_variant="super_dimp", tracker_slt_rollout=True,  # + SLT-TrDiMP's rollout recipe
                   iou_loss="kl", iou_loss_weight=0.01, num_proposals=128, optimizer_recipe="super_dimp")
    settings.pretrained_net = getattr(settings, "pretrained_net", None) or "super_dimp.pth.tar"
    apply_dimp_defaults(settings, "super_dimp")

    from ltr_slt.models.tracking.dimpnet import super_dimpnet50
    return run_full(settings, super_dimpnet50)
