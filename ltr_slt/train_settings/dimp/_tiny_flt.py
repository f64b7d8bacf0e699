"""Body of the tiny DiMP-family frame-level (FLT) settings: the baseline SLT starts from, on a CPU.

    python -m ltr_slt.run_training dimp trdimp_tiny      (also super_dimp_tiny, dimp50_tiny)

The family's own recipe (:mod:`ltr_slt.actors.dimp_flt`: 3 train + 3 test frames, jittered ltr
crops, LBHinge on every filter iterate, IoU-Net KL / MSE) with a tiny network of the family
(``ltr_slt.models.tracking.dimpnet``) and sizes that train in minutes on two cores: 128 px samples
(8 x 8 features), batch 8. The tiny nets have no ImageNet weights, so nothing is frozen and every
weight trains at one learning rate (the official per-module rates assume a pretrained backbone).
Data: as ``transt_tiny`` (``settings.synthetic_train_root``, ``env.synthetic_dir``, else generated once).
Starting weights: ``settings.pretrained_net_path`` (FLT continued), else random initialisation.
Every value is a default: attributes already on ``settings`` win.
"""
from __future__ import annotations

import logging
from typing import Any, Dict

logger = logging.getLogger(__name__)

__all__ = ["TINY_FLT_VALUES", "TINY_FACTORIES", "build_tiny_flt", "run_tiny_flt"]

TINY_FACTORIES = {"trdimp": "trdimpnet_tiny", "super_dimp": "super_dimpnet_tiny", "dimp50": "dimpnet_tiny"}

OFFICIAL_FEATURE_SZ = {"trdimp": 22, "super_dimp": 22, "dimp50": 18}

TINY_FLT_VALUES: Dict[str, Any] = dict(
    batch_size=8,
    num_workers=0,
    samples_per_epoch=8 * 40,        # 40 updates per epoch
    num_epochs=20,
    max_gap=30,
    output_sz=128,
    optimizer_recipe=None,           # one Adam group at lr (no pretrained backbone to protect)
    lr=1e-3,
    lr_step=15,
    lr_gamma=0.3,
    frozen_backbone_layers=(),
    grad_clip_max_norm=100.0,
    print_interval=20,
)


def _unfreeze(net: Any, layers: Any) -> None:
    """Apply ``frozen_backbone_layers`` to a tiny net (its factory froze SuperDiMP's / TrDiMP's stem)."""
    fe = net.feature_extractor
    fe.requires_grad_(True)
    fe.set_frozen_layers(tuple(layers))


def build_tiny_flt(settings: Any, family: str):
    """(net, trainer) of the tiny FLT recipe for ``family`` (used by ``run`` and experiments)."""
    from ltr_slt.models.tracking import dimpnet
    from ltr_slt.train_settings.transt.transt_tiny import datasets
    from ltr_slt.trainers.flt_trainer import build_dimp_flt_trainer

    if family not in TINY_FACTORIES:
        raise ValueError(f"unknown DiMP family '{family}' (known: {sorted(TINY_FACTORIES)})")
    for key, value in TINY_FLT_VALUES.items():
        if not hasattr(settings, key):
            setattr(settings, key, value)
    if family == "dimp50" and not hasattr(settings, "num_proposals"):
        settings.num_proposals = 8
    if not hasattr(settings, "output_sigma_factor"):
        # the label's width in feature cells as on the official maps (1/4/factor x 22, DiMP-50 x 18 cells),
        # which is also the tiny nets' init_gauss_sigma
        settings.output_sigma_factor = 0.25 * OFFICIAL_FEATURE_SZ[family] / (int(settings.output_sz) // 16)
    start = settings.get("pretrained_net_path", None)
    if start:  # continue frame-level training from a checkpoint (the FLT-continued control)
        from ltr_slt.admin.loading import load_network
        net, _ = load_network(start, trusted=bool(settings.get("trusted_checkpoint", False)))
        logger.info("%s starts from %s", TINY_FACTORIES[family], start)
    else:
        net = getattr(dimpnet, TINY_FACTORIES[family])(**dict(settings.get("tiny_net_kwargs", None) or {}))
    _unfreeze(net, settings.frozen_backbone_layers)
    return net, build_dimp_flt_trainer(settings, net, datasets(settings, f"{family}_tiny"), family)


def run_tiny_flt(settings: Any, family: str) -> Any:
    settings.description = f"Tiny {family} frame-level training on synthetic sequences (CPU)."
    _, trainer = build_tiny_flt(settings, family)
    trainer.train(settings.num_epochs, load_latest=bool(settings.get("load_latest", True)))
    return trainer
