"""Sequence rewards: AO / success AUC, masking of padded and invisible frames, advantages."""
from __future__ import annotations

import pytest
import torch

from ltr_slt.slt.reward import (average_overlap, broadcast_advantages, compute_rewards, get_reward_function,
                                self_critical_loss, success_auc)
from ltr_slt.slt.trajectory import Trajectory, gt_in_crop, xywh_to_cxcywh_normalised


def _traj(iou_g, iou_s, frame_mask, visible) -> Trajectory:
    iou_g, iou_s = torch.tensor(iou_g), torch.tensor(iou_s)
    steps, n = iou_g.shape
    z4 = torch.zeros(steps, n, 4)
    zl = torch.zeros(steps, n, dtype=torch.long)
    fm = torch.tensor(frame_mask)
    return Trajectory(num_frames=fm.sum(0) + 1, frame_mask=fm, visible=torch.tensor(visible), gt_boxes=z4,
                      iou_greedy=iou_g, iou_sampled=iou_s, boxes_greedy=z4, boxes_sampled=z4.clone(),
                      actions=zl, greedy_actions=zl.clone())


def test_average_overlap_masks_frames():
    iou = torch.tensor([[0.5, 1.0], [0.7, 0.0], [0.9, 0.3]])  # [T-1=3, N=2]
    mask = torch.tensor([[True, True], [True, False], [False, True]])
    ao = average_overlap(iou, mask)
    assert torch.allclose(ao, torch.tensor([0.6, 0.65]))
    # A clip without scored frames gets 0, not NaN.
    assert average_overlap(iou, torch.zeros_like(mask)).tolist() == [0.0, 0.0]


def test_success_auc_matches_definition():
    iou = torch.tensor([[0.0], [0.5], [1.0]])
    mask = torch.ones_like(iou, dtype=torch.bool)
    thr = [i / 20 for i in range(21)]
    expected = sum(sum(v > t for v in (0.0, 0.5, 1.0)) / 3 for t in thr) / 21
    assert success_auc(iou, mask).item() == pytest.approx(expected)
    # AUC over 21 thresholds of IoU > t approximates the mean IoU (minus the t=0 step bias).
    assert get_reward_function("success_auc") is success_auc
    with pytest.raises(ValueError, match="unknown reward"):
        get_reward_function("nope")


def test_reward_is_sampled_minus_greedy_and_skips_invisible_and_padding():
    # clip 0: 3 real tracked frames, frame 1 invisible; clip 1: 2 real tracked frames (last padded)
    traj = _traj(iou_g=[[0.8, 0.6], [0.1, 0.4], [0.6, 0.9]], iou_s=[[0.6, 0.6], [0.9, 0.2], [0.4, 0.9]],
                 frame_mask=[[True, True], [True, True], [True, False]],
                 visible=[[True, True], [False, True], [True, True]])
    res = compute_rewards(traj, "ao")
    assert torch.allclose(res.score_greedy, torch.tensor([0.7, 0.5]))
    assert torch.allclose(res.score_sampled, torch.tensor([0.5, 0.4]))
    assert torch.allclose(res.reward, torch.tensor([-0.2, -0.1]))
    # pysot convention: invisible frames count with IoU 0 (padding still never counts)
    res0 = compute_rewards(traj, "ao", invisible="zero")
    assert torch.allclose(res0.score_greedy, torch.tensor([1.4 / 3, 0.5]))
    assert torch.allclose(res0.reward, torch.tensor([-0.4 / 3, -0.1]))
    with pytest.raises(ValueError, match="invisible"):
        compute_rewards(traj, "ao", invisible="bogus")
    adv = broadcast_advantages(res.reward, traj.frame_mask)
    assert torch.allclose(adv, torch.tensor([[-0.2, -0.1], [-0.2, -0.1], [-0.2, 0.0]]))


def test_self_critical_loss_gradient_and_normaliser():
    logp = torch.tensor([-1.0, -2.0, -3.0], requires_grad=True)
    adv = torch.tensor([0.5, -1.0, 0.0])
    loss = self_critical_loss(logp, adv, normaliser=4)
    loss.backward()
    assert loss.item() == pytest.approx(-(0.5 * -1.0 + -1.0 * -2.0) / 4)
    assert torch.allclose(logp.grad, -adv / 4)


def test_trajectory_chunk_cat_pad_roundtrip():
    traj = _traj(iou_g=[[0.1, 0.2, 0.3]], iou_s=[[0.4, 0.5, 0.6]], frame_mask=[[True, True, True]],
                 visible=[[True, False, True]])
    sub = traj.chunk([2, 0])
    assert sub.num_clips == 2 and sub.iou_greedy[0].tolist() == pytest.approx([0.3, 0.1])
    longer = _traj(iou_g=[[0.9], [0.8]], iou_s=[[0.7], [0.6]], frame_mask=[[True], [True]],
                   visible=[[True], [True]])
    both = Trajectory.cat([traj, longer])
    assert both.num_clips == 4 and both.num_steps == 2
    assert both.frame_mask[:, :3].tolist() == [[True] * 3, [False] * 3]  # padded steps are masked
    res = compute_rewards(both)
    assert torch.allclose(res.score_greedy, torch.tensor([0.1, 0.0, 0.3, 0.85]))
    with pytest.raises(IndexError):
        traj.chunk([3])


def test_gt_in_crop_official_mapping():
    gt = torch.tensor([[90.0, 40.0, 20.0, 40.0]])
    centre = torch.tensor([[100.0, 50.0]])
    side = torch.tensor([128.0])
    crop = gt_in_crop(gt, centre, side, 256)
    # (x - c) * 256 / s + 128
    assert crop[0].tolist() == pytest.approx([108.0, 108.0, 40.0, 80.0])
    norm = xywh_to_cxcywh_normalised(crop, 256)
    assert norm[0].tolist() == pytest.approx([0.5, 0.578125, 40 / 256, 80 / 256])
