"""Pieces shared by the SLT-TransT train settings (full and tiny): defaults, optimiser, wiring.

A settings file states its values in ``run(settings)`` (users edit them like code, as in ltr) and
then calls :func:`train_slt_transt`, which builds policy -> batched tracker -> actor -> sampler /
loader -> optimiser / scheduler -> :class:`~ltr_slt.trainers.slt_trainer.SLTTrainer` and trains.
Every value lives on ``settings`` (plain, picklable attributes: they go into each checkpoint).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

logger = logging.getLogger(__name__)

__all__ = ["SLT_TRANST_DEFAULTS", "apply_defaults", "transt_param_groups", "build_optimizer",
           "build_lr_scheduler", "build_tracker_and_actor", "build_loader", "build_spatial_augmentation",
           "resolve_pretrained", "train_slt", "train_slt_transt"]

# The paper's / official SLT-TransT values (slt_algorithm.md 2.1, 8.1, 10, 15).
SLT_TRANST_DEFAULTS: Dict[str, Any] = {
    "description": "SLT-TransT: sequence-level fine-tuning of TransT-R50",
    # data
    "num_seq": 8,                  # clips per iteration (rollout batch 2 x 8)
    "num_frames": 24,              # search frames per clip (23 tracked)
    "num_template_frames": 1,
    "samples_per_epoch": 1000,     # 125 iterations per epoch
    "max_gap": 300,
    "max_interval": 10,
    "interval_prob": 0.3,          # P(random-interval clip); 0.7 sequential
    "frame_sample_mode": "random_interval",  # SA on; 'sequential' = SA off
    "spatial_augmentation": False,  # pysot-style synthetic views for short clips (off in SLT-TransT)
    "num_workers": 4,
    "p_datasets": [1, 1, 1],
    # policy / tracker
    "temperature": 4.0,
    "sig_eps": 0.01,
    "window_influence": 0.49,
    "template_area_factor": 2.0,
    "search_area_factor": 4.0,
    "min_box_size": 10.0,
    # objective
    "use_rl_objective": True,      # False = SS-only ablation (box losses on the tracker's crops)
    "slt_loss_weight": 15.0,
    "loss_weight": {"loss_bbox": 5.0, "loss_giou": 2.0},
    "ss_ce_weight": 0.0,
    "slt_reward": "ao",            # or 'success_auc'
    "slt_reward_invisible": "skip",
    "num_seq_backward": 2,         # clips per backward chunk (gradient does not depend on it)
    # optimisation
    "lr": 1e-5,
    "backbone_lr": 1e-6,
    "weight_decay": 1e-4,
    "lr_step_size": 100,
    "lr_gamma": 0.1,
    "grad_clip_max_norm": 100.0,
    "num_epochs": 120,
    "amp": None,                   # None | 'bf16' (CUDA, or CPU for tests) | 'fp16' (CUDA): autocast in learning
    "amp_rollout": False,          # True: the rollout runs under the same autocast (bf16 exploration)
    "tf32": True,                  # TF32 float32 matmuls / convolutions on CUDA; False = exact float32
    "pin_memory": None,            # None = on when training on CUDA: frames stacked in workers + pinned
    "print_interval": 1,
    "fail_safe": False,
    "pretrained_net": "transt.pth",  # file name or path, looked up by find_weights
}


def apply_defaults(settings: Any, values: Optional[Dict[str, Any]] = None) -> Any:
    """Set every default the settings object does not already have (``values`` override defaults)."""
    merged = dict(SLT_TRANST_DEFAULTS)
    merged.update(values or {})
    for key, value in merged.items():
        if not hasattr(settings, key):
            setattr(settings, key, value)
    return settings


def transt_param_groups(net: torch.nn.Module, lr: float, backbone_lr: float) -> List[Dict[str, Any]]:
    """Two AdamW groups like TransT / SLT-TransT: backbone at ``backbone_lr``, the rest at ``lr``."""
    backbone = [p for n, p in net.named_parameters() if n.startswith("backbone") and p.requires_grad]
    rest = [p for n, p in net.named_parameters() if not n.startswith("backbone") and p.requires_grad]
    return [{"params": rest, "lr": lr}, {"params": backbone, "lr": backbone_lr}]


def build_optimizer(net: torch.nn.Module, settings: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(transt_param_groups(net, settings.lr, settings.backbone_lr),
                             lr=settings.lr, weight_decay=settings.weight_decay)


def build_lr_scheduler(optimizer: torch.optim.Optimizer, settings: Any) -> Any:
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.lr_step_size, gamma=settings.lr_gamma)


def build_tracker_and_actor(net: torch.nn.Module, settings: Any, device: torch.device | str):
    """One policy object shared by the rollout tracker and the learning actor."""
    from ltr_slt.actors.slt_transt import SLTTransTActor
    from ltr_slt.slt.policy import TransTPolicy
    from pytracking_slt.tracker.transt.batched import BatchedTransT

    policy = TransTPolicy(window_influence=settings.window_influence, temperature=settings.temperature,
                          sig_eps=settings.sig_eps, feature_size=int(net.feature_size))
    tracker = BatchedTransT(net, settings, device=device, policy=policy)
    actor = SLTTransTActor(net, policy, settings=settings)
    return tracker, actor


def build_spatial_augmentation(settings: Any) -> Any:
    """``settings.spatial_augmentation``: False/None (off, SLT-TransT), True (defaults) or a kwargs dict."""
    value = getattr(settings, "spatial_augmentation", False)
    if not value:
        return None
    from ltr_slt.data import SequenceAugmentation
    return SequenceAugmentation(**(value if isinstance(value, dict) else {}))


def build_loader(datasets: Sequence[Any], settings: Any) -> Any:
    """SequenceSampler (SS + SA) over ``datasets`` and the list-collating SLTLoader.

    The sampler seed is derived from ``settings.seed`` and the DDP rank, so every rank explores
    its own clips (and resumes them: BaseTrainer checkpoints the sampler state).
    """
    from ltr_slt.admin.seeding import rank_seed
    from ltr_slt.data import SequenceSampler, SLTLoader

    seed = rank_seed(int(getattr(settings, "seed", None) or 12345), int(getattr(settings, "rank", 0) or 0))
    extra = {k: getattr(settings, k) for k in ("min_visible_frames", "short_clip", "include_invisible")
             if getattr(settings, k, None) is not None}
    sampler = SequenceSampler(datasets, settings.p_datasets, samples_per_epoch=settings.samples_per_epoch,
                              max_gap=settings.max_gap, num_search_frames=settings.num_frames,
                              num_template_frames=settings.num_template_frames,
                              frame_sample_mode=settings.frame_sample_mode, max_interval=settings.max_interval,
                              interval_prob=settings.interval_prob, seed=seed,
                              spatial_augmentation=build_spatial_augmentation(settings), **extra)
    pin = getattr(settings, "pin_memory", None)
    if pin is None:  # pin (and stack frames in the workers) only when training runs on CUDA
        device = str(getattr(settings, "device", None) or "")
        pin = torch.cuda.is_available() and (device.startswith("cuda") or
                                             (not device and getattr(settings, "use_gpu", True)))
    return SLTLoader("train", sampler, training=True, batch_size=settings.num_seq,
                     num_workers=settings.num_workers, shuffle=False, drop_last=True, seed=seed,
                     pin_memory=bool(pin))


def resolve_pretrained(settings: Any) -> str:
    """Path of the FLT starting checkpoint (``settings.pretrained_net``: a path or a file name).

    A bare file name is looked up by :func:`pytracking_slt.workspace.weights.resolve_weights`
    (``settings.pretrained_dir``, ``env.pretrained_networks``, ``env.network_path``, the pytracking
    workspace); its error lists every folder it tried and where to download.
    """
    from pytracking_slt.workspace.weights import resolve_weights

    return resolve_weights(str(settings.pretrained_net), settings)


def train_slt(settings: Any, net: torch.nn.Module, datasets: Sequence[Any],
              build_tracker_and_actor: Callable[[torch.nn.Module, Any, torch.device], Tuple[Any, Any]],
              build_optimizer: Callable[[torch.nn.Module, Any], torch.optim.Optimizer], details: str = "",
              before_training: Optional[Callable[[Any], None]] = None) -> Any:
    """Every family's wiring: the family's rollout tracker and actor (one policy object), the clip loader,
    its optimiser, StepLR, :class:`SLTTrainer`; trains ``settings.num_epochs`` epochs (resuming the
    latest checkpoint). ``details`` is appended to the one log line that describes the run;
    ``before_training(trainer)`` runs once the trainer is wired (demos swap its progress display)."""
    from ltr_slt.trainers.base_trainer import resolve_device
    from ltr_slt.trainers.slt_trainer import SLTTrainer

    if len(settings.p_datasets) != len(datasets):
        raise ValueError(f"settings.p_datasets has {len(settings.p_datasets)} entries for {len(datasets)} datasets")
    device = resolve_device(settings)
    net = net.to(device).eval()
    tracker, actor = build_tracker_and_actor(net, settings, device)
    loader = build_loader(datasets, settings)
    optimizer = build_optimizer(net, settings)
    lr_scheduler = build_lr_scheduler(optimizer, settings)
    trainer = SLTTrainer(actor, [loader], optimizer, settings, lr_scheduler, tracker=tracker)
    logger.info("SLT training of %s on %s: %d clips x %d frames, %d epochs x %d clips%s", type(net).__name__,
                device, settings.num_seq, settings.num_frames, settings.num_epochs, settings.samples_per_epoch,
                details)
    if before_training is not None:
        before_training(trainer)
    trainer.train(settings.num_epochs, load_latest=True, fail_safe=bool(settings.fail_safe))
    return trainer


def train_slt_transt(settings: Any, net: torch.nn.Module, datasets: Sequence[Any],
                     before_training: Optional[Callable[[Any], None]] = None) -> Any:
    """SLT-TransT: :func:`train_slt` with the TransT tracker / actor and AdamW."""
    return train_slt(settings, net, datasets, build_tracker_and_actor, build_optimizer,
                     before_training=before_training)
