"""What every SLT actor shares: the iteration-wide loss totals, the eval-mode actor protocol, the
chunk checks and the self-critical policy term (tracker-specific losses live in each actor).

Chunk-size invariance (:mod:`ltr_slt.actors.slt_transt`): every term is a *sum* over the chunk divided
by a :class:`LossNormaliser` total of the whole iteration, so summing the chunk losses gives the
iteration mean whatever ``num_seq_backward`` is; under DDP the loss is multiplied by the world size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ltr_slt.slt.reward import self_critical_loss
from ltr_slt.slt.trajectory import Trajectory

__all__ = ["LossNormaliser", "SLTActorBase"]


@dataclass
class LossNormaliser:
    """Iteration-wide totals that every chunk divides by (see the module docstring)."""

    num_frames: float  # real tracked frames (RL term)
    num_pos: float  # positive cells over valid frames (box losses) / valid frames (IoU losses)
    ce_weight: float = 0.0  # sum of CE token weights over valid frames (SS ablation's CE term)
    scale: float = 1.0  # world size under DDP (ranks average their gradients)

    def as_tensor(self) -> torch.Tensor:
        return torch.tensor([self.num_frames, self.num_pos, self.ce_weight], dtype=torch.float64)


class NetActor:
    """ltr's actor protocol around ``self.net``: ``train`` / ``eval`` / ``to`` and the device it sits on."""

    net: nn.Module

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)

    def eval(self) -> None:
        self.train(False)

    def to(self, device: torch.device | str) -> "NetActor":
        self.net.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device


class SLTActorBase(NetActor):
    """``net``, the acting ``policy`` and the ltr actor protocol with the network kept in eval mode.

    The network stays in eval mode in both phases (BN running stats, no dropout), as in the official
    code: the recomputed log-probabilities must be those of the policy that acted. Settings read:
    ``slt_loss_weight`` (default: the family's), ``use_rl_objective`` True (False: no RL term).
    """

    def __init__(self, net: nn.Module, policy: Any, settings: Any, slt_loss_weight: float) -> None:
        self.net = net
        self.policy = policy
        self.slt_loss_weight = float(self.setting(settings, "slt_loss_weight", slt_loss_weight))
        self.use_rl_objective = bool(self.setting(settings, "use_rl_objective", True))

    @staticmethod
    def setting(settings: Any, name: str, default: Any) -> Any:
        """``settings.name`` when set, else ``default`` (also when there are no settings)."""
        return getattr(settings, name, default) if settings is not None else default

    def train(self, mode: bool = True) -> None:
        """SLT keeps the network in eval mode in both phases (see the class docstring)."""
        self.net.eval()

    # -- pieces of learn() ------------------------------------------------------------------
    def normaliser(self, traj: Trajectory) -> LossNormaliser:
        raise NotImplementedError

    def _chunk_on_device(self, chunk: Trajectory, advantages: torch.Tensor, normaliser: Optional[LossNormaliser]
                         ) -> Tuple[Trajectory, torch.Tensor, LossNormaliser]:
        """Check ``advantages`` [T-1, n] against the chunk, then the chunk, advantages and totals to use."""
        if advantages.shape != chunk.frame_mask.shape:
            raise ValueError(f"advantages {tuple(advantages.shape)} must match the chunk's frames "
                             f"{tuple(chunk.frame_mask.shape)}")
        norm = normaliser or self.normaliser(chunk)
        device = self.device
        return chunk.to(device), advantages.to(device), norm

    def _zero_loss(self) -> torch.Tensor:
        """A zero loss connected to every parameter (a chunk without tracked frames)."""
        return sum(p.sum() * 0.0 for p in self.net.parameters())

    def _self_critical_term(self, logits: torch.Tensor, chunk: Trajectory, advantages: torch.Tensor,
                            t_idx: torch.Tensor, c_idx: torch.Tensor, norm: LossNormaliser,
                            stats: Dict[str, float]) -> Optional[torch.Tensor]:
        """``slt_loss_weight * -adv * log pi(recorded action)`` over the M tracked frames, from the policy's
        ``logits`` [M, A] of their network outputs (computed once per chunk, also for the entropy stat),
        or None without the RL objective; adds ``Loss/sl_clf`` to ``stats``."""
        if not self.use_rl_objective:
            return None
        actions = chunk.actions[t_idx, c_idx].to(device=logits.device, dtype=torch.long)
        logp = F.log_softmax(logits, dim=-1).gather(1, actions[:, None])[:, 0]  # [M] = policy.log_prob
        loss_sl = self_critical_loss(logp, advantages[t_idx, c_idx], norm.num_frames)
        stats["Loss/sl_clf"] = float(loss_sl.detach())
        return self.slt_loss_weight * loss_sl

    @staticmethod
    def _entropy(logits: torch.Tensor, norm: LossNormaliser) -> float:
        """Summed policy entropy of ``logits`` [M, A] over the iteration's tracked frames (a stat)."""
        with torch.no_grad():
            logq = torch.log_softmax(logits.detach().float(), -1)
            entropy = -(logq.exp() * logq).sum(-1)  # [M]
            return float(entropy.sum()) / max(norm.num_frames, 1.0)

    @staticmethod
    def _scaled(total: torch.Tensor, norm: LossNormaliser, stats: Dict[str, float]) -> torch.Tensor:
        """The chunk loss times the DDP world size; ``Loss/total`` in ``stats`` without that factor."""
        total = total * norm.scale
        stats["Loss/total"] = float(total.detach()) / norm.scale
        return total
