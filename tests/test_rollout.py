"""Rollout: greedy + sampled copies, recording, masking of short clips, no autograd graph."""
from __future__ import annotations

from typing import List

import numpy as np
import pytest
import torch

from ltr_slt.data.clip import Clip
from ltr_slt.data.crop import crop_windows
from ltr_slt.models.tracking.transt import transt_tiny
from ltr_slt.slt.rollout import rollout
from pytracking_slt.tracker.transt.batched import BatchedTransT


TEMPLATE, SEARCH = 64, 128


def make_clips(lengths: List[int], seed: int = 0, size=(96, 128), invisible=()) -> List[Clip]:
    """Toy clips: a bright textured box drifting over noise (different frame sizes per clip)."""
    rng = np.random.default_rng(seed)
    clips = []
    for k, t in enumerate(lengths):
        h, w = size[0] + 8 * k, size[1] - 8 * k
        box = np.array([w * 0.4, h * 0.4, 22.0 + 2 * k, 18.0], dtype=np.float32)
        vel = rng.uniform(-3, 3, size=2).astype(np.float32)
        imgs, boxes = [], []
        for f in range(t + 1):  # frame 0 = template frame
            img = rng.integers(0, 80, size=(h, w, 3), dtype=np.uint8)
            x, y, bw, bh = box.astype(int)
            img[y:y + bh, x:x + bw] = rng.integers(170, 255, size=(bh, bw, 3), dtype=np.uint8)
            imgs.append(img)
            boxes.append(box.copy())
            box[:2] = np.clip(box[:2] + vel, 2, [w - box[2] - 2, h - box[3] - 2])
        visible = np.ones(t, dtype=bool)
        for f in invisible:
            if k == 0 and f < t:
                visible[f] = False
        clips.append(Clip(template_images=[imgs[0]], template_boxes=np.stack(boxes[:1]),
                          search_images=imgs[1:], search_boxes=np.stack(boxes[1:]), search_visible=visible,
                          dataset="toy", seq_id=k))
    return clips


def make_net(seed: int = 0) -> torch.nn.Module:
    """Tiny TransT with half-size crops (64 / 128 px, 16x16 grid): the same code, 4x cheaper on CPU."""
    torch.manual_seed(seed)
    return transt_tiny(template_size=TEMPLATE, search_size=SEARCH)


def make_tracker(seed: int = 0, **params) -> BatchedTransT:
    net = make_net(seed)
    return BatchedTransT(net, params or None, device="cpu")


def test_rollout_records_sampled_half_and_masks_short_clips():
    tracker = make_tracker()
    tracker.net.train()  # rollout must switch to eval itself
    clips = make_clips([5, 3, 4], invisible=(2,))
    traj = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(0))
    assert not tracker.net.training
    assert traj.num_frames.tolist() == [5, 3, 4]
    assert traj.frame_mask.T.tolist() == [[True] * 4, [True, True, False, False], [True, True, True, False]]
    assert traj.visible[1, 0].item() is False and traj.valid.sum().item() == 4 + 2 + 3 - 1
    # IoU of invalid (padded / invisible) frames is zeroed; others are real IoUs.
    assert (traj.iou_greedy[~traj.valid] == 0).all() and (traj.iou_sampled[~traj.valid] == 0).all()
    assert ((traj.iou_greedy >= 0) & (traj.iou_greedy <= 1)).all()
    assert traj.search_crops.shape == (4, 3, 3, SEARCH, SEARCH) and traj.search_crops.dtype == torch.uint8
    assert traj.template_crops.shape == (3, 3, TEMPLATE, TEMPLATE) and traj.template_crops.dtype == torch.uint8
    assert traj.actions.shape == (4, 3) and traj.actions.dtype == torch.long
    assert not traj.search_crops.is_inference() and not traj.actions.requires_grad
    # Recorded crops are the crops around the sampled copy's previous estimate (its own trajectory).
    k, i = 2, 0
    prev = traj.boxes_sampled[k - 1, i]
    assert torch.allclose(traj.crop_centers[k, i], prev[:2] + prev[2:] / 2, atol=1e-9)
    again = crop_windows([torch.from_numpy(clips[i].search_images[k + 1])], traj.crop_centers[k, i][None].double(),
                         traj.crop_sides[k, i][None], SEARCH,
                         torch.from_numpy(clips[i].template_images[0].reshape(-1, 3).sum(0) //
                                          (clips[i].template_images[0].shape[0] * clips[i].template_images[0].shape[1])
                                          ).float())
    assert torch.equal(again[0], traj.search_crops[k, i])
    # GT in crop follows (p - c) * S / s + S / 2 from the full-image GT (official: S = 256).
    gt = traj.gt_boxes[k, i]
    scale = SEARCH / traj.crop_sides[k, i]
    assert torch.allclose(traj.gt_crop[k, i, :2].double(), (gt[:2] - traj.crop_centers[k, i]) * scale + SEARCH / 2,
                          atol=1e-3)


def test_greedy_half_matches_greedy_tracking_and_sampling_is_seeded():
    tracker = make_tracker(1)
    clips = make_clips([3, 3], seed=3)
    a = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(5))
    b = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(5))
    c = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(6), record=False)
    assert torch.equal(a.actions, b.actions) and torch.equal(a.boxes_sampled, b.boxes_sampled)
    assert torch.equal(a.boxes_greedy, c.boxes_greedy)  # greedy half does not depend on the RNG
    assert not torch.equal(a.actions, c.actions)  # 1024-way sampling with a random tiny net
    assert c.search_crops is None and c.gt_crop is None
    # The greedy half equals tracking each clip alone in greedy mode with batch 1.
    for i, clip in enumerate(clips):
        state = tracker.init([clip.template_images[0]], clip.template_boxes[:1], clip.search_boxes[:1])
        for t in range(1, clip.num_frames):
            state, out = tracker.step([clip.search_images[t]], state, mode="greedy")
            torch.testing.assert_close(out.boxes[0], a.boxes_greedy[t - 1, i], rtol=1e-6, atol=1e-4)


def test_evaluation_tracker_gives_exactly_the_greedy_half_of_a_rollout():
    """pytracking's initialize/track on one sequence gives the greedy copies' boxes of an SLT rollout."""
    from pytracking_slt.parameter.slt_transt.slt_transt_tiny import parameters
    from pytracking_slt.tracker.slt_transt import get_tracker_class

    tracker = make_tracker(4)
    clips = make_clips([6, 6], seed=11)
    for c in clips:  # evaluation initialises on frame 0: make the clip's template that frame
        c.template_images = [c.search_images[0]]
        c.template_boxes = c.search_boxes[:1].copy()
    traj = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(0))
    for i, clip in enumerate(clips):
        evaluator = get_tracker_class()(parameters(net=tracker.net, device="cpu"))
        evaluator.initialize(clip.search_images[0], {"init_bbox": clip.search_boxes[0].tolist()})
        boxes = torch.tensor([evaluator.track(img)["target_bbox"] for img in clip.search_images[1:]],
                             dtype=torch.float64)
        # Same code and the same decisions; batched (2N) vs single forwards may differ in the last
        # float32 bit of the network output (CPU kernels block by batch size), hence 1e-3 px, not ==.
        torch.testing.assert_close(boxes, traj.boxes_greedy[:, i], rtol=0, atol=1e-3)


def test_rollout_rejects_bad_clips():
    tracker = make_tracker()
    clips = make_clips([1])
    with pytest.raises(ValueError, match=">= 2"):
        rollout(tracker, clips, "cpu")
    with pytest.raises(ValueError, match="at least one clip"):
        rollout(tracker, [], "cpu")
