"""Reduced-precision options: bf16 autocast keeps SLT's statistics close to float32; the TF32 switch."""
from __future__ import annotations

import types

import pytest
import torch

from ltr_slt.slt.reward import broadcast_advantages, compute_rewards
from ltr_slt.slt.rollout import rollout
from ltr_slt.train_settings.slt._common import SLT_TRANST_DEFAULTS, build_tracker_and_actor
from ltr_slt.trainers.base_trainer import set_tf32
from test_rollout import make_clips, make_net


def _autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)  # CPU bf16 autocast: no GPU needed


@pytest.fixture(scope="module")
def setup():
    net = make_net(0)
    tracker, actor = build_tracker_and_actor(net, types.SimpleNamespace(**SLT_TRANST_DEFAULTS), "cpu")
    return net, tracker, actor, make_clips([6] * 6, seed=3)


def _explore(tracker, clips, bf16: bool):
    with _autocast(bf16):
        traj = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(0))
    return traj, compute_rewards(traj)


def test_bf16_rollout_rewards_match_float32(setup):
    """Exploration under bf16 autocast (settings.amp='bf16', amp_rollout=True): same statistics."""
    _, tracker, _, clips = setup
    traj32, rew32 = _explore(tracker, clips, False)
    traj16, rew16 = _explore(tracker, clips, True)
    assert rew16.miou_greedy.mean().item() == pytest.approx(rew32.miou_greedy.mean().item(), abs=0.02)
    assert rew16.miou_sampled.mean().item() == pytest.approx(rew32.miou_sampled.mean().item(), abs=0.02)
    assert rew16.reward.mean().item() == pytest.approx(rew32.reward.mean().item(), abs=0.01)
    # the sampled actions are mostly the very same cells (same RNG, nearly the same logits)
    assert (traj16.actions == traj32.actions).float().mean().item() >= 0.8
    assert traj16.boxes_greedy.dtype == torch.float64  # tracker state stays float64 under autocast


def test_bf16_learning_statistics_match_float32(setup):
    """Learning on one trajectory under bf16 autocast: entropy, losses and gradient close to float32."""
    net, tracker, actor, clips = setup
    traj, rew = _explore(tracker, clips, False)
    adv = broadcast_advantages(rew.reward, traj.frame_mask)
    results = []
    for bf16 in (False, True):
        net.zero_grad(set_to_none=True)
        with _autocast(bf16):
            loss, stats = actor.learn(traj, adv, actor.normaliser(traj))
        loss.backward()
        grad = torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
        results.append((stats, grad))
    (s32, g32), (s16, g16) = results
    assert s16["entropy"] == pytest.approx(s32["entropy"], rel=0.01)
    for key in ("Loss/total", "Loss/bbox", "Loss/giou"):
        assert s16[key] == pytest.approx(s32[key], rel=0.02), key
    assert s16["Loss/sl_clf"] == pytest.approx(s32["Loss/sl_clf"], abs=1e-3)
    assert g16.norm().item() == pytest.approx(g32.norm().item(), rel=0.05)
    assert torch.nn.functional.cosine_similarity(g16, g32, dim=0).item() > 0.98
    assert all(p.dtype == torch.float32 for p in net.parameters())  # weights stay float32


def test_set_tf32_switches_and_restores():
    matmul = torch.backends.cuda.matmul
    new_api = hasattr(matmul, "fp32_precision")
    read = (lambda: matmul.fp32_precision) if new_api else (lambda: matmul.allow_tf32)
    before = read()
    conv_before = torch.backends.cudnn.conv.fp32_precision if new_api else torch.backends.cudnn.allow_tf32
    try:
        set_tf32(True)
        assert read() == ("tf32" if new_api else True)
        set_tf32(False)
        assert read() == ("ieee" if new_api else False)
    finally:
        if new_api:
            matmul.fp32_precision = before
            torch.backends.cudnn.conv.fp32_precision = conv_before
        else:
            matmul.allow_tf32 = before
            torch.backends.cudnn.allow_tf32 = conv_before


def test_tf32_is_a_default_setting():
    assert SLT_TRANST_DEFAULTS["tf32"] is True and SLT_TRANST_DEFAULTS["amp"] is None
