"""TransT matcher / criterion / SLT box losses against hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltr_slt.models.loss import (DEFAULT_WEIGHT_DICT, SLT_BOX_WEIGHT_DICT, TrackingMatcher, TransTCriterion,
                                 box_loss_terms, box_losses, cell_ranges, positive_mask, transt_loss)
from ltr_slt.models.loss.box_ops import box_cxcywh_to_xyxy, box_xyxy_to_cxcywh, paired_iou_giou
from helpers import official_slice_cells


def _cells(mask_row: torch.Tensor, n: int = 32) -> set:
    return {divmod(int(t), n) for t in mask_row.nonzero()[:, 0]}  # {(y, x)}


def _official_slice_cells(box, n=32):
    """The official rule (numpy slicing of the token grid) as {(y, x)} cells."""
    return {divmod(t, n) for t in official_slice_cells(box, n)}


def test_matcher_cells_inside_grid():
    box = torch.tensor([[0.5, 0.5, 0.25, 0.125]])
    # x: ceil(12)=12 .. ceil(20)=20 -> 12..19; y: 14..17
    expected = {(y, x) for y in range(14, 18) for x in range(12, 20)}
    assert _cells(positive_mask(box, 32)[0]) == expected
    assert cell_ranges(box, 32).tolist() == [[12, 20, 14, 18]]
    rng = np.random.RandomState(0)
    for _ in range(50):
        w, h = rng.uniform(0.02, 0.6, 2)
        cx, cy = rng.uniform(w / 2, 1 - w / 2), rng.uniform(h / 2, 1 - h / 2)
        b = torch.tensor([[cx, cy, w, h]], dtype=torch.float32)
        ref = _official_slice_cells(b[0].double().tolist())
        assert _cells(positive_mask(b, 32)[0]) == ref


def test_matcher_degenerate_boxes_get_one_cell():
    tiny = torch.tensor([[0.5, 0.5, 0.01, 0.01], [0.5, 0.5, 0.0, 0.0]])
    # 0.495*32 = 15.84 -> 16, 0.505*32 = 16.16 -> 17; zero size: 16 == 16 -> 17
    m = positive_mask(tiny, 32)
    assert _cells(m[0]) == {(16, 16)} and _cells(m[1]) == {(16, 16)}


def test_matcher_clamps_instead_of_wrapping():
    boxes = torch.tensor([
        [0.0, 0.5, 0.25, 0.125],  # half outside left: official gives no cells at all
        [-0.3, 0.5, 0.2, 0.125],  # fully outside left: official wraps to columns 20..25
        [0.95, 0.5, 0.2, 0.125],  # overflows right: cols 28..31
        [1.5, 1.5, 0.2, 0.2],  # fully outside bottom-right: nearest corner cell
        [0.5, -0.02, 0.2, 0.1],  # overflows top
    ])
    m = positive_mask(boxes, 32)
    rows = {(y) for y in range(14, 18)}
    assert _cells(m[0]) == {(y, x) for y in rows for x in range(0, 4)}
    assert _official_slice_cells(boxes[0].double().tolist()) == set()  # the bug being fixed
    assert _official_slice_cells(boxes[1].double().tolist()) == {(y, x) for y in rows for x in range(20, 26)}
    assert _cells(m[1]) == {(y, 0) for y in rows}
    assert _cells(m[2]) == {(y, x) for y in rows for x in range(28, 32)}
    assert _cells(m[3]) == {(31, 31)}
    # y: ceil(-0.07*32 = -2.24) = -2 -> 0, ceil(0.03*32 = 0.96) = 1 -> row 0 only
    assert _cells(m[4]) == {(0, x) for x in range(13, 20)}
    assert (m.sum(1) >= 1).all()


def test_matcher_official_interface_and_validity():
    box = torch.tensor([0.5, 0.5, 0.25, 0.125])
    outputs = {"pred_logits": torch.zeros(2, 1024, 2)}
    indices = TrackingMatcher()(outputs, [{"boxes": box[None], "labels": torch.tensor([0])}] * 2)
    assert len(indices) == 2 and len(indices[0][0]) == 32 and indices[0][1].eq(0).all()
    assert indices[0][0][0].item() == 14 * 32 + 12
    m = positive_mask(torch.stack([box, box]), 32, valid=torch.tensor([True, False]))
    assert m[0].sum() == 32 and m[1].sum() == 0
    with pytest.raises(ValueError, match="targets"):
        TrackingMatcher()(outputs, torch.zeros(2, 5))


def test_giou_hand_values():
    a = torch.tensor([[0.0, 0, 2, 2], [0, 0, 1, 1], [1, 1, 3, 4]])
    b = torch.tensor([[1.0, 1, 3, 3], [2, 0, 3, 1], [1, 1, 3, 4]])
    iou, giou = paired_iou_giou(a, b)
    assert iou.tolist() == pytest.approx([1 / 7, 0.0, 1.0])
    assert giou.tolist() == pytest.approx([1 / 7 - 2 / 9, -1 / 3, 1.0])
    c = torch.tensor([[0.3, 0.4, 0.2, 0.1]])
    assert torch.allclose(box_xyxy_to_cxcywh(box_cxcywh_to_xyxy(c)), c)
    assert box_cxcywh_to_xyxy(c).tolist()[0] == pytest.approx([0.2, 0.35, 0.4, 0.45])


def test_criterion_hand_computed():
    gt = torch.tensor([[0.5, 0.5, 0.25, 0.125], [0.5, 0.5, 0.0625, 0.0625]])  # 32 and 2x2=4 positives
    mask = positive_mask(gt, 32)
    p1, p2 = 32, 4
    assert mask.sum(1).tolist() == [p1, p2]
    logits = torch.zeros(2, 1024, 2)
    logits[mask] = torch.tensor([2.0, 0.0])
    pred = torch.empty(2, 1024, 4)
    pred[0] = torch.tensor([0.5, 0.5, 0.25, 0.25])  # same centre, double height
    pred[1] = torch.tensor([0.55, 0.5, 0.0625, 0.0625])  # shifted by 0.05 in x
    crit = TransTCriterion()
    losses = crit({"pred_logits": logits.requires_grad_(), "pred_boxes": pred}, gt)
    n_pos, n_neg = p1 + p2, 2048 - p1 - p2
    ce = (n_pos * math.log(1 + math.exp(-2)) + n_neg * 0.0625 * math.log(2)) / (n_pos + n_neg * 0.0625)
    assert losses["loss_ce"].item() == pytest.approx(ce, rel=1e-6)
    assert losses["loss_bbox"].item() == pytest.approx((p1 * 0.125 + p2 * 0.05) / (p1 + p2), rel=1e-5)
    # sample 0: pred contains gt, iou = 0.5 = giou; sample 1: 0.0625 wide boxes offset 0.05
    inter = 0.0125 * 0.0625
    iou1 = inter / (2 * 0.0625 ** 2 - inter)
    giou1 = iou1 - ((0.1125 * 0.0625) - (2 * 0.0625 ** 2 - inter)) / (0.1125 * 0.0625)
    assert losses["loss_giou"].item() == pytest.approx((p1 * 0.5 + p2 * (1 - giou1)) / (p1 + p2), rel=1e-5)
    assert losses["iou"].item() == pytest.approx((p1 * 0.5 + p2 * iou1) / (p1 + p2), rel=1e-5)
    assert losses["class_error"].item() == 0.0
    total = crit.total(losses)
    assert total.item() == pytest.approx(8.334 * ce + 5 * losses["loss_bbox"].item()
                                         + 2 * losses["loss_giou"].item(), rel=1e-6)
    total.backward()
    assert logits.grad is not None
    assert crit.weight_dict == DEFAULT_WEIGHT_DICT == {"loss_ce": 8.334, "loss_bbox": 5.0, "loss_giou": 2.0}
    assert SLT_BOX_WEIGHT_DICT == {"loss_bbox": 5.0, "loss_giou": 2.0}
    assert transt_loss(None).eos_coef == 0.0625
    # official list-of-dicts targets give the same numbers
    listed = crit({"pred_logits": logits.detach(), "pred_boxes": pred},
                  [{"boxes": g[None], "labels": torch.tensor([0])} for g in gt])
    assert listed["loss_giou"].item() == pytest.approx(losses["loss_giou"].item())


def test_invalid_samples_contribute_nothing():
    torch.manual_seed(0)
    logits = torch.randn(3, 1024, 2)
    pred = torch.rand(3, 1024, 4, requires_grad=True)
    gt = torch.tensor([[0.5, 0.5, 0.2, 0.3], [float("nan")] * 4, [0.3, 0.6, 0.1, 0.2]])
    valid = torch.tensor([True, False, True])
    crit = TransTCriterion()
    full = crit({"pred_logits": logits, "pred_boxes": pred}, gt, valid)
    keep = crit({"pred_logits": logits[[0, 2]], "pred_boxes": pred[[0, 2]]}, gt[[0, 2]])
    for k in ("loss_ce", "loss_bbox", "loss_giou", "iou"):
        assert full[k].item() == pytest.approx(keep[k].item(), rel=1e-6), k
    terms = box_loss_terms(pred, gt, valid)
    assert terms.num_pos[1] == 0 and terms.l1[1] == 0 and terms.giou[1] == 0
    (full["loss_bbox"] + full["loss_giou"]).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[1].abs().sum() == 0
    none = box_losses(pred, gt, torch.zeros(3, dtype=torch.bool))
    assert none["loss_bbox"].item() == 0.0 and none["loss_giou"].item() == 0.0  # divided by min 1


def test_box_terms_allow_chunked_normalisation():
    torch.manual_seed(1)
    pred = torch.rand(4, 1024, 4)
    gt = torch.tensor([[0.5, 0.5, 0.3, 0.2], [0.2, 0.2, 0.1, 0.1], [0.7, 0.4, 0.4, 0.5], [0.5, 0.5, 0.05, 0.05]])
    whole = box_losses(pred, gt)
    total = float(positive_mask(gt, 32).sum())
    a = box_losses(pred[:2], gt[:2], num_pos_total=total)
    b = box_losses(pred[2:], gt[2:], num_pos_total=total)
    for k in ("loss_bbox", "loss_giou"):
        assert (a[k] + b[k]).item() == pytest.approx(whole[k].item(), rel=1e-6)
    t = box_loss_terms(pred, gt)
    assert t.num_pos.tolist() == positive_mask(gt, 32).sum(1).float().tolist()
    with pytest.raises(ValueError, match="gt_cxcywh"):
        box_losses(pred, gt[:3])


def test_degenerate_gt_gives_finite_gradients():
    pred = torch.full((1, 1024, 4), 0.5, requires_grad=True)
    gt = torch.tensor([[0.5, 0.5, 0.0, 0.0]])
    out = box_losses(pred, gt)
    (out["loss_bbox"] + out["loss_giou"]).backward()
    assert torch.isfinite(pred.grad).all()
