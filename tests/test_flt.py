"""Frame-level TransT training: device crops around jittered GT, criterion, trainer, settings."""
from __future__ import annotations

import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from helpers import assert_resumes_exactly
from ltr_slt.actors.transt_flt import FLTCropSettings, TransTFLTActor, jitter_boxes, pair_crop_sides
from ltr_slt.admin.settings import Settings
from ltr_slt.data.pair_sampler import Pair, PairLoader, PairSampler
from ltr_slt.models.tracking.transt import transt_tiny
from ltr_slt.trainers.flt_trainer import FLTTrainer, build_flt_trainer, flt_param_groups

RED = (250, 10, 10)


def red_frame(box, size=(120, 160), seed=0):
    """Dark noise with a solid red rectangle at ``box`` (xywh, integer-aligned)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, size=(*size, 3), dtype=np.uint8)
    x, y, w, h = (int(v) for v in box)
    img[max(y, 0):y + h, max(x, 0):x + w] = RED
    return img


class RedVideos:
    """ltr-API dataset: a red rectangle drifting right over noise."""

    def __init__(self, num_seq=2, num_frames=12):
        self.n, self.f = num_seq, num_frames

    def get_name(self):
        return "red"

    def is_video_sequence(self):
        return True

    def get_num_sequences(self):
        return self.n

    def box(self, s, f):
        return [30.0 + 3 * f, 30.0 + 5 * s, 24.0 + 2 * s, 18.0]

    def get_sequence_info(self, s):
        bbox = torch.tensor([self.box(s, f) for f in range(self.f)])
        vis = torch.ones(self.f, dtype=torch.bool)
        return {"bbox": bbox, "valid": vis, "visible": vis.clone()}

    def get_frames(self, s, ids, anno=None):
        anno = anno or self.get_sequence_info(s)
        return ([red_frame(self.box(s, f), seed=f) for f in ids],
                {k: [v[f] for f in ids] for k, v in anno.items()}, {})


def no_aug_settings(**kw):
    base = dict(center_jitter_factor={"search": 0, "template": 0}, scale_jitter_factor={"search": 0, "template": 0},
                grayscale_probability=0.0, brightness_jitter=0.0)
    base.update(kw)
    return SimpleNamespace(**base)


def red_fraction(crop_uint8, box):
    """Fraction of red pixels inside and outside an xywh box of a [3,S,S] uint8 crop."""
    img = crop_uint8.permute(1, 2, 0).numpy().astype(int)
    red = (img[..., 0] > 200) & (img[..., 1] < 60)
    x0, y0, w, h = box
    inside = np.zeros_like(red)
    inside[int(math.ceil(y0)):int(y0 + h), int(math.ceil(x0)):int(x0 + w)] = True
    return red[inside].mean(), red[~inside].mean()


def denormalise(x):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x * std + mean).mul(255).round().clamp(0, 255).to(torch.uint8)


def test_jitter_boxes_matches_ltr_formula():
    boxes = torch.tensor([[10.0, 20.0, 40.0, 10.0]]).repeat(4000, 1).double()
    assert torch.equal(jitter_boxes(boxes, 0.0, 0.0), boxes)
    g = torch.Generator().manual_seed(0)
    jit = jitter_boxes(boxes, 3.0, 0.25, g)
    log_scale = torch.log(jit[:, 2:] / boxes[:, 2:])
    assert abs(float(log_scale.std()) - 0.25) < 0.02 and abs(float(log_scale.mean())) < 0.02
    offset = (jit[:, :2] + jit[:, 2:] / 2) - (boxes[:, :2] + boxes[:, 2:] / 2)
    bound = 0.5 * 3.0 * jit[:, 2:].prod(1, keepdim=True).sqrt()
    assert bool((offset.abs() <= bound + 1e-9).all())
    assert float((offset.abs() / bound).max()) > 0.95  # uniform over the whole range
    assert torch.equal(pair_crop_sides(torch.tensor([[0.0, 0.0, 40.0, 10.0]]), 2.0), torch.tensor([40.0]))


def test_crops_centre_the_target_and_gt_lands_on_it():
    net = transt_tiny()
    actor = TransTFLTActor(net, settings=no_aug_settings())
    t_box, s_box = [50, 40, 30, 20], [70, 50, 30, 20]
    pair = Pair(red_frame(t_box), np.array(t_box, np.float32), red_frame(s_box, seed=1), np.array(s_box, np.float32))
    data = actor.prepare([pair])
    side_t = math.ceil(math.sqrt(600) * 2)   # 49
    side_s = math.ceil(math.sqrt(600) * 4)   # 98
    assert data["template"].shape == (1, 3, 128, 128) and data["search"].shape == (1, 3, 256, 256)
    anno = data["search_anno"][0]
    # no jitter: the target sits in the middle, scaled by out_size / crop side
    assert torch.allclose(anno[2:], torch.tensor([30.0, 20.0]) * 256 / side_s)
    assert torch.allclose(anno[:2] + anno[2:] / 2, torch.tensor([128.0, 128.0]))
    assert torch.allclose(data["target"][0], torch.cat([anno[:2] + anno[2:] / 2, anno[2:]]) / 256)
    t_anno = torch.tensor([64 - 15 * 128 / side_t, 64 - 10 * 128 / side_t, 30 * 128 / side_t, 20 * 128 / side_t])
    inside, outside = red_fraction(denormalise(data["template"])[0], t_anno.tolist())
    assert inside > 0.9 and outside < 0.02
    inside, outside = red_fraction(denormalise(data["search"])[0], anno.tolist())
    assert inside > 0.9 and outside < 0.02


def test_jittered_search_gt_follows_the_target_and_pads_with_channel_mean():
    net = transt_tiny()
    torch.manual_seed(0)
    actor = TransTFLTActor(net, settings=no_aug_settings(center_jitter_factor={"search": 3, "template": 0},
                                                         scale_jitter_factor={"search": 0.25, "template": 0}))
    pairs = []
    for k in range(6):
        box = [5 + 20 * k, 8 + 15 * (k % 3), 26, 18]  # some near the border: windows leave the image
        pairs.append(Pair(red_frame(box, seed=k), np.array(box, np.float32), red_frame(box, seed=k + 9),
                          np.array(box, np.float32)))
    data = actor.prepare(pairs)
    crops = denormalise(data["search"])
    centres = data["search_anno"][:, :2] + data["search_anno"][:, 2:] / 2
    assert float((centres - 128).abs().max()) > 10  # the jitter really moved the target
    for k in range(6):
        inside, outside = red_fraction(crops[k], data["search_anno"][k].tolist())
        assert inside > 0.85 and outside < 0.02
    # pair 0 sits at the top-left corner: the crop's corner is padding = the image's channel mean
    mean = torch.from_numpy(pairs[0].search_image.reshape(-1, 3).astype(np.int64).sum(0) // (120 * 160))
    assert torch.allclose(crops[0, :, 0, 0].long(), mean, atol=1)


def test_augmentation_grayscale_and_brightness():
    net = transt_tiny()
    box = [50, 40, 30, 20]
    pair = Pair(red_frame(box), np.array(box, np.float32), red_frame(box), np.array(box, np.float32))
    gray = TransTFLTActor(net, settings=no_aug_settings(grayscale_probability=1.0)).prepare([pair])
    crop = denormalise(gray["search"])[0].int()
    assert int((crop[0] - crop[1]).abs().max()) <= 1 and int((crop[1] - crop[2]).abs().max()) <= 1
    plain = TransTFLTActor(net, settings=no_aug_settings()).prepare([pair])
    bright = TransTFLTActor(net, settings=no_aug_settings(brightness_jitter=0.5)).prepare([pair] * 8)
    ratios = denormalise(bright["search"]).float().mean((1, 2, 3)) / denormalise(plain["search"]).float().mean()
    assert float(ratios.min()) < 0.95 and float(ratios.max()) > 1.05


def test_actor_loss_stats_and_gradients():
    net = transt_tiny()
    actor = TransTFLTActor(net)
    pairs = [PairSampler([RedVideos()], samples_per_epoch=4, max_gap=5, seed=0)[i] for i in range(4)]
    loss, stats = actor(pairs)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert set(stats) >= {"Loss/total", "Loss/ce", "Loss/bbox", "Loss/giou", "iou", "mIoU"}
    expected = 8.334 * stats["Loss/ce"] + 5 * stats["Loss/bbox"] + 2 * stats["Loss/giou"]
    assert stats["Loss/total"] == pytest.approx(expected, rel=1e-5)
    assert 0.0 <= stats["mIoU"] <= 1.0
    loss.backward()
    with_grad = [n for n, p in net.named_parameters() if p.grad is not None and float(p.grad.abs().sum()) > 0]
    assert any("backbone" in n for n in with_grad) and any("class_embed" in n for n in with_grad)
    bad = Pair(pairs[0].template_image, np.array([1, 1, 0, 5], np.float32), pairs[0].search_image, pairs[0].search_box)
    with pytest.raises(ValueError, match=r"template_box\[0\]"):
        actor([bad])


def test_param_groups_split_backbone():
    net = transt_tiny()
    head, body = flt_param_groups(net, 1e-4, 1e-5)
    assert head["lr"] == 1e-4 and body["lr"] == 1e-5
    names = {id(p): n for n, p in net.named_parameters()}
    assert all("backbone" in names[id(p)] for p in body["params"]) and body["params"]
    assert len(head["params"]) + len(body["params"]) == len(list(net.parameters()))


def tiny_settings(tmp_path, **kw):
    s = Settings(SimpleNamespace(workspace_dir=str(tmp_path), tensorboard_dir=""))
    s.update(module_name="transt", script_name="test", project_path="ltr/transt/test", device="cpu", seed=3,
             batch_size=2, samples_per_epoch=4, num_workers=0, max_gap=5, lr=1e-3, backbone_lr=1e-3,
             print_interval=100, lr_step=100)
    s.update(kw)
    return s


def test_fixed_batch_overfits():
    torch.manual_seed(0)
    net = transt_tiny(dropout=0.0)
    pairs = [PairSampler([RedVideos()], samples_per_epoch=4, max_gap=5, seed=1)[i] for i in range(4)]
    actor = TransTFLTActor(net, settings=no_aug_settings())
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    first = None
    for _ in range(20):
        loss, _ = actor(pairs)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = float(actor(pairs)[0].detach())
    assert final < 0.5 * first, (first, final)


def test_trainer_checkpoints_and_resumes_exactly(tmp_path):
    from ltr_slt.admin.loading import load_network

    def make(ws):
        torch.manual_seed(0)
        net = transt_tiny(dropout=0.0)
        return build_flt_trainer(tiny_settings(ws), net, [RedVideos()])

    straight = assert_resumes_exactly(make, tmp_path, atol=1e-6)
    assert isinstance(straight, FLTTrainer)
    ckpt = tmp_path / "a" / "checkpoints" / "ltr" / "transt" / "test" / "TransT_ep0002.pth.tar"
    assert ckpt.is_file()
    assert "Loss/total" in straight.stats["train"] and "mIoU10" in straight.stats["train"]

    net, _ = load_network(str(ckpt), trusted=True)  # our own file: pickled stats/settings
    for a, b in zip(net.state_dict().values(), straight.net.state_dict().values()):
        assert torch.equal(a, b)


def test_run_training_transt_tiny(tmp_path, monkeypatch):
    """`python -m ltr_slt.run_training transt transt_tiny` wiring, shrunk to seconds."""
    from ltr_slt.run_training import run_training
    from ltr_slt.train_settings.transt import transt_tiny as tt

    original = tt.configure

    def small(settings):
        original(settings)
        settings.update(batch_size=2, samples_per_epoch=2, num_epochs=1, print_interval=100)
        return settings

    monkeypatch.setattr(tt, "configure", small)
    monkeypatch.setattr(tt, "datasets", lambda settings: [RedVideos()])
    run_training("transt", "transt_tiny", seed=1, workspace=str(tmp_path), device="cpu")
    files = list((tmp_path / "checkpoints" / "ltr" / "transt" / "transt_tiny").glob("TransT_ep0001.pth.tar"))
    assert len(files) == 1


def test_official_settings_values():
    from ltr_slt.train_settings.transt import transt
    s = transt.configure(SimpleNamespace())
    assert (s.batch_size, s.lr, s.backbone_lr, s.weight_decay, s.lr_step, s.num_epochs) == (38, 1e-4, 1e-5, 1e-4, 500, 1000)
    assert s.samples_per_epoch == 38000 and s.center_jitter_factor == {"search": 3, "template": 0}
    crop = FLTCropSettings.from_settings(s)
    assert (crop.search_area_factor, crop.template_area_factor, crop.scale_jitter_search) == (4.0, 2.0, 0.25)
