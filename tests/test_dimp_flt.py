"""DiMP-family frame-level training actor: ltr's crop arithmetic, LBHinge, labels, proposals, loss weights."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
import torch

from ltr_slt.actors.dimp_flt import (DiMPFLTActor, DiMPProcessingSettings, box_to_crop, crop_frames, lbhinge_loss,
                                     ltr_crop_boxes)
from ltr_slt.data.crop import FrameBuffer
from ltr_slt.models.tracking.dimpnet import dimpnet_tiny, trdimpnet_tiny


@dataclass
class FS:
    train_images: list
    train_boxes: np.ndarray
    test_images: list
    test_boxes: np.ndarray


def _image(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_crop_boxes_side_and_inside_major_by_hand():
    # replicate: side ceil(sqrt(20*45) * 5) = 150, centred at (60, 72.5) then moved inside a 400x300 image
    c = ltr_crop_boxes(torch.tensor([[50.0, 50.0, 20.0, 45.0]]), [(300, 400)], 5.0, 288, "replicate")
    assert c.tolist() == [[0.0, 0.0, 150.0, 150.0]]  # x1 = round(60 - 75) = -15 -> shifted to 0
    # larger than the image (side ceil(sqrt(9000) * 6.3) = 598 > 400 x 300): centred, extends on both sides
    c = ltr_crop_boxes(torch.tensor([[150.0, 100.0, 100.0, 90.0]]), [(300, 400)], 6.3, 288, "replicate")
    assert c.tolist() == [[-99.0, -149.0, 598.0, 598.0]]
    # inside_major: shrink by min(side / W, side / H), capped at max_scale_change 1.5 (side 700 -> 466)
    c = ltr_crop_boxes(torch.tensor([[150.0, 100.0, 100.0, 100.0]]), [(300, 400)], 7.0, 288, "inside_major", 1.5)
    assert c[0, 2:].tolist() == [466.0, 466.0]
    c = ltr_crop_boxes(torch.tensor([[150.0, 100.0, 60.0, 60.0]]), [(300, 400)], 6.0, 288, "inside_major", 1.5)
    # min(360 / 400, 360 / 300) < 1: no shrink; inside the width, centred on the height
    assert c.tolist() == [[0.0, -30.0, 360.0, 360.0]]


def _ltr_cv2_crop(im: np.ndarray, crop: list, out: int) -> np.ndarray:
    """ltr's crop: copyMakeBorder with its pads (x2 - W + 1), then cv2.resize (the reference)."""
    x1, y1, w, h = [int(v) for v in crop]
    x2, y2 = x1 + w, y1 + h
    x1p, x2p = max(0, -x1), max(x2 - im.shape[1] + 1, 0)
    y1p, y2p = max(0, -y1), max(y2 - im.shape[0] + 1, 0)
    part = im[y1 + y1p:y2 - y2p, x1 + x1p:x2 - x2p, :]
    padded = cv2.copyMakeBorder(part, y1p, y2p, x1p, x2p, cv2.BORDER_REPLICATE)
    return cv2.resize(padded, (out, out))


@pytest.mark.parametrize("crop", [[10, 20, 100, 100], [-30, -12, 150, 150], [300, 200, 100, 100],
                                  [-60, -110, 520, 520], [0, 0, 400, 300], [37, 5, 60, 61]])
def test_crop_frames_match_ltr_cv2(crop):
    im = _image(300, 400, 1)
    buf = FrameBuffer.from_images([im])
    got = crop_frames(buf, torch.tensor([0]), torch.tensor([crop], dtype=torch.float32), 64)[0].permute(1, 2, 0).numpy()
    ref = _ltr_cv2_crop(im, crop, 64)
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_box_to_crop_maps_corners():
    crop = torch.tensor([[-10.0, 20.0, 200.0, 100.0]])
    box = torch.tensor([[40.0, 45.0, 20.0, 10.0]])
    got = box_to_crop(box, crop, 100)
    assert got.tolist() == [[25.0, 25.0, 10.0, 10.0]]


def test_lbhinge_by_hand():
    label = torch.tensor([0.0, 0.01, 0.5, 1.0])
    pred = torch.tensor([-1.0, 0.2, 0.3, 1.5])
    # negatives (label < 0.05): relu(pred) vs 0 -> 0, 0.2; positives: pred vs label -> -0.2, 0.5
    assert lbhinge_loss(pred, label).item() == pytest.approx((0 + 0.04 + 0.04 + 0.25) / 4)


def _batch(b: int = 2, k: int = 3, m: int = 3):
    out = []
    for i in range(b):
        ims = [_image(120, 160, 10 * i + j) for j in range(k + m)]
        boxes = np.array([[50 + 3 * j, 40 + j, 30, 24] for j in range(k + m)], dtype=np.float32)
        out.append(FS(ims[:k], boxes[:k], ims[k:], boxes[k:]))
    return out


def _tiny_settings(family: str, **kw) -> DiMPProcessingSettings:
    return DiMPProcessingSettings.for_family(family, dict(output_sz=96, num_proposals=16, **kw))


def test_prepare_shapes_labels_and_proposals():
    torch.manual_seed(0)
    still = dict(center_jitter_factor={"train": 0, "test": 0}, scale_jitter_factor={"train": 0, "test": 0},
                 hflip_joint_probability=0.0, hflip_split_probability=0.0)
    actor = DiMPFLTActor(trdimpnet_tiny(), _tiny_settings("trdimp", **still))
    d = actor.prepare(_batch())
    assert d["train_images"].shape == (3, 2, 3, 96, 96) and d["test_images"].shape == (3, 2, 3, 96, 96)
    assert d["test_label"].shape == (3, 2, 7, 7)  # 96 / 16 = 6 cells, kernel 4 -> +1
    assert d["test_proposals"].shape == (3, 2, 16, 4) and d["gt_density"].shape == (3, 2, 16)
    # by hand: side ceil(sqrt(30 * 24) * 6) = 162, inside_major shrink min(162/160, 162/120) -> 160 px; in a
    # 160 x 120 frame x1 = 0 and the height is centred (y1 = -20); crop pixels = image pixels * 96 / 160
    for j in range(3):
        box = np.array([50 + 3 * (j + 3), 40 + j + 3, 30, 24], dtype=np.float32)
        want = torch.tensor([box[0] * 0.6, (box[1] + 20) * 0.6, 18.0, 14.4])
        assert torch.allclose(d["test_anno"][j, 0], want, atol=1e-4)
    # LBHinge targets: Gaussian peaks at the GT centre / 16 (+0.5 for the even kernel) on the 7 x 7 grid
    centre = (d["test_anno"][..., :2] + d["test_anno"][..., 2:] / 2) / 16  # [3, 2, 2] (x, y)
    peak = d["test_label"].flatten(-2).argmax(-1)
    assert torch.equal(peak % 7, centre[..., 0].round().long()) and torch.equal(peak // 7, centre[..., 1].round().long())


def test_split_flip_mirrors_crops_and_boxes():
    kw = dict(center_jitter_factor={"train": 0, "test": 0}, scale_jitter_factor={"train": 0, "test": 0},
              hflip_joint_probability=0.0, brightness_jitter=0.0, grayscale_probability=0.0)
    plain = DiMPFLTActor(trdimpnet_tiny(), _tiny_settings("trdimp", hflip_split_probability=0.0, **kw)).prepare(_batch())
    flipped = DiMPFLTActor(trdimpnet_tiny(), _tiny_settings("trdimp", hflip_split_probability=1.0, **kw)).prepare(_batch())
    assert torch.equal(flipped["test_images"], plain["test_images"].flip(-1))
    a, b = plain["test_anno"], flipped["test_anno"]
    assert torch.allclose(b[..., 0], 96 - a[..., 0] - a[..., 2]) and torch.equal(b[..., 1:], a[..., 1:])


def test_loss_weights_and_backward():
    torch.manual_seed(0)
    net = trdimpnet_tiny()
    actor = DiMPFLTActor(net, _tiny_settings("trdimp"))
    net.train()
    loss, stats = actor(_batch())
    assert torch.isfinite(loss)
    # 3 score maps (init + 2 iterations): 100 final + 100 init + 400 / 1 * middle, + 0.01 KL
    expect = (stats["Loss/target_clf"] + stats["Loss/test_init_clf"] + stats["Loss/test_iter_clf"]
              + 0.01 * stats["Loss/bb_ce"])
    assert stats["Loss/total"] == pytest.approx(expect, rel=1e-5)
    assert stats["Loss/test_iter_clf"] == pytest.approx(400 * stats["ClfTrain/test_iter_loss"], rel=1e-5)
    loss.backward()
    # layer4 / fc and the attention's unused WV projections take no part in the forward (as official)
    grads = {n: p.grad for n, p in net.named_parameters() if p.grad is not None}
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith("feature_extractor.layer3"))
    assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith("classifier.filter_optimizer"))
    assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith("classifier.transformer"))
    assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith("bb_regressor"))


def test_dimp50_uses_atom_iou_regression():
    torch.manual_seed(0)
    actor = DiMPFLTActor(dimpnet_tiny(), DiMPProcessingSettings.for_family("dimp50", dict(output_sz=80)))
    loss, stats = actor(_batch(b=2, k=2, m=1))
    assert "Loss/iou" in stats and "Loss/bb_ce" not in stats
    assert stats["Loss/total"] == pytest.approx(stats["Loss/iou"] + stats["Loss/target_clf"]
                                                + stats["Loss/test_init_clf"] + stats["Loss/test_iter_clf"], rel=1e-5)


def test_generator_makes_batches_reproducible():
    batch = _batch()
    outs = []
    for _ in range(2):
        actor = DiMPFLTActor(trdimpnet_tiny(), _tiny_settings("trdimp"), generator=torch.Generator().manual_seed(5))
        outs.append(actor.prepare(batch))
    for key in outs[0]:
        assert torch.equal(outs[0][key], outs[1][key]), key


def test_bad_inputs_fail_clearly():
    with pytest.raises(ValueError, match="crop_type"):
        DiMPProcessingSettings.for_family("trdimp", dict(crop_type="mirror"))
    with pytest.raises(ValueError, match="unknown DiMP family"):
        DiMPProcessingSettings.for_family("siamrpn")
    with pytest.raises(ValueError, match="multiple of feature_stride"):
        DiMPProcessingSettings.for_family("trdimp", dict(output_sz=100))
    batch = _batch()
    batch[1].test_boxes = batch[1].test_boxes.copy()
    batch[1].test_boxes[2, 2] = 0.0
    actor = DiMPFLTActor(trdimpnet_tiny(), _tiny_settings("trdimp"))
    with pytest.raises(ValueError, match=r"sample 1 test_boxes\[2\]"):
        actor.prepare(batch)
