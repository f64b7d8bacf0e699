"""SLT-DiMP-50: SLT-TrDiMP's recipe on DiMP-50 (no official run; our extension).

    python -m ltr_slt.run_training slt dimp_slt

Starts from pytracking's ``dimp50.pth``. Same clips, policy, reward, chunking, schedule and clip as
``trdimp_slt``; the optimiser uses DiMP-50's own per-module FLT rates x 0.04; the kept loss is
DiMP-50's ATOM IoU regression (MSE on 2 IoU - 1 of 8 jittered boxes per frame, weight 1, as its FLT
training). ``train_iou_net`` as in ``trdimp_slt``.
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.slt._dimp_common import apply_dimp_defaults
from ltr_slt.train_settings.slt._dimp_full import run_full, set_slt_recipe


def run(settings: Any) -> Any:
    set_slt_recipe(settings, description="SLT-DiMP-50: sequence-level fine-tuning of DiMP-50",
                   tracker_variant="slt_dimp_rollout", iou_loss="mse", iou_loss_weight=1.0, num_proposals=8,
                   optimizer_recipe="dimp50")
    settings.pretrained_net = getattr(settings, "pretrained_net", None) or "dimp50.pth"
    apply_dimp_defaults(settings, "dimp50")

    from ltr_slt.models.tracking.dimpnet import dimpnet50
    return run_full(settings, dimpnet50)
