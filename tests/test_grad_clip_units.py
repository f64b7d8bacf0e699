"""The gradient-clipping threshold means what the paper's ``grad_clip`` meant (issue 13, item 7).

The official SLT trainer sums the chunks' *mean* losses, so its gradient is (number of chunks) x
ours; ``clip_grad_norm_(params, 100)`` therefore clipped a gradient 4x larger than ours at the paper's
sizes. Here the official procedure is run side by side on the same trajectory: per-chunk means
summed, ``torch.nn.utils.clip_grad_norm_``, SGD(lr=1) so the applied gradient is visible.
"""
from __future__ import annotations

import pytest
import torch

from ltr_slt.slt.reward import broadcast_advantages, compute_rewards
from ltr_slt.trainers.slt_trainer import official_grad_scale
from test_rollout import make_clips
from test_slt_trainer import make_trainer

RL_ONLY = {"loss_bbox": 0.0, "loss_giou": 0.0}  # every term a per-frame mean: chunk sums are exact


def _setup(tmp_path, units="official", num_clips=4, nsb=1):
    trainer = make_trainer(tmp_path, num_seq_backward=nsb, loss_weight=RL_ONLY, grad_clip_units=units)
    trainer.actor.loss_weight = dict(RL_ONLY)
    traj = trainer.explore(make_clips([3] * num_clips, seed=5))
    rew = compute_rewards(traj, "ao", "skip")
    adv = broadcast_advantages(rew.reward, traj.frame_mask)
    assert rew.reward.abs().sum() > 0  # the sampled copies deviated: there is a gradient
    return trainer, traj, adv


def _official_gradient(trainer, traj, adv, nsb, max_norm):
    """The official step: sum of chunk-mean losses, backward, clip_grad_norm_ (returns grads, norm)."""
    params = [p for g in trainer.optimizer.param_groups for p in g["params"]]
    for p in params:
        p.grad = None
    for start in range(0, traj.num_clips, nsb):
        idx = list(range(start, min(start + nsb, traj.num_clips)))
        chunk = traj.chunk(idx)
        loss, _ = trainer.actor.learn(chunk, adv[:, idx], trainer.actor.normaliser(chunk))  # chunk mean
        loss.backward()
    norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    grads = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]
    for p in params:
        p.grad = None
    return grads, norm


@pytest.mark.parametrize("num_clips,nsb", [(4, 1), (8, 2)])
def test_clip_threshold_is_in_official_units(tmp_path, num_clips, nsb):
    trainer, traj, adv = _setup(tmp_path, num_clips=num_clips, nsb=nsb)
    scale = official_grad_scale(num_clips, nsb)
    assert scale == num_clips // nsb
    _, official_norm = _official_gradient(trainer, traj, adv, nsb, float("inf"))
    max_norm = official_norm / 2  # the official run clips this step; our raw norm (official/scale) is below it
    assert official_norm / scale < max_norm
    official_grads, _ = _official_gradient(trainer, traj, adv, nsb, max_norm)

    params = [p for g in trainer.optimizer.param_groups for p in g["params"]]
    trainer.optimizer = torch.optim.SGD(params, lr=1.0)
    trainer.grad_clip_max_norm = max_norm
    before = [p.detach().clone() for p in params]
    stats = trainer.learn(traj, adv)
    assert stats["skipped"] == 0.0
    assert trainer._last_step.grad_norm == pytest.approx(official_norm, rel=1e-4)  # logged in official units
    applied = [(b - p.detach()) for b, p in zip(before, params)]  # = our clipped gradient
    # same clipping decision and direction: ours x (official / ours) = the official clipped gradient
    flat_ours = torch.cat([a.reshape(-1) for a in applied]) * scale
    flat_official = torch.cat([g.reshape(-1) for g in official_grads])
    assert torch.linalg.vector_norm(flat_official).item() == pytest.approx(max_norm, rel=1e-4)
    rel = torch.linalg.vector_norm(flat_ours - flat_official) / torch.linalg.vector_norm(flat_official)
    assert rel.item() < 1e-3  # (float32 rounding of p - lr*g); unclipped would be off by 100%


def test_mean_units_keep_the_raw_norm(tmp_path):
    trainer, traj, adv = _setup(tmp_path, units="mean", num_clips=4, nsb=1)
    _, official_norm = _official_gradient(trainer, traj, adv, 1, float("inf"))
    trainer.grad_clip_max_norm = None
    trainer.learn(traj, adv)
    assert trainer.grad_norm_scale == 1.0
    assert trainer._last_step.grad_norm == pytest.approx(official_norm / 4, rel=1e-4)


def test_unknown_units_are_refused(tmp_path):
    with pytest.raises(ValueError, match="grad_clip_units='raw'"):
        make_trainer(tmp_path, grad_clip_units="raw")
