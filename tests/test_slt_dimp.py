"""SLT for the DiMP family: the actor recomputes the acting policy, chunk-size invariance, train_iou_net,
REINFORCE unbiasedness with the mean-max policy, proposals and GT placement (tiny nets, CPU)."""
from __future__ import annotations

import types

import pytest
import torch

from ltr_slt.actors.slt_dimp import SLTDiMPActor, SLTRolloutDiMP, gt_in_sample
from ltr_slt.models.loss.iou_regression import kl_regression_per_frame, perturb_boxes, sample_box_gmm
from ltr_slt.models.tracking.dimpnet import dimpnet_tiny, trdimpnet_tiny
from ltr_slt.slt.policy import MeanMaxPolicy
from ltr_slt.slt.reward import broadcast_advantages, self_critical_loss
from ltr_slt.slt.rollout import rollout
from ltr_slt.train_settings.slt._dimp_tiny import TINY_TRACKER_PARAMS
from pytracking_slt.parameter.dimp_common import dimp_parameters
from helpers import assert_same_grads, chunked_grads
from test_rollout import make_clips

ADV = torch.tensor([0.3, -0.2, 0.1, -0.4])


def _record(net, variant, **settings):
    """Rollout of 4 toy clips (lengths differ) with the tiny rollout recipe; logits of the sampled half kept."""
    params = dimp_parameters(variant, net=net, device="cpu", use_gpu=False, **TINY_TRACKER_PARAMS)
    tracker = SLTRolloutDiMP(net, params, "cpu")
    logits = []
    step = tracker.step

    def recording_step(*args, **kwargs):
        state, out = step(*args, **kwargs)
        logits.append(out.logits[out.logits.shape[0] // 2:].clone())
        return state, out

    tracker.step = recording_step
    torch.manual_seed(11)
    traj = rollout(tracker, make_clips([4, 3, 4, 2], seed=7), "cpu", generator=torch.Generator().manual_seed(0))
    tracker.step = step
    s = types.SimpleNamespace(**settings)
    actor = SLTDiMPActor(net, tracker.policy, settings=s, net_opt_iter=int(params.net_opt_iter),
                         sample_size=tracker.img_sample_sz)
    torch.manual_seed(12)
    traj = actor.prepare(traj)
    return tracker, actor, traj, torch.stack(logits)


@pytest.fixture(scope="module")
def trdimp():
    torch.manual_seed(0)
    return _record(trdimpnet_tiny().eval(), "slt_trdimp_rollout", num_proposals=16)


def test_rollout_records_uint8_samples_once_per_clip(trdimp):
    tracker, _, traj, _ = trdimp
    k = 2  # identity + fliplr
    assert traj.template_crops.shape == (4, k, 3, 96, 96) and traj.template_crops.dtype == torch.uint8
    assert traj.template_boxes.shape == (4, k, 4)
    assert traj.search_crops.shape == (3, 4, 3, 96, 96) and traj.search_crops.dtype == torch.uint8
    assert not traj.search_crops.requires_grad and not traj.search_crops.is_inference()
    assert traj.extras["proposals"].shape == (3, 4, 16, 4)


def test_learner_recomputes_the_acting_policy_exactly(trdimp):
    _, actor, traj, rollout_logits = trdimp
    with torch.no_grad():
        scores, _ = actor.forward(traj)  # [T-1, N, H, W]
    logits = actor.policy.logits({"scores": scores.flatten(0, 1)}).reshape(rollout_logits.shape)
    mask = traj.frame_mask
    torch.testing.assert_close(logits[mask], rollout_logits[mask], rtol=0, atol=1e-5)
    # the recorded actions are the sampled copy's: reproduced log-probabilities are finite and < 0
    logp = actor.policy.log_prob({"scores": scores[mask]}, traj.actions[mask])
    assert torch.isfinite(logp).all() and (logp < 0).all()


def test_gt_in_sample_is_the_trackers_mapping(trdimp):
    tracker, _, traj, _ = trdimp
    gt = traj.gt_boxes.reshape(-1, 4).float()
    centre = traj.crop_centers.reshape(-1, 2).float()
    scale = (traj.crop_sides.reshape(-1) / tracker.img_sample_sz).float()
    pos = torch.stack([gt[:, 1] + (gt[:, 3] - 1) / 2, gt[:, 0] + (gt[:, 2] - 1) / 2], 1)
    expected = tracker.get_iounet_box(pos, gt[:, [3, 2]], centre.flip(1), scale)
    torch.testing.assert_close(traj.gt_crop.reshape(-1, 4), expected, rtol=0, atol=1e-3)
    ours = gt_in_sample(traj.gt_boxes, traj.crop_centers, traj.crop_sides, tracker.img_sample_sz)
    torch.testing.assert_close(ours.float(), traj.gt_crop)


def test_gradient_is_independent_of_chunk_size(trdimp):
    _, actor, traj, _ = trdimp
    adv = broadcast_advantages(ADV, traj.frame_mask)
    ref_loss, ref = chunked_grads(actor, traj, adv, traj.num_clips)
    assert any(g.abs().max() > 0 for n, g in ref.items() if n.startswith("classifier.transformer"))
    for chunk in (1, 3):
        loss, grads = chunked_grads(actor, traj, adv, chunk)
        assert loss == pytest.approx(ref_loss, rel=1e-5, abs=1e-7)
        assert_same_grads(grads, ref)


def test_train_iou_net_changes_exactly_the_iou_net_gradients(trdimp):
    tracker, _, traj, _ = trdimp
    adv = broadcast_advantages(ADV, traj.frame_mask)
    runs = {}
    for flag in (False, True):
        actor = SLTDiMPActor(tracker.net, tracker.policy, settings=types.SimpleNamespace(train_iou_net=flag),
                             net_opt_iter=2, sample_size=96)
        _, runs[flag] = chunked_grads(actor, traj, adv, 2)
    off, on = runs[False], runs[True]
    assert not any(n.startswith("bb_regressor.") for n in off)  # official: frozen IoU-Net
    iou_on = {n: g for n, g in on.items() if n.startswith("bb_regressor.")}
    assert iou_on and any(g.abs().max() > 0 for g in iou_on.values())
    assert_same_grads({n: g for n, g in on.items() if not n.startswith("bb_regressor.")}, off)
    # the IoU loss still reaches backbone layer3 through the frozen IoU-Net (the official side effect)
    assert any(n.startswith("feature_extractor.layer3") and g.abs().max() > 0 for n, g in off.items())
    tracker.net.bb_regressor.requires_grad_(False)


def test_loss_composition_and_stats_add_up(trdimp):
    _, actor, traj, _ = trdimp
    adv = broadcast_advantages(ADV, traj.frame_mask)
    norm = actor.normaliser(traj)
    assert norm.num_frames == float(traj.frame_mask.sum()) and norm.num_pos == float(traj.valid.sum())
    with torch.no_grad():
        _, whole = actor.learn(traj, adv, norm)
        parts = [actor.learn(traj.chunk([i]), adv[:, [i]], norm)[1] for i in range(traj.num_clips)]
    for key in ("Loss/total", "Loss/sl_clf", "Loss/bb_ce", "entropy"):
        assert sum(p[key] for p in parts) == pytest.approx(whole[key], rel=1e-4, abs=1e-7), key
    assert whole["Loss/total"] == pytest.approx(4 * whole["Loss/sl_clf"] + 0.01 * whole["Loss/bb_ce"], rel=1e-5)


def test_dimp50_actor_uses_the_atom_iou_regression():
    torch.manual_seed(1)
    net = dimpnet_tiny().eval()
    tracker, actor, traj, _ = _record(net, "slt_dimp_rollout", iou_loss="mse", train_iou_net=True)
    assert actor.num_proposals == 8 and actor.iou_loss_weight == 1.0
    target = traj.extras["proposal_iou"]
    assert target.shape == (3, 4, 8) and bool(((target > -0.8) & (target <= 1.0))[traj.valid].all())  # IoU > 0.1
    adv = broadcast_advantages(ADV, traj.frame_mask)
    loss, stats = actor.learn(traj, adv)
    loss.backward()
    assert "Loss/iou" in stats and stats["Loss/total"] == pytest.approx(4 * stats["Loss/sl_clf"] + stats["Loss/iou"],
                                                                        rel=1e-5)
    assert any(p.grad is not None and p.grad.abs().max() > 0 for p in net.bb_regressor.parameters())


def test_gmm_proposals_and_kl_loss():
    gt = torch.tensor([[10.0, 20.0, 30.0, 40.0], [50.0, 5.0, 8.0, 16.0]])
    props, q, p = sample_box_gmm(gt, 4000, generator=torch.Generator().manual_seed(0))
    assert props.shape == (2, 4000, 4) and (props[..., 2:] > 0).all()
    centre = props[..., :2] + props[..., 2:] / 2
    offset = (centre - (gt[:, None, :2] + gt[:, None, 2:] / 2)) / gt[:, None, 2:]
    # half the proposals come from the sigma-0.05 component: the median centre offset is small
    assert offset.abs().median() < 0.2 and offset.abs().max() > 0.5
    assert (q > 0).all() and (p >= 0).all() and p.max() > q.max()  # GT density is the narrow Gaussian
    # KL loss: lower for scores that follow log(p) than for constant scores
    good = kl_regression_per_frame(torch.log(p + 1e-8), q, p)
    flat = kl_regression_per_frame(torch.zeros_like(p), q, p)
    assert (good < flat).all()


def test_perturbed_boxes_respect_min_iou():
    gt = torch.tensor([[10.0, 20.0, 30.0, 40.0]] * 3)
    boxes, target = perturb_boxes(gt, 8, min_iou=0.5, generator=torch.Generator().manual_seed(0))
    assert boxes.shape == (3, 8, 4) and ((target + 1) / 2 > 0.5).all() and (target <= 1).all()


def test_mean_max_reinforce_is_unbiased_on_an_enumerable_toy():
    """E_a~pi[-grad self_critical_loss(a)] == grad E_pi[r] for the mean-max policy (real code path)."""
    g = torch.Generator().manual_seed(0)
    policy = MeanMaxPolicy((-3.0, 3.0))
    theta = torch.randn(1, 3, 3, generator=g).mul_(2.0).requires_grad_(True)  # a 3x3 score map
    reward = torch.rand(9, generator=g)
    pi = torch.softmax(policy.logits({"scores": theta}), -1)[0]
    (exact,) = torch.autograd.grad((pi * reward).sum(), theta)
    pi = pi.detach()
    greedy = policy.greedy_from_output({"scores": theta.detach()})[0]
    actions = torch.arange(9)
    out = {"scores": theta.expand(9, -1, -1)}
    adv = (reward[actions] - reward[greedy]) * pi  # each action weighted by its probability
    loss = self_critical_loss(policy.log_prob(out, actions), adv, normaliser=1.0)
    (grad,) = torch.autograd.grad(loss, theta)
    assert exact.abs().max() > 1e-3
    torch.testing.assert_close(-grad, exact, rtol=1e-5, atol=1e-6)
    # Monte Carlo with the real sampler converges to the same gradient
    k = 20000
    sampled = policy.sample(policy.logits({"scores": theta.detach()}).expand(k, -1), torch.Generator().manual_seed(1))
    per_action = []
    for a in range(9):
        one = self_critical_loss(policy.log_prob({"scores": theta}, torch.tensor([a])),
                                 (reward[a] - reward[greedy]).reshape(1), 1.0)
        per_action.append(-torch.autograd.grad(one, theta)[0])
    est = torch.stack(per_action)[sampled]  # [K, 1, 3, 3]
    se = est.std(0) / k ** 0.5
    assert ((est.mean(0) - exact).abs() <= 5 * se + 1e-6).all()


def test_learn_rejects_unprepared_or_mismatched(trdimp):
    tracker, actor, traj, _ = trdimp
    adv = broadcast_advantages(ADV, traj.frame_mask)
    with pytest.raises(ValueError, match="advantages"):
        actor.learn(traj, adv[:, :2])
    bare = traj.chunk([0, 1])
    bare.extras = None
    with pytest.raises(ValueError, match="prepare"):
        actor.learn(bare, adv[:, :2])
    with pytest.raises(ValueError, match="iou_loss"):
        SLTDiMPActor(tracker.net, tracker.policy, settings=types.SimpleNamespace(iou_loss="l1"))
