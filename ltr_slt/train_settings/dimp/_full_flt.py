"""Body of the full DiMP-family frame-level settings: ltr's ``dimp50.py`` / ``super_dimp.py`` and
TransformerTrack's ``transformer_dimp.py`` on this package's data pipeline.

    python -m ltr_slt.run_training dimp trdimp        (also dimp50, super_dimp)

Values: :data:`ltr_slt.trainers.flt_trainer.DIMP_FLT_DEFAULTS` (batch, sampler gap, epoch size, Adam
per-module rates and frozen layers) and :data:`ltr_slt.actors.dimp_flt.FAMILY_PROCESSING` (crops, jitter,
labels, proposals, loss weights), 50 epochs, StepLR(15, 0.2), 8 workers. Datasets: LaSOT train, GOT-10k
vottrain, TrackingNet sets 0-3. Not supported: **COCO** (the official runs mix MS-COCO still images in;
we have no COCO reader), so the video datasets keep their official relative weights.

Starting weights: ``settings.pretrained_net`` (a file name or path, looked up like the SLT settings'
baseline): frame-level training continued from a released checkpoint, i.e. the full-scale
"FLT-continued" control of an SLT run; else ImageNet ResNet-50 weights from a local file (the
factories' ``backbone_pretrained``; nothing is downloaded).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict

logger = logging.getLogger(__name__)

__all__ = ["FULL_FLT_VALUES", "P_DATASETS", "FACTORIES", "run_full_flt"]

FULL_FLT_VALUES: Dict[str, Any] = dict(num_epochs=50, num_workers=8, lr_step=15, lr_gamma=0.2, print_interval=1,
                                       fail_safe=True)
# official weights of (LaSOT, GOT-10k, TrackingNet) with COCO left out
P_DATASETS = {"dimp50": [0.25, 1, 1], "super_dimp": [1, 1, 1], "trdimp": [1, 1, 1]}
FACTORIES = {"dimp50": "dimpnet50", "super_dimp": "super_dimpnet50", "trdimp": "trdimpnet50"}
SOURCES = {"dimp50": "ltr/train_settings/dimp/dimp50.py", "super_dimp": "ltr/train_settings/dimp/super_dimp.py",
           "trdimp": "TransformerTrack's ltr/train_settings/dimp/transformer_dimp.py"}


def run_full_flt(settings: Any, family: str) -> Any:
    """Set the family's values ``settings`` lacks, check weights and data, build the net, train."""
    from ltr_slt.dataset import Got10k, Lasot, TrackingNet
    from ltr_slt.models.tracking import dimpnet
    from ltr_slt.trainers.flt_trainer import build_dimp_flt_trainer

    factory: Callable[..., Any] = getattr(dimpnet, FACTORIES[family])
    settings.description = f"{family} frame-level training, official recipe ({SOURCES[family]}), no COCO"

    for key, value in FULL_FLT_VALUES.items():
        if not hasattr(settings, key):
            setattr(settings, key, value)
    logger.warning("%s: MS-COCO is not supported; training on LaSOT + GOT-10k + TrackingNet only", family)
    start = getattr(settings, "pretrained_net", None)
    path = None
    if start:
        from ltr_slt.train_settings.slt._common import resolve_pretrained
        path = resolve_pretrained(settings)  # error lists every folder searched and the download source
    env = settings.env
    datasets = [Lasot(env.lasot_dir or None, split="train"), Got10k(env.got10k_dir or None, split="vottrain"),
                TrackingNet(env.trackingnet_dir or None, set_ids=list(range(4)))]
    if path:
        from ltr_slt.admin.loading import load_checkpoint
        net = factory(backbone_pretrained=False)
        load_checkpoint(net, path, strict=True)
        logger.info("%s frame-level training continues from %s", family, path)
    else:
        net = factory(backbone_pretrained=True)
    trainer = build_dimp_flt_trainer(settings, net, datasets, family, p_datasets=P_DATASETS[family])
    trainer.train(int(settings.num_epochs), load_latest=True, fail_safe=bool(settings.fail_safe))
    return trainer
