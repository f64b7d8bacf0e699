"""Box conversions and IoU (ltr_slt.data.bbox)."""
import numpy as np
import pytest
import torch

from ltr_slt.data import bbox


def test_conversions_round_trip_torch_and_numpy():
    b = torch.tensor([[10.0, 20.0, 30.0, 40.0], [0.5, -3.0, 1.0, 2.0]])
    assert torch.allclose(bbox.xywh_to_xyxy(b), torch.tensor([[10.0, 20.0, 40.0, 60.0], [0.5, -3.0, 1.5, -1.0]]))
    assert torch.allclose(bbox.xywh_to_cxcywh(b)[0], torch.tensor([25.0, 40.0, 30.0, 40.0]))
    for fwd, back in [(bbox.xywh_to_xyxy, bbox.xyxy_to_xywh), (bbox.xywh_to_cxcywh, bbox.cxcywh_to_xywh),
                      (bbox.xyxy_to_cxcywh, bbox.cxcywh_to_xyxy)]:
        assert torch.allclose(back(fwd(b)), b)
        n = b.numpy().astype(np.float64)
        out = back(fwd(n))
        assert isinstance(out, np.ndarray) and np.allclose(out, n)
    with pytest.raises(ValueError, match=r"\[\.\.\., 4\]"):
        bbox.xywh_to_xyxy(torch.zeros(3, 5))


def _pytracking_iou(p, a):
    """pytracking analysis formula (with its -1/+1 that cancel)."""
    tl = np.maximum(p[:, :2], a[:, :2])
    br = np.minimum(p[:, :2] + p[:, 2:] - 1.0, a[:, :2] + a[:, 2:] - 1.0)
    sz = np.clip(br - tl + 1.0, 0, None)
    inter = sz.prod(1)
    return inter / (p[:, 2:].prod(1) + a[:, 2:].prod(1) - inter)


def test_iou_matches_pytracking_definition():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 100, (200, 2)), rng.uniform(1, 60, (200, 2))], 1)
    a = np.concatenate([rng.uniform(0, 100, (200, 2)), rng.uniform(1, 60, (200, 2))], 1)
    ref = _pytracking_iou(p, a)
    assert np.allclose(bbox.iou_np(p, a), ref, atol=1e-12)
    assert np.allclose(bbox.iou(torch.from_numpy(p), torch.from_numpy(a)).numpy(), ref, atol=1e-12)
    assert bbox.iou(torch.from_numpy(p).float(), torch.from_numpy(a).float()).dtype == torch.float32
    assert (ref > 0).sum() > 20  # the test covers overlapping pairs, not only disjoint ones


def test_iou_known_values_and_edge_cases():
    a = torch.tensor([0.0, 0.0, 10.0, 10.0])
    assert bbox.iou(a, a).item() == pytest.approx(1.0)
    assert bbox.iou(a, torch.tensor([5.0, 0.0, 10.0, 10.0])).item() == pytest.approx(50 / 150)
    assert bbox.iou(a, torch.tensor([10.0, 0.0, 10.0, 10.0])).item() == 0.0  # touching
    zero = torch.tensor([3.0, 3.0, 0.0, 5.0])
    assert bbox.iou(zero, zero).item() == 0.0  # pytracking would give 0/0 = NaN
    assert bbox.iou(a, zero).item() == 0.0
    assert bbox.iou(a, torch.tensor([0.0, 0.0, -5.0, 10.0])).item() == 0.0
    nan = torch.tensor([float("nan"), 0.0, 10.0, 10.0])
    assert bbox.iou(a, nan).item() == 0.0
    assert bbox.iou(a, torch.tensor([0.0, 0.0, float("inf"), 10.0])).item() == 0.0
    # broadcasting [B, 4] x [4]
    many = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 20.0, 10.0]])
    assert torch.allclose(bbox.iou(many, a), torch.tensor([1.0, 0.5]))
    assert np.allclose(bbox.iou_np(np.zeros((2, 4)), np.zeros((2, 4))), 0.0)
