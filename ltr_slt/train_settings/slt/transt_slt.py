"""SLT-TransT: sequence-level fine-tuning of TransT-R50 with the paper's values.

    python -m ltr_slt.run_training slt transt_slt
    torchrun --nproc_per_node K -m ltr_slt.run_training slt transt_slt    # K ranks, 8 clips each

Starts from the frame-level TransT checkpoint ``transt.pth`` (``settings.pretrained_net``: a path,
or a file name looked up in ``settings.pretrained_dir``, the pytracking workspace's
``network_path`` / ``pretrained_networks``, and ours; the error lists every folder tried and where
to download). Data: LaSOT train + GOT-10k vottrain + TrackingNet sets 0-3, equal weights.

Ablation switches (``slt_algorithm.md`` 12): ``use_rl_objective`` (SO; False = SS only),
``frame_sample_mode`` ('random_interval' = SA on, 'sequential' = off), ``spatial_augmentation``.
"""
from __future__ import annotations

from typing import Any

from ltr_slt.models.tracking.transt import set_r50_settings
from ltr_slt.train_settings.slt._common import apply_defaults, resolve_pretrained, train_slt_transt


def run(settings: Any) -> Any:
    settings.description = "SLT-TransT: sequence-level fine-tuning of TransT-R50 (Kim et al., ECCV 2022)"
    # Clips: 8 x (1 template + 24 search frames); 125 iterations per epoch; 120 epochs.
    settings.num_seq = 8
    settings.num_frames = 24
    settings.num_template_frames = 1
    settings.samples_per_epoch = 1000
    settings.num_epochs = 120
    settings.num_workers = 4
    settings.p_datasets = [1, 1, 1]
    # Sequence sampling (SS) and temporal augmentation (SA).
    settings.max_gap = 300
    settings.max_interval = 10
    settings.interval_prob = 0.3
    settings.frame_sample_mode = "random_interval"
    settings.spatial_augmentation = False
    # Policy and tracker (the same policy object drives the rollout and the learner).
    settings.temperature = 4.0
    settings.sig_eps = 0.01
    settings.window_influence = 0.49
    # Objective: 15 * SLT term + 5 * L1 + 2 * GIoU; self-critical AO reward.
    settings.use_rl_objective = True
    settings.slt_loss_weight = 15.0
    settings.loss_weight = {"loss_bbox": 5.0, "loss_giou": 2.0}
    settings.slt_reward = "ao"
    settings.num_seq_backward = 2
    # Optimisation: AdamW 1e-5 (backbone 1e-6), wd 1e-4, StepLR(100, 0.1), clip 100.
    settings.lr = 1e-5
    settings.backbone_lr = 1e-6
    settings.weight_decay = 1e-4
    settings.lr_step_size = 100
    settings.lr_gamma = 0.1
    settings.grad_clip_max_norm = 100.0
    settings.print_interval = 1
    set_r50_settings(settings)  # TransT-R50 (official constructor attributes)
    apply_defaults(settings)

    # Fail early and clearly on missing weights or datasets, before anything heavy is built.
    pretrained = resolve_pretrained(settings)
    from ltr_slt.dataset import Got10k, Lasot, TrackingNet

    datasets = [Lasot(settings.env.lasot_dir or None, split="train"),
                Got10k(settings.env.got10k_dir or None, split="vottrain"),
                TrackingNet(settings.env.trackingnet_dir or None, set_ids=[0, 1, 2, 3])]

    from ltr_slt.admin.loading import load_checkpoint
    from ltr_slt.models.tracking.transt import transt_resnet50

    net = transt_resnet50(settings, backbone_pretrained=False)
    load_checkpoint(net, pretrained, strict=True)
    return train_slt_transt(settings, net, datasets)
