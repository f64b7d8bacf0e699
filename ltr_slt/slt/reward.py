"""Sequence-level rewards and the self-critical policy-gradient surrogate.

Reward of a clip = score(sampled trajectory) - score(greedy trajectory), where score is a
sequence metric over the clip's tracked frames 1..T_i-1:

* ``'ao'`` (default, the paper's): Average Overlap = mean IoU (GOT-10k's metric);
* ``'success_auc'``: area under the success curve, mean over 21 thresholds 0, 0.05, ..., 1 of the
  fraction of frames with IoU > threshold (pytracking/OTB convention).

Frames where the target is invisible: ``invisible='skip'`` (default) leaves them out of both
scores (their IoU against a missing box means nothing). This equals the official pytracking half,
whose sampler only returns visible frames. ``invisible='zero'`` counts them with IoU 0 (the pysot
half's behaviour: it dilutes both scores equally). Padded frames (beyond a clip's real length)
never count. A clip without any scored frame gets reward 0.

The advantage is the clip's reward broadcast to every real tracked frame (invisible ones too:
their actions shaped the trajectory) and 0 on padding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

import torch

from ltr_slt.slt.trajectory import Trajectory

__all__ = ["average_overlap", "success_auc", "REWARD_FUNCTIONS", "get_reward_function", "RewardResult",
           "compute_rewards", "broadcast_advantages", "self_critical_loss", "INVISIBLE_MODES"]

INVISIBLE_MODES = ("skip", "zero")


def _check(iou: torch.Tensor, mask: torch.Tensor) -> None:
    if iou.shape != mask.shape:
        raise ValueError(f"iou {tuple(iou.shape)} and mask {tuple(mask.shape)} must have the same [T-1, N] shape")


def average_overlap(iou: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-clip mean IoU over the masked frames: iou, mask [T-1, N] -> [N] (0 for empty clips)."""
    _check(iou, mask)
    m = mask.to(iou.dtype)
    return (iou * m).sum(0) / m.sum(0).clamp(min=1.0)


def success_auc(iou: torch.Tensor, mask: torch.Tensor, num_thresholds: int = 21) -> torch.Tensor:
    """Per-clip success AUC: mean over thresholds linspace(0, 1, 21) of P(IoU > thr) -> [N]."""
    _check(iou, mask)
    thr = torch.linspace(0.0, 1.0, num_thresholds, dtype=iou.dtype, device=iou.device)  # [K]
    m = mask.to(iou.dtype)
    above = (iou[None] > thr[:, None, None]).to(iou.dtype) * m[None]  # [K, T-1, N]
    rate = above.sum(1) / m.sum(0).clamp(min=1.0)[None]  # [K, N]
    return rate.mean(0)


REWARD_FUNCTIONS: Dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "ao": average_overlap,
    "success_auc": success_auc,
}


def get_reward_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    try:
        return REWARD_FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown reward '{name}' (settings.slt_reward); choose one of "
                         f"{sorted(REWARD_FUNCTIONS)}") from None


@dataclass
class RewardResult:
    reward: torch.Tensor  # [N] score(sampled) - score(greedy)
    score_greedy: torch.Tensor  # [N]
    score_sampled: torch.Tensor  # [N]
    miou_greedy: torch.Tensor  # [N] AO of the greedy copy (logged as mIoU whatever the reward)
    miou_sampled: torch.Tensor  # [N] AO of the sampled copy (logged as e_mIoU)
    scored: torch.Tensor  # [T-1, N] bool: frames that entered the scores


def scored_frames(traj: Trajectory, invisible: str = "skip") -> torch.Tensor:
    """[T-1, N] bool mask of the frames a sequence score averages over."""
    if invisible == "skip":
        return traj.valid
    if invisible == "zero":
        return traj.frame_mask
    raise ValueError(f"unknown invisible-frame mode '{invisible}' (settings.slt_reward_invisible); "
                     f"choose one of {INVISIBLE_MODES}")


def compute_rewards(traj: Trajectory, name: str = "ao", invisible: str = "skip") -> RewardResult:
    """Self-critical reward per clip from a trajectory's per-frame IoUs."""
    fn = get_reward_function(name)
    mask = scored_frames(traj, invisible)
    # IoU of invisible frames is defined as 0 (only matters for invisible='zero').
    iou_g = torch.where(traj.valid, traj.iou_greedy, torch.zeros_like(traj.iou_greedy))
    iou_s = torch.where(traj.valid, traj.iou_sampled, torch.zeros_like(traj.iou_sampled))
    sg, ss = fn(iou_g, mask), fn(iou_s, mask)
    return RewardResult(reward=ss - sg, score_greedy=sg, score_sampled=ss,
                        miou_greedy=average_overlap(iou_g, mask), miou_sampled=average_overlap(iou_s, mask),
                        scored=mask)


def broadcast_advantages(reward: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Clip reward [N] -> per-frame advantage [T-1, N], zero on padded frames."""
    if reward.shape != frame_mask.shape[1:]:
        raise ValueError(f"reward {tuple(reward.shape)} does not match frame_mask {tuple(frame_mask.shape)}")
    return reward[None, :].to(torch.float32) * frame_mask.to(torch.float32)


def self_critical_loss(log_prob: torch.Tensor, advantages: torch.Tensor, normaliser: float) -> torch.Tensor:
    """REINFORCE surrogate sum(-A * log pi(a)) / normaliser.

    Its gradient is -(r(a) - r(greedy)) grad log pi(a) summed over samples, divided by
    ``normaliser`` (the number of tracked frames of the *whole* iteration, so splitting the batch
    into chunks does not change the gradient). Advantages are constants (detached).
    """
    if log_prob.shape != advantages.shape:
        raise ValueError(f"log_prob {tuple(log_prob.shape)} and advantages {tuple(advantages.shape)} differ")
    return -(advantages.detach().to(log_prob.dtype) * log_prob).sum() / max(float(normaliser), 1.0)
