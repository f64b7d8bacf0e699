"""FLTTrainer: ordinary frame-level training, the baseline SLT starts from (and its FLT-continued control).

All the machinery (epochs, checkpoints + resume, non-finite step skipping, clipping, AMP, DDP
gradient averaging, stats, tensorboard, progress lines) is :class:`BaseTrainer`'s; one training
step here is just: crop + forward + the family's loss (the actor) -> one safe optimiser step.
:func:`build_flt_trainer` wires TransT's pair recipe, :func:`build_dimp_flt_trainer` the DiMP family's
(3 train + 3 test frames, :class:`~ltr_slt.actors.dimp_flt.DiMPFLTActor`).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence

import torch

from ltr_slt.trainers.base_trainer import BaseTrainer

logger = logging.getLogger(__name__)

__all__ = ["FLTTrainer", "flt_param_groups", "build_flt_trainer", "build_dimp_flt_trainer", "DIMP_FLT_DEFAULTS"]


class FLTTrainer(BaseTrainer):
    """``FLTTrainer(actor, loaders, optimizer, settings, lr_scheduler=None)``; actor: ``actor(batch) -> (loss, stats)``."""

    def train_step(self, batch: Sequence[Any]) -> Dict[str, float]:
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            loss, stats = self.actor(batch)
        res = self.optimizer_step(loss)  # backward + (DDP average, clip, non-finite check) + step
        stats = dict(stats)
        stats["skipped"] = 0.0 if res.stepped else 1.0
        return stats

    def eval_step(self, batch: Sequence[Any]) -> Dict[str, float]:
        """Validation loader (``training=False``): loss and IoU stats without an update."""
        _, stats = self.actor(batch)
        return dict(stats)


def flt_param_groups(net: Any, lr: float, backbone_lr: float) -> list:
    """TransT's two parameter groups: everything but the backbone at ``lr``, the backbone at ``backbone_lr``."""
    head = [p for n, p in net.named_parameters() if "backbone" not in n and p.requires_grad]
    body = [p for n, p in net.named_parameters() if "backbone" in n and p.requires_grad]
    return [{"params": head, "lr": float(lr)}, {"params": body, "lr": float(backbone_lr)}]


def build_flt_trainer(settings: Any, net: torch.nn.Module, datasets: Sequence[Any],
                      p_datasets: Optional[Sequence[float]] = None) -> FLTTrainer:
    """Sampler + loader + actor + AdamW + StepLR + trainer from ltr-style settings (shared by the settings files).

    Settings read (TransT defaults): ``batch_size`` 38, ``num_workers`` 4, ``samples_per_epoch``
    (1000 x batch), ``max_gap`` 100, ``lr`` 1e-4, ``backbone_lr`` 1e-5, ``weight_decay`` 1e-4,
    ``lr_step`` 500, ``lr_gamma`` 0.1, ``seed``, plus the crop/jitter attributes of
    :class:`~ltr_slt.actors.transt_flt.FLTCropSettings` and the criterion's ``eos_coef`` / ``weight_dict``.
    """
    from ltr_slt.actors.transt_flt import TransTFLTActor
    from ltr_slt.admin.seeding import WorkerSeeder
    from ltr_slt.data.pair_sampler import PairLoader, PairSampler
    from ltr_slt.models.loss import transt_loss

    get = settings.get if hasattr(settings, "get") else (lambda k, d=None: getattr(settings, k, d))
    batch_size = int(get("batch_size", 38))
    seed = int(get("seed", None) or 0)
    rank = int(get("rank", 0) or 0)
    sampler = PairSampler(datasets, p_datasets, samples_per_epoch=int(get("samples_per_epoch", None) or 1000 * batch_size),
                          max_gap=int(get("max_gap", 100)), seed=seed + 7919 * rank)
    num_workers = int(get("num_workers", 4))
    loader = PairLoader("train", sampler, training=True, batch_size=batch_size, num_workers=num_workers,
                        worker_init_fn=WorkerSeeder(seed, rank) if num_workers > 0 else None)
    actor = TransTFLTActor(net, transt_loss(settings), settings)
    optimizer = torch.optim.AdamW(flt_param_groups(net, float(get("lr", 1e-4)), float(get("backbone_lr", 1e-5))),
                                  lr=float(get("lr", 1e-4)), weight_decay=float(get("weight_decay", 1e-4)))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, int(get("lr_step", 500)), float(get("lr_gamma", 0.1)))
    n_params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    logger.info("FLT: %d trainable parameters, %d pairs/epoch, batch %d", n_params, len(sampler), batch_size)
    return FLTTrainer(actor, [loader], optimizer, settings, scheduler)


# ltr's DiMP-family train settings (dimp50.py, super_dimp.py, TransformerTrack's transformer_dimp.py): batch,
# sampler gap, epoch size; the processing values live in ltr_slt.actors.dimp_flt.FAMILY_PROCESSING.
DIMP_FLT_DEFAULTS = {
    "dimp50": dict(batch_size=10, max_gap=30, samples_per_epoch=26000, optimizer_recipe="dimp50"),
    "super_dimp": dict(batch_size=10, max_gap=200, samples_per_epoch=40000, optimizer_recipe="super_dimp"),
    "trdimp": dict(batch_size=40, max_gap=500, samples_per_epoch=50000, optimizer_recipe="trdimp"),
}


def _dimp_optimizer(net: torch.nn.Module, recipe: Optional[str], lr: float, lr_scale: float) -> torch.optim.Optimizer:
    """Adam over the official per-module rates of ``recipe``, or one group of every trainable weight at ``lr``."""
    if recipe:
        from ltr_slt.models.tracking.param_groups import dimp_param_groups
        groups, default_lr = dimp_param_groups(net, recipe, lr_scale=lr_scale)
        return torch.optim.Adam(groups, lr=default_lr)
    return torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr * lr_scale)


def build_dimp_flt_trainer(settings: Any, net: torch.nn.Module, datasets: Sequence[Any], family: str,
                           p_datasets: Optional[Sequence[float]] = None) -> FLTTrainer:
    """DiMP-family frame-level training: FrameSetSampler (ltr DiMPSampler) + DiMPFLTActor + Adam + StepLR.

    Settings read (defaults: the family's official values, :data:`DIMP_FLT_DEFAULTS` and
    :data:`~ltr_slt.actors.dimp_flt.FAMILY_PROCESSING`): ``batch_size``, ``num_workers`` 8,
    ``samples_per_epoch``, ``max_gap``, ``num_train_frames`` / ``num_test_frames`` 3,
    ``frame_sample_mode`` 'causal', ``min_visible_frames``, ``min_length`` 20, ``optimizer_recipe`` (None: one Adam group at
    ``lr``), ``lr_scale`` 1, ``lr_step`` 15, ``lr_gamma`` 0.2, ``seed``, and any processing field
    (``output_sz``, ``search_area_factor``, jitter dicts, ``num_proposals``, ``loss_weight`` ...).
    """
    from ltr_slt.actors.dimp_flt import DiMPFLTActor, DiMPProcessingSettings
    from ltr_slt.admin.seeding import WorkerSeeder
    from ltr_slt.data.frame_set_sampler import FrameSetSampler
    from ltr_slt.data.pair_sampler import PairLoader

    if family not in DIMP_FLT_DEFAULTS:
        raise ValueError(f"unknown DiMP family '{family}' (known: {sorted(DIMP_FLT_DEFAULTS)})")
    defaults = DIMP_FLT_DEFAULTS[family]
    get = settings.get if hasattr(settings, "get") else (lambda k, d=None: getattr(settings, k, d))

    def value(key: str, default: Any = None) -> Any:
        v = get(key, None)
        return defaults.get(key, default) if v is None else v

    batch_size = int(value("batch_size"))
    seed = int(get("seed", None) or 0)
    rank = int(get("rank", 0) or 0)
    min_visible = get("min_visible_frames", None)
    sampler = FrameSetSampler(datasets, p_datasets, samples_per_epoch=int(value("samples_per_epoch")),
                              max_gap=int(value("max_gap")), num_test_frames=int(value("num_test_frames", 3)),
                              num_train_frames=int(value("num_train_frames", 3)),
                              frame_sample_mode=str(value("frame_sample_mode", "causal")), seed=seed + 7919 * rank,
                              min_visible=None if min_visible is None else int(min_visible),
                              min_length=int(value("min_length", 20)))
    num_workers = int(value("num_workers", 8))
    loader = PairLoader("train", sampler, training=True, batch_size=batch_size, num_workers=num_workers,
                        worker_init_fn=WorkerSeeder(seed, rank) if num_workers > 0 else None)
    actor = DiMPFLTActor(net, DiMPProcessingSettings.for_family(family, settings))
    recipe = get("optimizer_recipe", defaults["optimizer_recipe"])
    optimizer = _dimp_optimizer(net, recipe, float(value("lr", 2e-4)), float(value("lr_scale", 1.0)))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, int(value("lr_step", 15)), float(value("lr_gamma", 0.2)))
    n_params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    logger.info("DiMP FLT (%s): %d trainable parameters, %d samples/epoch, batch %d, optimizer recipe %s",
                family, n_params, len(sampler), batch_size, recipe or "single group")
    return FLTTrainer(actor, [loader], optimizer, settings, scheduler)
