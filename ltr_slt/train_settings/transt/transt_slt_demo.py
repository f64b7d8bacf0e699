"""SLT fine-tuning of the demo's pretrained tiny TransT (``slt-demo`` stage 3).

    python -m ltr_slt.run_training transt transt_slt_demo     # after setting the two paths below

The real SLT pipeline (``ltr_slt.train_settings.slt._common``: SequenceSampler -> batched rollout of
greedy + sampled copies -> AO reward with the greedy baseline -> chunked REINFORCE + box losses ->
clipped AdamW step), sized for two CPU cores. It needs ``settings.pretrained_net_path`` (the
frame-level checkpoint to fine-tune: the shipped ``ltr_slt/demo_data/baseline_transt_tiny.pth``) and
``settings.synthetic_train_root`` (the synthetic training set, LaSOT layout); the demo sets both.
Values that differ from the paper (``transt_slt``) and why:

* tiny clips (``num_seq`` 6 x ``num_frames`` 10) and few iterations: CPU budget;
* ``lr`` 1e-4 / backbone 1e-4 here (paper 1e-5 / 1e-6; the demo passes 2e-4, picked on the
  validation split): the paper fine-tunes for 15k iterations, we have tens, and the tiny backbone
  was trained from scratch (no ImageNet features to protect);
* ``min_visible_frames`` = ``num_frames``: synthetic videos are short.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

logger = logging.getLogger(__name__)

DEMO_SLT_VALUES = {
    "description": "SLT fine-tuning of the tiny FLT TransT on synthetic clips (slt-demo)",
    "num_seq": 6,
    "num_frames": 10,
    "samples_per_epoch": 6 * 10,   # 10 iterations per epoch
    "num_epochs": 4,
    "num_workers": 0,
    "p_datasets": [1],
    "max_gap": 60,
    "max_interval": 5,
    "interval_prob": 0.3,
    "frame_sample_mode": "random_interval",
    "min_visible_frames": 10,
    "num_seq_backward": 3,
    "lr": 1e-4,
    "backbone_lr": 1e-4,
    "weight_decay": 1e-4,
    "lr_step_size": 100,
    "lr_gamma": 0.1,
    "slt_loss_weight": 15.0,
    "temperature": 4.0,
    "print_interval": 5,
}


def configure(settings: Any, overwrite: bool = True) -> Any:
    """Put the demo SLT values (then the paper's defaults for the rest) on ``settings``."""
    from ltr_slt.train_settings.slt._common import apply_defaults
    for key, value in DEMO_SLT_VALUES.items():
        if overwrite or not hasattr(settings, key):
            setattr(settings, key, value)
    apply_defaults(settings)
    return settings


def build_net(settings: Any):
    from ltr_slt.admin.loading import load_network
    path = settings.get("pretrained_net_path", None) if hasattr(settings, "get") else None
    if not path:
        raise ValueError("transt_slt_demo: settings.pretrained_net_path must name the FLT tiny TransT checkpoint "
                         "to fine-tune (slt-demo writes <out>/models/flt.pth)")
    net, _ = load_network(path, trusted=bool(settings.get("trusted_checkpoint", False)))
    settings.pretrained_net = path
    return net


def run(settings: Any, overwrite: bool = True,
        before_training: Optional[Callable[[Any], None]] = None) -> Any:
    """Fine-tune; returns the SLTTrainer (``overwrite=False`` keeps values already set on ``settings``).

    ``before_training(trainer)`` runs once the trainer is wired (the demo swaps its progress display).
    """
    from ltr_slt.train_settings.slt import _common
    from ltr_slt.train_settings.transt.transt_tiny import synthetic_training_dataset

    configure(settings, overwrite=overwrite)
    root = settings.get("synthetic_train_root", None)
    if not root:
        raise ValueError("transt_slt_demo: settings.synthetic_train_root must name the synthetic training set")
    net = build_net(settings)
    return _common.train_slt_transt(settings, net, [synthetic_training_dataset(root)], before_training=before_training)
