"""FLTTrainer: ordinary frame-level (pair-wise) training, the baseline SLT starts from.

All the machinery (epochs, checkpoints + resume, non-finite step skipping, clipping, AMP, DDP
gradient averaging, stats, tensorboard, progress lines) is :class:`BaseTrainer`'s; one training
step here is just: crop + forward + TransT criterion (the actor) -> one safe optimiser step.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence

import torch

from ltr_slt.trainers.base_trainer import BaseTrainer

logger = logging.getLogger(__name__)

__all__ = ["FLTTrainer", "flt_param_groups", "build_flt_trainer"]


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
