"""Sequence-level training core, tracker-agnostic: rollout -> trajectory -> reward.

A tracker family plugs in with a network, a :class:`~ltr_slt.slt.policy.Policy`, a batched tracker
(``init`` / ``step``) and an actor (``ltr_slt.actors``). Submodules are imported lazily by users
(``from ltr_slt.slt.rollout import rollout``) so importing this package stays cheap.
"""
from ltr_slt.slt.reward import broadcast_advantages, compute_rewards  # noqa: F401
from ltr_slt.slt.trajectory import Trajectory  # noqa: F401

__all__ = ["Trajectory", "compute_rewards", "broadcast_advantages"]
