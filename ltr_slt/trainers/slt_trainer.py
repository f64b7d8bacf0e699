"""SLTTrainer: explore (rollout) -> reward -> chunked learn -> clip -> step, once per batch of clips.

Everything generic (epochs, checkpoints with resume, non-finite step skipping, gradient
all-reduce under DDP, AMP autocast / grad scaling, stats and tensorboard, progress lines) lives in
:class:`ltr_slt.trainers.base_trainer.BaseTrainer`; this file holds only what is specific to
sequence-level training.

DDP: each rank rolls out its own clips (its sampler and RNG are seeded per rank). Before learning,
the loss normalisers (tracked frames, positive cells) are summed over ranks and each rank's loss is
multiplied by the world size; BaseTrainer then *averages* the gradients, so the update equals that
of one process holding all ranks' clips. Rewards are per clip, so nothing else crosses ranks.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional, Sequence

import torch

from ltr_slt.actors.base import LossNormaliser
from ltr_slt.admin import distributed
from ltr_slt.slt.reward import RewardResult, broadcast_advantages, compute_rewards
from ltr_slt.slt.rollout import NonFiniteRolloutError, rollout
from ltr_slt.slt.trajectory import Trajectory
from ltr_slt.trainers.base_trainer import BaseTrainer, NonFiniteLossError

logger = logging.getLogger(__name__)

__all__ = ["SLTTrainer", "chunk_indices", "official_grad_scale", "GRAD_CLIP_UNITS"]

GRAD_CLIP_UNITS = ("official", "mean")


def chunk_indices(num_clips: int, num_seq_backward: int) -> List[List[int]]:
    """Clip indices in consecutive chunks of ``num_seq_backward`` (the last may be shorter)."""
    if num_seq_backward < 1:
        raise ValueError(f"settings.num_seq_backward must be >= 1, got {num_seq_backward}")
    return [list(range(i, min(i + num_seq_backward, num_clips))) for i in range(0, num_clips, num_seq_backward)]


def official_grad_scale(num_clips: int, num_seq_backward: int) -> float:
    """Ratio of the official code's gradient to ours, for the clip threshold and the logged norm.

    The official trainer back-propagates each chunk's *mean* loss and sums the chunks (spec 8.1),
    so its gradient is (number of chunks) x the iteration mean that ours is: 4x for SLT-TransT
    (8 clips, chunks of 2), 2x for SLT-TrDiMP. With ``grad_clip_units='official'`` (default) the
    norm compared with ``grad_clip_max_norm`` and logged as ``grad_norm`` is ours times this factor,
    so ``grad_clip_max_norm=100`` clips exactly when the official ``clip_grad_norm_(.., 100)`` did,
    to the same direction (Adam(W) then takes the same step: it is invariant to the gradient's scale)
    and the logged norm is comparable with the official logs (about 48 for SLT-TransT).
    """
    return float(len(chunk_indices(num_clips, num_seq_backward)))


class SLTTrainer(BaseTrainer):
    """Sequence-level training of one tracker family (actor + batched tracker on the same net).

    Settings read: ``num_seq_backward`` (2), ``slt_reward`` ('ao' | 'success_auc'),
    ``slt_reward_invisible`` ('skip' | 'zero'), ``amp_rollout`` (run the rollout under the
    same autocast as learning; default False: exploration in float32), ``grad_clip_units``
    ('official' | 'mean', see :func:`official_grad_scale`), plus BaseTrainer's.
    """

    def __init__(self, actor: Any, loaders: Sequence[Any], optimizer: torch.optim.Optimizer, settings: Any,
                 lr_scheduler: Any = None, tracker: Any = None) -> None:
        super().__init__(actor, loaders, optimizer, settings, lr_scheduler)
        if tracker is None:
            raise ValueError("SLTTrainer needs the batched tracker that drives the rollout (tracker=...)")
        self.tracker = tracker
        self.num_seq_backward = int(getattr(settings, "num_seq_backward", 2))
        self.reward_name = str(getattr(settings, "slt_reward", "ao"))
        self.reward_invisible = str(getattr(settings, "slt_reward_invisible", "skip"))
        self.amp_rollout = bool(getattr(settings, "amp_rollout", False))
        self.grad_clip_units = str(getattr(settings, "grad_clip_units", "official"))
        if self.grad_clip_units not in GRAD_CLIP_UNITS:
            raise ValueError(f"settings.grad_clip_units={self.grad_clip_units!r}: expected one of {GRAD_CLIP_UNITS}")
        self.generator: Optional[torch.Generator] = None  # None = global RNG (checkpointed by BaseTrainer)

    # -- phases -----------------------------------------------------------------------------
    def explore(self, clips: Sequence[Any]) -> Trajectory:
        """Roll the current tracker out on the clips (greedy + sampled copies), recording the sampled half."""
        self.actor.eval()
        if self.amp_rollout:
            with self.autocast():
                traj = rollout(self.tracker, clips, self.device, generator=self.generator, record=True)
        else:
            traj = rollout(self.tracker, clips, self.device, generator=self.generator, record=True)
        # A family's actor may add its per-frame learning targets once per iteration (DiMP: IoU-Net
        # proposals drawn from the checkpointed RNG), so every chunk sees the same ones.
        prepare = getattr(self.actor, "prepare", None)
        return prepare(traj) if prepare is not None else traj

    def global_normaliser(self, traj: Trajectory) -> LossNormaliser:
        """The actor's loss totals, summed over DDP ranks (identity on one process)."""
        norm = self.actor.normaliser(traj)
        world = distributed.get_world_size()
        if world > 1:
            totals = distributed.all_reduce_mean(norm.as_tensor().float()) * world
            norm = LossNormaliser(num_frames=float(totals[0]), num_pos=float(totals[1]),
                                  ce_weight=float(totals[2]), scale=float(world))
        return norm

    def learn(self, traj: Trajectory, advantages: torch.Tensor) -> Dict[str, float]:
        """Chunked forward/backward over the recorded clips, then one (clipped) optimiser step."""
        norm = self.global_normaliser(traj)
        if self.grad_clip_units == "official":  # global clips: every rank holds traj.num_clips
            self.grad_norm_scale = official_grad_scale(traj.num_clips * distributed.get_world_size(),
                                                       self.num_seq_backward)
        self.optimizer.zero_grad(set_to_none=True)
        stats: Dict[str, float] = {}
        total = 0.0
        for idx in chunk_indices(traj.num_clips, self.num_seq_backward):
            with self.autocast():
                loss, chunk_stats = self.actor.learn(traj.chunk(idx), advantages[:, idx], norm)
            self.backward(loss)
            total += float(loss.detach()) / norm.scale
            for k, v in chunk_stats.items():
                stats[k] = stats.get(k, 0.0) + v
        res = self.optimizer_step(total)
        stats = self._sum_over_ranks(stats)
        stats["skipped"] = 0.0 if res.stepped else 1.0
        return stats

    @staticmethod
    def _sum_over_ranks(stats: Dict[str, float]) -> Dict[str, float]:
        """Chunk stats are each rank's share of the global iteration value: add the shares up."""
        world = distributed.get_world_size()
        if world <= 1:
            return stats
        keys = sorted(set().union(*distributed.all_gather_object(sorted(stats))))
        values = torch.tensor([stats.get(k, 0.0) for k in keys], dtype=torch.float64)
        summed = distributed.all_reduce_mean(values) * world
        return {k: float(v) for k, v in zip(keys, summed.tolist())}

    def train_step(self, clips: Sequence[Any]) -> Dict[str, float]:
        """One SLT iteration on a batch (list) of clips."""
        t0 = time.perf_counter()
        try:
            traj = self.explore(clips)
        except NonFiniteRolloutError as err:
            return self.skip_diverged_rollout(err)
        t1 = time.perf_counter()
        rew = compute_rewards(traj, self.reward_name, self.reward_invisible)
        advantages = broadcast_advantages(rew.reward, traj.frame_mask)
        stats = self.learn(traj, advantages)
        t2 = time.perf_counter()
        stats.update(self.reward_stats(rew))
        n = len(clips)
        stats["clips/s"] = n / max(t2 - t0, 1e-9)
        stats["FPS"] = float(2 * traj.frame_mask.sum()) / max(t1 - t0, 1e-9)  # tracked frames (both copies)
        stats["time/explore"] = t1 - t0
        stats["time/learn"] = t2 - t1
        return stats

    def skip_diverged_rollout(self, err: NonFiniteRolloutError) -> Dict[str, float]:
        """NaN/inf scores in the rollout: abort when the weights are broken (skipping cannot help);
        otherwise skip this batch like a non-finite step. Under DDP the other ranks are waiting in a
        collective, so the run stops instead (resume from the last checkpoint)."""
        if err.weights_nonfinite:
            raise NonFiniteLossError(f"training diverged at epoch {self.epoch}: {err}. Lower the learning rate "
                                     "and resume from the last good checkpoint.") from err
        if self.world_size > 1:
            raise NonFiniteLossError(f"rank {self.rank}, epoch {self.epoch}: {err}; stopping (a batch cannot be "
                                     "skipped on one rank alone under DDP)") from err
        self.skip_step(str(err))
        return {"skipped": 1.0}

    @staticmethod
    def reward_stats(rew: RewardResult) -> Dict[str, float]:
        """Mean reward and AOs of this iteration's clips (averaged over DDP ranks)."""
        values = torch.stack([rew.reward.mean(), rew.miou_greedy.mean(), rew.miou_sampled.mean()]).double().cpu()
        values = distributed.all_reduce_mean(values)
        return dict(zip(("reward", "mIoU", "e_mIoU"), (float(v) for v in values.tolist())))
