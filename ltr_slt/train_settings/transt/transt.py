"""TransT-R50 frame-level training, the official recipe (TransT's ``ltr/train_settings/transt/transt.py``).

    python -m ltr_slt.run_training transt transt

AdamW lr 1e-4 (backbone 1e-5), weight decay 1e-4, StepLR(500), 1000 epochs x 1000 iterations of
batch 38; template/search pairs at most 100 frames apart, template crop 2x -> 128, search crop 4x
-> 256 around a jittered box (centre 3, scale 0.25), grayscale 0.05, brightness 0.2; criterion CE
x8.334 + L1 x5 + GIoU x2. Datasets: LaSOT train, GOT-10k vottrain, TrackingNet TRAIN_0..3.

Not supported: **COCO** (the official run mixes MS-COCO 2017 still images in with weight 1; we
have no COCO reader, so the three video datasets are sampled 1:1:1 instead). The ResNet-50
backbone starts from ImageNet weights read from a *local* file (``settings.backbone_pretrained_path``
or ``<pretrained_networks>/resnet50-19c8e357.pth``); nothing is downloaded.
"""
from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def configure(settings: Any) -> Any:
    """Set the official hyper-parameters on ``settings`` (returns it)."""
    settings.description = "TransT-R50 frame-level training with the official settings (no COCO)."
    settings.batch_size = 38
    settings.num_workers = 4
    settings.print_interval = 10
    settings.normalize_mean = [0.485, 0.456, 0.406]
    settings.normalize_std = [0.229, 0.224, 0.225]
    settings.search_area_factor = 4.0
    settings.template_area_factor = 2.0
    settings.search_feature_sz = 32
    settings.template_feature_sz = 16
    settings.search_sz = settings.search_feature_sz * 8
    settings.temp_sz = settings.template_feature_sz * 8
    settings.center_jitter_factor = {"search": 3, "template": 0}
    settings.scale_jitter_factor = {"search": 0.25, "template": 0}
    settings.grayscale_probability = 0.05
    settings.brightness_jitter = 0.2
    settings.max_gap = 100
    settings.samples_per_epoch = 1000 * settings.batch_size
    from ltr_slt.models.tracking.transt import set_r50_settings
    set_r50_settings(settings)  # transformer attributes read by transt_resnet50
    # criterion
    settings.eos_coef = 0.0625
    settings.weight_dict = {"loss_ce": 8.334, "loss_bbox": 5, "loss_giou": 2}
    # optimisation
    settings.lr = 1e-4
    settings.backbone_lr = 1e-5
    settings.weight_decay = 1e-4
    settings.lr_step = 500
    settings.lr_gamma = 0.1
    settings.num_epochs = 1000
    return settings


def datasets(settings: Any) -> list:
    """LaSOT train + GOT-10k vottrain + TrackingNet TRAIN_0..3 (paths from ``settings.env``)."""
    from ltr_slt.dataset import Got10k, Lasot, TrackingNet
    env = settings.env
    return [Lasot(env.lasot_dir or None, split="train"),
            Got10k(env.got10k_dir or None, split="vottrain"),
            TrackingNet(env.trackingnet_dir or None, set_ids=list(range(4)))]


def run(settings: Any) -> None:
    from ltr_slt.models.tracking.transt import transt_resnet50
    from ltr_slt.trainers.flt_trainer import build_flt_trainer

    configure(settings)
    logger.warning("transt: MS-COCO is not supported; training on LaSOT + GOT-10k + TrackingNet only (1:1:1)")
    net = transt_resnet50(settings, backbone_pretrained=True)
    trainer = build_flt_trainer(settings, net, datasets(settings), p_datasets=[1, 1, 1])
    trainer.train(settings.num_epochs, load_latest=True, fail_safe=True)
