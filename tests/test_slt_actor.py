"""SLT-TransT actor: learning recomputes the rollout, chunk-size invariance, SS-only ablation."""
from __future__ import annotations

import types

import pytest
import torch

from ltr_slt.actors import SLTTransTActor
from ltr_slt.slt.reward import broadcast_advantages, compute_rewards
from ltr_slt.slt.rollout import rollout
from helpers import assert_same_grads, chunked_grads
from test_rollout import make_clips, make_tracker


@pytest.fixture(scope="module")
def recorded():
    tracker = make_tracker(2)
    clips = make_clips([5, 4, 5, 3], seed=7, invisible=(1,))
    traj = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(0))
    rew = compute_rewards(traj)
    # Rewards of a random tiny net can be 0 by chance; use a fixed non-trivial advantage pattern.
    adv = broadcast_advantages(torch.tensor([0.3, -0.2, 0.1, -0.4]), traj.frame_mask)
    return tracker, traj, adv, rew


def test_learn_recomputes_the_rollout_network_output(recorded):
    tracker, traj, _, _ = recorded
    net = tracker.net
    from ltr_slt.data.crop import normalize_crops
    t_idx, c_idx = traj.frame_mask.nonzero(as_tuple=True)
    with torch.no_grad():
        tf = net.encode_template(normalize_crops(traj.template_crops)).index_select(c_idx)
        out = net.track_from(tf, normalize_crops(traj.search_crops[t_idx, c_idx]))
    box = out["pred_boxes"][torch.arange(len(t_idx)), traj.actions[t_idx, c_idx]].double()
    side = traj.crop_sides[t_idx, c_idx].double()[:, None]
    centre = box[:, :2] * side + traj.crop_centers[t_idx, c_idx].double() - side / 2
    pred = traj.boxes_sampled[t_idx, c_idx].double()
    pred_centre = pred[:, :2] + pred[:, 2:] / 2
    inside = (centre > 0).all(1) & (centre[:, 0] < 100) & (centre[:, 1] < 90)  # not clipped to the image
    assert inside.sum() >= 5
    torch.testing.assert_close(centre[inside], pred_centre[inside], rtol=0, atol=1e-3)


def test_gradient_is_independent_of_chunk_size(recorded):
    tracker, traj, adv, _ = recorded
    actor = SLTTransTActor(tracker.net, tracker.policy, settings=types.SimpleNamespace(slt_loss_weight=15.0))
    ref_loss, ref = chunked_grads(actor, traj, adv, traj.num_clips)
    assert any(g.abs().max() > 0 for n, g in ref.items() if n.startswith("class_embed"))
    for chunk in (1, 2, 3):
        loss, grads = chunked_grads(actor, traj, adv, chunk)
        assert loss == pytest.approx(ref_loss, rel=1e-5, abs=1e-7)
        assert grads.keys() == ref.keys()
        assert_same_grads(grads, ref)


def test_stats_add_up_and_loss_composition(recorded):
    tracker, traj, adv, _ = recorded
    actor = SLTTransTActor(tracker.net, tracker.policy, settings=types.SimpleNamespace(slt_loss_weight=15.0))
    norm = actor.normaliser(traj)
    assert norm.num_frames == float(traj.frame_mask.sum())
    _, whole = actor.learn(traj, adv, norm)
    parts = [actor.learn(traj.chunk([i]), adv[:, [i]], norm)[1] for i in range(traj.num_clips)]
    for key in ("Loss/total", "Loss/sl_clf", "Loss/bbox", "Loss/giou", "entropy", "bbox_iou"):
        assert sum(p[key] for p in parts) == pytest.approx(whole[key], rel=1e-4, abs=1e-7), key
    assert whole["Loss/total"] == pytest.approx(15 * whole["Loss/sl_clf"] + 5 * whole["Loss/bbox"]
                                                + 2 * whole["Loss/giou"], rel=1e-5)
    assert 0 < whole["entropy"] <= torch.log(torch.tensor(float(tracker.policy.num_actions))).item()


def test_ss_only_mode_has_no_policy_gradient(recorded):
    tracker, traj, adv, _ = recorded
    ss = SLTTransTActor(tracker.net, tracker.policy, settings=types.SimpleNamespace(use_rl_objective=False))
    _, grads = chunked_grads(ss, traj, adv, 2)
    # class_embed only receives gradient through the policy (RL) term
    assert all(not n.startswith("class_embed") or g.abs().max() == 0 for n, g in grads.items())
    assert any(n.startswith("bbox_embed") and g.abs().max() > 0 for n, g in grads.items())
    _, stats = ss.learn(traj, adv)
    assert "Loss/sl_clf" not in stats
    # With the frame-level CE added the classifier is trained again (SS ablation with TransT's CE).
    ce = SLTTransTActor(tracker.net, tracker.policy,
                        settings=types.SimpleNamespace(use_rl_objective=False, ss_ce_weight=8.334))
    _, grads = chunked_grads(ce, traj, adv, 2)
    assert any(n.startswith("class_embed") and g.abs().max() > 0 for n, g in grads.items())
    _, grads1 = chunked_grads(ce, traj, adv, 1)
    assert_same_grads(grads1, grads)


def test_learn_rejects_unrecorded_or_mismatched(recorded):
    tracker, traj, adv, _ = recorded
    actor = SLTTransTActor(tracker.net, tracker.policy)
    with pytest.raises(ValueError, match="advantages"):
        actor.learn(traj, adv[:, :2])
    bare = traj.chunk([0, 1])
    bare.search_crops = None
    with pytest.raises(ValueError, match="recorded"):
        actor.learn(bare, adv[:, :2])
