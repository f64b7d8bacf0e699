"""Tiny TransT frame-level training on synthetic data: the CPU-sized baseline of the demo.

    python -m ltr_slt.run_training transt transt_tiny [--device cpu]

The same recipe as :mod:`ltr_slt.train_settings.transt.transt` (pairs, jittered crops, TransT
criterion, AdamW + StepLR) with the tiny network ``transt_tiny()`` (~76k parameters, same classes,
same 128/256 crops and 32x32 grid) and sizes that train in minutes on two CPU cores. The tiny net
has no ImageNet weights, so the backbone trains at the full learning rate.

Starting weights: ``settings.pretrained_net_path`` (a tiny TransT checkpoint; the network is rebuilt
from the constructor stored in it), else random initialisation.

Data: ``settings.synthetic_train_root`` if set, else ``env.synthetic_dir``, else a synthetic set
generated once into ``<workspace_dir>/synthetic/transt_tiny`` (seeded, LaSOT layout).
"""
from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

# Synthetic training set made when nothing is configured (the demo passes its own root).
DEFAULT_NUM_SEQ = 40
DEFAULT_NUM_FRAMES = 60
DEFAULT_DATA_SEED = 1


def configure(settings: Any) -> Any:
    """Set the tiny recipe on ``settings`` (returns it); the demo overrides sizes afterwards."""
    settings.description = "Tiny TransT frame-level training on synthetic sequences (CPU)."
    settings.batch_size = 8
    settings.num_workers = 0
    settings.print_interval = 20
    settings.search_area_factor = 4.0
    settings.template_area_factor = 2.0
    settings.center_jitter_factor = {"search": 3, "template": 0}
    settings.scale_jitter_factor = {"search": 0.25, "template": 0}
    settings.grayscale_probability = 0.05
    settings.brightness_jitter = 0.2
    settings.max_gap = 30
    settings.samples_per_epoch = 40 * settings.batch_size
    settings.eos_coef = 0.0625
    settings.weight_dict = {"loss_ce": 8.334, "loss_bbox": 5, "loss_giou": 2}
    settings.lr = 1e-3
    settings.backbone_lr = 1e-3
    settings.weight_decay = 1e-4
    settings.lr_step = 15
    settings.lr_gamma = 0.3
    settings.num_epochs = 20  # ~800 updates: box regression of the tiny net only takes off after ~300
    settings.grad_clip_max_norm = 100.0
    settings.tiny_config = {"dropout": 0.0}  # overrides of TINY_CONFIG (any TransTConfig field)
    return settings


def synthetic_training_dataset(root: str) -> Any:
    """An ltr dataset over a synthetic folder, whichever layout ``slt-synthetic`` wrote there."""
    from ltr_slt.dataset import Got10k, Lasot
    for folder in (root, os.path.join(root, "train")):
        if os.path.isfile(os.path.join(folder, "list.txt")):
            return Got10k(folder)
    split = "train" if os.path.isfile(os.path.join(root, "training_set.txt")) else None
    return Lasot(root, split=split)


def ensure_synthetic(root: str, num_seq: int = DEFAULT_NUM_SEQ, num_frames: int = DEFAULT_NUM_FRAMES,
                     seed: int = DEFAULT_DATA_SEED) -> str:
    """Generate a LaSOT-layout synthetic set into ``root`` unless one is already there."""
    from ltr_slt.dataset.synthetic import SyntheticConfig, generate_dataset
    if os.path.isfile(os.path.join(root, "training_set.txt")) or os.path.isfile(os.path.join(root, "list.txt")):
        return root
    logger.info("generating %d synthetic training sequences (%d frames, seed %d) into %s",
                num_seq, num_frames, seed, root)
    generate_dataset(root, "lasot", num_seq, seed, SyntheticConfig(num_frames=num_frames), test_every=0)
    return root


def datasets(settings: Any, name: str = "transt_tiny") -> list:
    """``settings.synthetic_train_root``, else ``env.synthetic_dir``, else one generated into
    ``<workspace_dir>/synthetic/<name>`` (also used by the tiny DiMP-family FLT settings)."""
    root = settings.get("synthetic_train_root", None) or getattr(settings.env, "synthetic_dir", "")
    if not root:
        workspace = getattr(settings.env, "workspace_dir", "") or "."
        root = ensure_synthetic(os.path.join(os.path.expanduser(workspace), "synthetic", name))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{name}: synthetic training root '{root}' does not exist "
                                "(write one with `slt-synthetic --out DIR`)")
    return [synthetic_training_dataset(root)]


def build(settings: Any):
    """(net, trainer) for the configured settings (used by ``run`` and the demo)."""
    from ltr_slt.models.tracking.transt import transt_tiny
    from ltr_slt.trainers.flt_trainer import build_flt_trainer
    config = {"dropout": 0.0, **dict(settings.get("tiny_config", None) or {})}  # TransTConfig fields
    net = transt_tiny(**config)
    start = settings.get("pretrained_net_path", None)
    if start:  # continue frame-level training from a checkpoint (the demo's FLT-continued ablation)
        from ltr_slt.admin.loading import load_network
        net, _ = load_network(start, trusted=bool(settings.get("trusted_checkpoint", False)))
        logger.info("transt_tiny starts from %s", start)
    return net, build_flt_trainer(settings, net, datasets(settings))


def run(settings: Any) -> None:
    configure(settings)
    _, trainer = build(settings)
    trainer.train(settings.num_epochs, load_latest=bool(settings.get("load_latest", True)))
