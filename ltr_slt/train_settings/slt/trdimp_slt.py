"""SLT-TrDiMP: sequence-level fine-tuning of TrDiMP with the paper's values (LaSOT AUC 63.3 -> 64.4).

    python -m ltr_slt.run_training slt trdimp_slt          (or, in a workspace: python ltr/run_training.py slt trdimp_slt)

Starts from the frame-level TrDiMP checkpoint ``trdimp.pth`` (SLTtrack's name; TransformerTrack's
``trdimp_net.pth.tar`` holds the same weights: set ``settings.pretrained_net``). Data: LaSOT train +
GOT-10k vottrain + TrackingNet sets 6-11, equal weights. Every value is set here; the shared wiring
is ``_dimp_common.train_slt_dimp``.

``train_iou_net`` False (default) reproduces the official run, whose IoU-Net is frozen by a side
effect of its rollout (``slt_algorithm.md`` 9); True also trains the IoU-Net's own weights at its
group rate (4e-5). Memory / time knobs: ``num_seq_backward`` (clips per backward chunk; 4 fits a
24 GB GPU, 1-2 for less; the gradient is the same), ``amp`` ('bf16' | 'fp16') for the learning
forward, ``amp_rollout``, torchrun for several GPUs (each rank rolls out its own 8 clips).
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.slt._dimp_common import apply_dimp_defaults
from ltr_slt.train_settings.slt._dimp_full import run_full


def run(settings: Any) -> Any:
    settings.description = "SLT-TrDiMP: sequence-level fine-tuning of TrDiMP (Kim et al., ECCV 2022)"
    # Clips: 8 x (1 template + 24 search frames); 625 iterations per epoch; 40 epochs.
    settings.num_seq = 8
    settings.num_frames = 24
    settings.num_template_frames = 1
    settings.samples_per_epoch = 5000
    settings.num_epochs = 40
    settings.num_workers = 4
    settings.p_datasets = [1, 1, 1]
    settings.trackingnet_sets = [6, 7, 8, 9, 10, 11]
    # Sequence sampling (SS) and temporal augmentation (SA).
    settings.max_gap = 300
    settings.max_interval = 10
    settings.interval_prob = 0.3
    settings.frame_sample_mode = "random_interval"
    # Rollout tracker: SLTtrack's get_tracker_params (no online update, mean-max policy (-7, 7)).
    settings.tracker_variant = "slt_trdimp_rollout"
    # Objective: 4 * SLT term + 0.01 * IoU-Net KL (128 proposals); self-critical AO reward.
    settings.use_rl_objective = True
    settings.slt_loss_weight = 4.0
    settings.iou_loss = "kl"
    settings.iou_loss_weight = 0.01
    settings.num_proposals = 128
    settings.train_iou_net = False
    settings.slt_reward = "ao"
    settings.num_seq_backward = 4
    # Optimisation: Adam, TrDiMP's per-module rates x 0.04, StepLR(8, 0.5), clip 40.
    settings.optimizer_recipe = "slt_trdimp"
    settings.lr_scale = 1.0
    settings.lr_step_size = 8
    settings.lr_gamma = 0.5
    settings.grad_clip_max_norm = 40.0
    settings.pretrained_net = getattr(settings, "pretrained_net", None) or "trdimp.pth"
    apply_dimp_defaults(settings, "trdimp")

    from ltr_slt.models.tracking.dimpnet import trdimpnet50
    return run_full(settings, lambda: trdimpnet50(backbone_pretrained=False))
