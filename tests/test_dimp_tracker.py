"""DiMP-family tracker: sampling, init samples, memory, localization, refinement, batching, rollouts.

CPU only, tiny networks (``dimpnet_tiny``; TrDiMP's transformer path uses the TEST DOUBLE of
``tests/dimp_doubles.py`` because the real transformer is built elsewhere), small samples for speed.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dimp_doubles import (dimpnet_tiny_transformer_double, reference_gauss_label, reference_sample_patch)
from dimp_reference import reference_refine
from ltr_slt.data.crop import FrameBuffer
from ltr_slt.models.tracking.dimpnet import dimpnet_tiny
from ltr_slt.slt.policy import MeanMaxPolicy
from pytracking_slt.parameter.dimp_common import VARIANTS, dimp_parameters
from pytracking_slt.tracker.dimp.batched import BatchedDiMP
from pytracking_slt.tracker.dimp.localization import AdvancedLocalization
from pytracking_slt.tracker.dimp.memory import SampleMemory, update_sample_weights
from pytracking_slt.tracker.dimp.refine import BoxRefinement
from pytracking_slt.tracker.dimp.sampling import (build_init_transforms, augment_init_patches, gaussian_label,
                                                  patch_geometry, sample_patches)

# 6x6 features with the stride-16 tiny net, fewer refinement steps: speed only (the code paths are the same)
SMALL = dict(image_sample_size=96, box_refinement_iter=2, num_init_random_boxes=4)


def _image(h=100, w=130, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3)).astype(np.uint8)


def _tiny(seed=0, transformer=False):
    torch.manual_seed(seed)
    return (dimpnet_tiny_transformer_double() if transformer else dimpnet_tiny()).eval()


def _params(variant="dimp50", **kw):
    return dimp_parameters(variant, net=object(), device="cpu", use_gpu=False, **dict(SMALL, **kw))


def _sequence(index, n=7, seed=5):
    from ltr_slt.dataset.synthetic import SyntheticConfig, generate_sequence
    cfg = SyntheticConfig(num_frames=n, width=112, height=84, use_photos=False)
    s = generate_sequence(index, cfg, seed=seed)
    return s.frames, s.boxes


# ------------------------------------------------------------------------------------------------
# sampling
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pos,sz,out,mode,msc", [
    ((50.3, 60.7), (40.0, 40.0), 32, "replicate", None),      # inside, upscale
    ((5.0, 120.2), (70.5, 70.5), 32, "replicate", None),      # partly outside, df = 2
    ((50.0, 65.0), (230.0, 230.0), 32, "replicate", None),    # mostly outside, df = 7
    ((60.0, 64.0), (33.0, 33.0), 33, "replicate", None),      # same size: no resampling
    ((10.0, 10.0), (80.0, 80.0), 40, "inside_major", 1.5),    # shifted inside
    ((50.0, 65.0), (250.0, 250.0), 40, "inside_major", 1.5),  # shrunk (max change 1.5) and centred
    ((90.6, 3.2), (60.0, 90.0), 24, "inside", None),
])
def test_sample_patches_match_pytracking_sample_patch(pos, sz, out, mode, msc):
    img = _image()
    ref, coord = reference_sample_patch(torch.from_numpy(img).float().permute(2, 0, 1)[None],
                                        torch.tensor(pos), torch.tensor(sz), out, mode, msc)
    buf = FrameBuffer.from_images([img])
    geom = patch_geometry(torch.tensor([pos]), torch.tensor([sz]), out, torch.tensor([[100, 130]]), mode, msc)
    for backend in ("gather", "cpu"):
        got = sample_patches(buf, torch.tensor([0]), geom, out, backend=backend)
        assert got.shape == (1, 3, out, out)
        assert (got - ref).abs().max().item() < 2e-3, backend
    torch.testing.assert_close(geom.patch_coords, coord.float(), rtol=0, atol=0)


def test_sample_patches_batch_shares_frames():
    imgs = [_image(seed=1), _image(80, 90, seed=2)]
    buf = FrameBuffer.from_images(imgs)
    pos = torch.tensor([[40.0, 50.0], [30.0, 20.0], [70.0, 80.0]])
    sz = torch.tensor([[50.0, 50.0], [90.0, 90.0], [20.0, 20.0]])
    index = torch.tensor([0, 1, 0])
    hw = torch.tensor([[100, 130], [80, 90], [100, 130]])
    geom = patch_geometry(pos, sz, 24, hw, "inside_major", 1.5)
    got = sample_patches(buf, index, geom, 24, backend="gather")
    torch.testing.assert_close(sample_patches(buf, index, geom, 24, backend="cpu"), got, rtol=0, atol=2e-3)
    for b in range(3):
        im = torch.from_numpy(imgs[index[b]]).float().permute(2, 0, 1)[None]
        ref, _ = reference_sample_patch(im, pos[b], sz[b], 24, "inside_major", 1.5)
        assert (got[b:b + 1] - ref).abs().max().item() < 2e-3


def test_init_transforms_shifts_and_samples():
    aug = VARIANTS["dimp50"]["augmentation"]
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    t1 = build_init_transforms(aug, True, 288, 1 / 3, g1)
    t2 = build_init_transforms(aug, True, 288, 1 / 3, g2)
    assert [t.kind for t in t1] == ["identity"] + ["translation"] * 4 + ["fliplr"] + ["blur"] * 3 + ["rotate"] * 4
    assert [t.shift for t in t1] == [t.shift for t in t2]  # seeded: repeatable
    assert [t.shift for t in t1[1:5]] == [(86, 86), (-86, 86), (86, -86), (-86, -86)]  # long(0.6 * 144)
    assert all(abs(s) <= 48 for t in t1[5:] for s in t.shift) and any(t.shift != (0, 0) for t in t1[5:])
    assert all(t.shift == (0, 0) for t in build_init_transforms(aug, True, 288, 0.0, None)[5:])  # switched off
    assert len(build_init_transforms(aug, False, 288, 1 / 3, None)) == 1

    big = torch.rand(1, 3, 40, 40) * 255
    ts = build_init_transforms({"fliplr": True, "blur": [(2, 1)], "rotate": [10], "shift": [(3, -2)]}, True, 20,
                               1 / 3, torch.Generator().manual_seed(0))
    out = augment_init_patches(big, ts, 20)
    assert out.shape == (5, 3, 20, 20)
    torch.testing.assert_close(out[0], big[0, :, 10:30, 10:30])
    torch.testing.assert_close(out[1], big[0, :, 7:27, 12:32])  # shift (3, -2) moves the content by +shift
    sy, sx = ts[2].shift
    torch.testing.assert_close(out[2], big.flip(3)[0, :, 10 - sy:30 - sy, 10 - sx:30 - sx])
    k = [torch.exp(-torch.arange(-n, n + 1.0) ** 2 / (2 * s * s)) for n, s in ((4, 2.0), (2, 1.0))]
    blurred = F.conv2d(big.reshape(3, 1, 40, 40), (k[0] / k[0].sum()).view(1, 1, -1, 1), padding=(4, 0))
    blurred = F.conv2d(blurred, (k[1] / k[1].sum()).view(1, 1, 1, -1), padding=(0, 2)).reshape(1, 3, 40, 40)
    sy, sx = ts[3].shift
    torch.testing.assert_close(out[3], blurred[0, :, 10 - sy:30 - sy, 10 - sx:30 - sx])


def test_gaussian_label_matches_ltr_formula():
    boxes = torch.tensor([[100.0, 140.0, 60.0, 40.0], [10.0, 300.0, 20.0, 30.0]])
    lab = gaussian_label(boxes, 0.1, 4, (22, 22), (352, 352))
    for i in range(2):
        torch.testing.assert_close(lab[i], reference_gauss_label(boxes[i], 0.1, 4, 22, 352.0))
    r, c = divmod(int(lab[0].argmax()), 22)
    assert (r, c) == (round(160 / 16), round(130 / 16))


# ------------------------------------------------------------------------------------------------
# policy
# ------------------------------------------------------------------------------------------------
def test_mean_max_policy():
    s = torch.randn(3, 5, 5)
    pol = MeanMaxPolicy((-7, 7))
    z = pol.logits({"scores": s})
    assert z.shape == (3, 25)
    torch.testing.assert_close(z.max(dim=1)[0], torch.full((3,), 7.0))
    torch.testing.assert_close(z.mean(dim=1), torch.full((3,), -7.0), atol=1e-5, rtol=0)
    assert torch.equal(pol.greedy_from_output({"scores": s}), s.flatten(1).argmax(1))
    assert torch.equal(z.argmax(1), s.flatten(1).argmax(1))
    flat = pol.logits({"scores": torch.zeros(1, 5, 5)})
    assert torch.all(flat == -7)  # constant map: uniform policy, no NaN
    disp = MeanMaxPolicy.displacement(torch.tensor([0, 12, 24, 7]), (5, 5))
    assert disp.tolist() == [[-2, -2], [0, 0], [2, 2], [-1, 0]]
    a = pol.sample(z, torch.Generator().manual_seed(0))
    assert pol.log_prob({"scores": s}, a).shape == (3,)


# ------------------------------------------------------------------------------------------------
# memory
# ------------------------------------------------------------------------------------------------
def test_sample_memory_weights_and_replacement():
    mem = SampleMemory.create(torch.zeros(3, 1, 2, 4, 4), torch.zeros(3, 1, 4), size=6)
    assert mem.weights[0].tolist()[:3] == pytest.approx([1 / 3] * 3) and mem.num_stored == [3]
    slots = []
    for k in range(6):
        slots.append(mem.insert(0, torch.full((2, 4, 4), float(k + 1)), torch.tensor([k, 0.0, 1, 1]), 0.1, 0.25))
        w = mem.weights[0]
        assert float(w.sum()) == pytest.approx(1.0)
        assert float(w[:3].sum()) >= 0.25 - 1e-6
    assert slots[:3] == [3, 4, 5]          # free slots first
    assert slots[3] == 3 and slots[4] == 4  # then the lightest non-initial slot (the oldest)
    assert mem.samples[3, 0, 0, 0, 0].item() == 4.0 and mem.boxes[4, 0, 0].item() == 4.0
    # the newest sample outweighs the previous one by 1 / (1 - lr)
    w = mem.weights[0]
    assert float(w[slots[5]] / w[slots[4]]) == pytest.approx(1 / 0.9, rel=1e-5)
    sw = torch.tensor([0.5, 0.5, 0, 0])
    assert update_sample_weights(sw, None, 2, 2, 1.0, None) == 0 and sw.tolist() == [1, 0, 0, 0]  # lr 1: reset


# ------------------------------------------------------------------------------------------------
# localization
# ------------------------------------------------------------------------------------------------
def _loc(scores, prev_cell=(9, 9)):
    B = scores.shape[0]
    support = torch.tensor([288.0, 288.0])
    out_sz = torch.tensor([18.0, 18.0])
    sample_pos = torch.full((B, 2), 200.0)
    prev = sample_pos + (torch.tensor(prev_cell, dtype=torch.float32) - 9) * 16
    return AdvancedLocalization()(scores, torch.full((B, 2), 32.0), torch.ones(B), prev, sample_pos, support, out_sz)


def test_advanced_localization_decisions():
    maps = torch.zeros(6, 19, 19)
    maps[0, 9, 9] = 0.2                                   # below 0.25: not found
    maps[1, 9, 9] = 1.0; maps[1, 2, 2] = 0.3              # second peak 0.3 < 0.5: normal
    maps[2, 9, 9] = 1.0; maps[2, 2, 2] = 0.6              # 0.5 < second < 0.8: hard negative
    maps[3, 9, 9] = 1.0; maps[3, 2, 2] = 0.9              # distractor far from previous: hard negative, peak 1
    maps[4, 2, 2] = 1.0; maps[4, 9, 10] = 0.9             # distractor: the CLOSE second peak is taken
    maps[5, 9, 9] = 1.0; maps[5, 9, 12] = 0.9             # both peaks close: uncertain
    maps[5, 10, 9] = 0.95                                 # (inside the 2.2 x target neighbourhood: masked)
    loc = _loc(maps)
    assert loc.names() == ["not_found", "normal", "hard_negative", "hard_negative", "hard_negative", "uncertain"]
    assert loc.cell[4].tolist() == [9, 10] and loc.cell[3].tolist() == [9, 9]


# ------------------------------------------------------------------------------------------------
# refinement
# ------------------------------------------------------------------------------------------------
class _IoUDouble(torch.nn.Module):
    """Analytic stand-in for predict_iou: higher when the box is close to ``target``."""

    def __init__(self, target):
        super().__init__()
        self.target = target  # [b, 4]

    def predict_iou(self, modulation, feat, boxes):
        d = (boxes - self.target[:, None]) / 40.0
        return -(d ** 2).sum(-1) + 0.0 * modulation[0].sum() + 0.0 * feat[0].sum()


@pytest.mark.parametrize("space,iters,step", [("default", 5, 1.0), ("relative", 10, 2.5e-3)])
def test_box_refinement_matches_reference_and_selects_topk(space, iters, step):
    target = torch.tensor([[30.0, 40.0, 50.0, 60.0], [10.0, 10.0, 20.0, 30.0]])
    reg = _IoUDouble(target)
    ref = BoxRefinement(box_refinement_iter=iters, box_refinement_step_length=step, box_refinement_space=space,
                        iounet_k=3)
    init = torch.tensor([[25.0, 35.0, 45.0, 70.0], [12.0, 8.0, 25.0, 25.0]])
    gens = [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)]
    boxes = ref.initial_boxes(init, gens)
    assert boxes.shape == (2, 10, 4) and torch.equal(boxes[:, 0], init)
    g = torch.Generator().manual_seed(1)
    r = (torch.rand(9, 4, generator=g) - 0.5) * (init[0, 2:].prod().sqrt() * torch.tensor([0.1, 0.1, 0.5, 0.5]))
    assert torch.allclose(boxes[0, 1:, 2:], (init[0, 2:] + r[:, 2:]).clamp(min=float(init[0, 2:].min()) / 3))
    out, iou = ref.optimize(reg, [torch.zeros(2, 1, 1, 1)], [torch.zeros(2, 1, 2, 2)], boxes)
    for b in range(2):
        rb, ri = reference_refine(lambda bb: _single(reg, b, bb), boxes[b], space, iters, step)
        torch.testing.assert_close(out[b], rb)
        torch.testing.assert_close(iou[b], ri)
    # top-k selection with the aspect-ratio filter
    cand = torch.tensor([[[0, 0, 10, 10], [0, 0, 70, 10], [2, 2, 10, 10], [4, 4, 10, 10], [6, 6, 10, 10.0]]])
    score = torch.tensor([[0.5, 0.9, 0.8, 0.7, 0.1]])
    box, ok = ref.select(cand, score)
    assert bool(ok[0]) and box[0].tolist() == pytest.approx([2.0, 2.0, 10.0, 10.0])  # mean of 0.8, 0.7, 0.5 boxes
    box, ok = ref.select(cand[:, 1:2], score[:, 1:2])
    assert not bool(ok[0])  # every box discarded: no update


def _single(reg, b, bb):
    d = (bb - reg.target[b:b + 1, None]) / 40.0
    return -(d ** 2).sum(-1)


# ------------------------------------------------------------------------------------------------
# the tracker
# ------------------------------------------------------------------------------------------------
def test_init_filter_samples_and_memory():
    net = _tiny()
    img = _image()
    p = _params()
    trk = BatchedDiMP(net, p)
    box = [40.0, 30.0, 24.0, 18.0]
    st = trk.init([img], [box])
    assert st.template_boxes.shape == (15, 1, 4) and st.memory.num_stored == [15]
    assert torch.allclose(st.memory.weights[0, :15], torch.full((15,), 1 / 15)) and float(st.memory.weights[0, 15:].sum()) == 0
    # state: pytracking's -1 centre convention, scale covers search_area_scale * sqrt(wh)
    assert st.pos[0].tolist() == pytest.approx([30 + 17 / 2, 40 + 23 / 2])
    assert float(st.target_scale[0]) == pytest.approx(math.sqrt(24 * 18 * 25) / 96, rel=1e-6)
    # identity sample = the centre of the expanded (2x) patch around round(pos)
    big, _ = reference_sample_patch(torch.from_numpy(img).float().permute(2, 0, 1)[None], st.pos[0].round(),
                                    st.target_scale[0] * torch.tensor([192.0, 192.0]), 192)
    assert (st.template_crops[0, 0] - big[0, :, 48:144, 48:144]).abs().max() < 2e-3
    # identity box = get_iounet_box(pos, sz, round(pos), scale); others shifted by their transform
    sc = float(st.target_scale[0])
    centre = (st.pos[0] - st.pos[0].round()) / sc + 47.5
    bsz = torch.tensor([18.0, 24.0]) / sc
    exp = torch.cat([(centre - (bsz - 1) / 2).flip(0), bsz.flip(0)])
    torch.testing.assert_close(st.template_boxes[0, 0], exp)
    for k, t in enumerate(st.transforms[0]):
        torch.testing.assert_close(st.template_boxes[k, 0], exp + torch.tensor([t.shift[1], t.shift[0], 0, 0.0]))
    # the filter: initializer + net_opt_iter steepest-descent steps on the 15 samples (13 + 2 dropout)
    x, bb = st.memory.samples[:15], st.memory.boxes[:15]
    assert not torch.equal(x[13], x[0]) and torch.equal(x[13] != 0, x[13] != 0)
    w0 = net.classifier.filter_initializer(x, bb)
    w = net.classifier.filter_optimizer(w0, feat=x, bb=bb, num_iter=10, compute_losses=False)[0]
    torch.testing.assert_close(st.target_filter, w)
    # dropout copies: channels of the identity sample zeroed or scaled by 1 / 0.8
    ratio = (x[13] / x[0])[:, :, 0, 0]
    assert torch.all((ratio.abs() < 1e-6) | ((ratio - 1.25).abs() < 1e-4))


def _run(net, params, frames, boxes, seeds, steps, mode="greedy"):
    trk = BatchedDiMP(net, params)
    st = trk.init([f[0] for f in frames], [b[0] for b in boxes], seeds=seeds)
    outs = []
    for t in range(1, steps + 1):
        st, out = trk.step([f[t] for f in frames], st, mode=mode)
        outs.append(out)
    return st, outs


def test_batch_of_sequences_equals_one_at_a_time():
    net = _tiny(1)
    seqs = [_sequence(i) for i in range(2)]
    p = _params(target_not_found_threshold=0.0, hard_negative_threshold=0.2, train_skipping=2)
    frames, boxes = [s[0] for s in seqs], [s[1] for s in seqs]
    st, outs = _run(net, p, frames, boxes, [11, 12], 4)
    assert "hard_negative" in {f for o in outs for f in o.flags}
    assert min(st.memory.num_stored) > 15  # the online update ran
    for i in range(2):
        st1, outs1 = _run(net, p, [frames[i]], [boxes[i]], [11 + i], 4)
        for o, o1 in zip(outs, outs1):
            assert o.flags[i] == o1.flags[0]
            torch.testing.assert_close(o.boxes[i], o1.boxes[0], rtol=1e-5, atol=1e-3)
        scale = float(st1.target_filter.abs().max())
        torch.testing.assert_close(st.target_filter[i], st1.target_filter[0], rtol=1e-3, atol=1e-3 * scale)  # float order
        assert st.memory.num_stored[i] == st1.memory.num_stored[0]


def test_runs_repeat_exactly_and_seed_matters():
    net = _tiny(2)
    frames, boxes = _sequence(0)
    p = _params(target_not_found_threshold=0.0)
    _, a = _run(net, p, [frames], [boxes], [4], 3)
    _, b = _run(net, p, [frames], [boxes], [4], 3)
    assert all(torch.equal(x.boxes, y.boxes) for x, y in zip(a, b))
    _, c = _run(net, p, [frames], [boxes], [5], 3)
    assert any(not torch.equal(x.boxes, y.boxes) for x, y in zip(a, c))


def test_greedy_rollout_equals_evaluation_tracker():
    from ltr_slt.data.clip import Clip
    from ltr_slt.slt.rollout import rollout
    from pytracking_slt.tracker.dimp.tracker import DiMP

    net = _tiny(3)
    seqs = [_sequence(i, n=4) for i in (3, 4)]
    # a flatter mean-max range than the official (-7, 7) so the tiny net's sampled copies explore
    p = dimp_parameters("slt_trdimp_rollout", net=net, device="cpu", use_gpu=False, seed=7, use_transformer=False,
                        score_norm_meanmax=(-1, 1), **SMALL)
    clips = [Clip(template_images=[f[0]], template_boxes=b[:1], search_images=list(f), search_boxes=b,
                  search_visible=np.ones(len(f), bool)) for f, b in seqs]
    trk = BatchedDiMP(net, p)
    traj = rollout(trk, clips, "cpu", generator=torch.Generator().manual_seed(0), record=True)
    assert traj.search_crops.shape == (3, 2, 3, 96, 96) and traj.template_crops.shape[:2] == (2, 13)
    for i, (f, b) in enumerate(seqs):
        ev = DiMP(p)
        ev.initialize(f[0], {"init_bbox": b[0].tolist()})
        got = np.array([ev.track(f[t])["target_bbox"] for t in range(1, len(f))])
        np.testing.assert_allclose(traj.boxes_greedy[:, i].numpy(), got, rtol=0, atol=1e-4)
    assert not torch.equal(traj.actions, traj.greedy_actions)  # the sampled half explored


def test_sampled_actions_follow_the_policy():
    net = _tiny(4)
    frames, boxes = _sequence(1, n=3)
    p = _params("slt_dimp_rollout")
    trk = BatchedDiMP(net, p)
    st = trk.init([frames[0]], [boxes[0]], copies=2)
    assert st.memory is None and st.template_boxes.shape[0] == 13  # no update, no dropout samples
    st, out = trk.step([frames[1]], st, mode="half", generator=torch.Generator().manual_seed(0), record=True)
    assert out.actions[0] == out.scores[0].flatten().argmax()
    assert out.logits.shape == (2, 49) and out.logits.max(1)[0].tolist() == pytest.approx([7.0, 7.0])
    torch.testing.assert_close(out.scores[0], out.scores[1])  # copies see the same sample


def test_trdimp_transformer_memory_update_and_cap():
    net = _tiny(5, transformer=True)
    frames, boxes = _sequence(2, n=5)
    p = _params("trdimp", target_not_found_threshold=-1.0, hard_negative_threshold=2.0, distractor_threshold=2.0,
                transformer_skipping=2, transformer_memory_size=16)
    trk = BatchedDiMP(net, p)
    assert trk.use_transformer
    st = trk.init([frames[0]], [boxes[0]])
    tf = st.transformer
    assert tf.feats[0].shape[0] == 15 and tf.encoded[0].shape == (15 * 36, 16)
    # the filter is trained on the DECODED init samples; the memory holds the raw ones
    assert not torch.equal(st.memory.samples[0, 0], tf.feats[0][0])
    lengths = []
    for t in range(1, 5):
        raw_before = tf.feats[0].clone()
        st, out = trk.step([frames[t]], st)
        lengths.append(tf.feats[0].shape[0])
        if (st.frame_num - 1) % 2 == 0:
            assert torch.equal(tf.feats[0][1:], raw_before if raw_before.shape[0] < 16 else raw_before[:-1])
            lab = tf.labels[0][0]
            assert lab.max() <= 1 and lab.shape == (6, 6)
    assert lengths == [15, 16, 16, 16]  # frames 3 and 5 update (skipping 2); at the cap the oldest is dropped
    lasot = _params("trdimp_lasot", target_not_found_threshold=-1.0)
    st2, _ = _run(net, lasot, [frames], [boxes], [0], 2)
    assert st2.transformer.feats[0].shape[0] == 15  # (frame - 1) % 0.1 is never 0: never updated


def test_trdimp_requires_a_transformer():
    with pytest.raises(ValueError, match="classifier.transformer"):
        BatchedDiMP(_tiny(), _params("trdimp"))


def test_bad_input_clear_errors():
    net = _tiny()
    trk = BatchedDiMP(net, _params())
    with pytest.raises(ValueError, match="w, h > 0"):
        trk.init([_image()], [[10, 10, 0, 20]])
    st = trk.init([_image()], [[10, 10, 20, 20]])
    with pytest.raises(ValueError, match=r"\(90, 130\) \(H, W\) but the sequence started with \(100, 130\)"):
        trk.step([_image(90, 130)], st)
    with pytest.raises(ValueError, match="border_mode"):
        patch_geometry(torch.zeros(1, 2), torch.ones(1, 2), 8, torch.tensor([[9, 9]]), "reflect")
    with pytest.raises(ValueError, match="unknown DiMP-family parameter set"):
        dimp_parameters("dimp51", net=net)


@pytest.mark.parametrize("module,checks", [
    ("dimp.dimp50", dict(image_sample_size=288, search_area_scale=5, border_mode="replicate", box_refinement_iter=5,
                         box_refinement_space="default", net_path="dimp50.pth")),
    ("dimp.super_dimp", dict(image_sample_size=352, border_mode="inside_major", patch_max_scale_change=1.5,
                             box_refinement_space="relative", box_refinement_step_length=2.5e-3)),
    ("trdimp.trdimp", dict(transformer_skipping=5, transformer_memory_size=20, use_transformer=True)),
    ("trdimp.trdimp_lasot", dict(transformer_skipping=0.1, transformer_memory_size=-1)),
    ("slt_trdimp.slt_trdimp", dict(image_sample_size=352, update_classifier=True, net_path="slt_trdimp.pth")),
    ("slt_trdimp.slt_trdimp_lasot", dict(transformer_memory_size=-1)),
    ("slt_trdimp.slt_trdimp_rollout", dict(update_classifier=False, advanced_localization=False, net_opt_iter=5,
                                           score_preprocess="softmax", score_norm_meanmax=(-7, 7))),
    ("slt_dimp.slt_dimp", dict(image_sample_size=288, net_path="slt_dimp.pth")),
    ("slt_dimp.slt_dimp_rollout", dict(update_classifier=False, image_sample_size=288)),
])
def test_parameter_files_load(module, checks):
    import importlib
    p = importlib.import_module(f"pytracking_slt.parameter.{module}").parameters(device="cpu")
    for k, v in checks.items():
        assert p.get(k) == v, k
    has_dropout = "dropout" in p.augmentation
    assert has_dropout == (module.split(".")[1] in ("dimp50", "super_dimp", "trdimp", "trdimp_lasot", "slt_trdimp",
                                                    "slt_dimp"))
    assert p.target_not_found_threshold == 0.25 and p.dispalcement_scale == 0.8 and p.iounet_k == 3
    BatchedDiMP(_tiny(transformer=p.use_transformer), p)  # the tracker accepts every file


def test_tracker_registration():
    import importlib
    for name, cls in (("dimp", "DiMP"), ("trdimp", "TrDiMP"), ("slt_trdimp", "SLTTrDiMP"), ("slt_dimp", "SLTDiMP")):
        assert importlib.import_module(f"pytracking_slt.tracker.{name}").get_tracker_class().__name__ == cls


def test_inside_border_mode_init_global_shift():
    """'inside': the init sample is shrunk into the image and every transform carries the global shift."""
    net = _tiny()
    img = _image(60, 70)
    trk = BatchedDiMP(net, _params(border_mode="inside", patch_max_scale_change=None, random_shift_factor=0.0))
    st = trk.init([img], [[2.0, 3.0, 20.0, 16.0]])
    g = st.transforms[0][0].shift
    assert g != (0, 0) and all(t.shift[0] >= g[0] - 43 for t in st.transforms[0])
    exp_scale = 60 / 96  # the 89.4 px sample (5 x sqrt(wh)) shrunk by max(89.4 / 60, 89.4 / 70) to the 60 px height
    box0 = st.template_boxes[0, 0]
    assert float(box0[2]) == pytest.approx(20 / exp_scale, rel=1e-4)  # boxes use the shrunk init scale
    for t in st.transforms[0][:5]:
        assert t.shift[0] - g[0] in (0, 28, -28) and t.shift[1] - g[1] in (0, 28, -28)  # long(0.6 * 48) = 28


def test_autocast_option_runs_and_stays_close():
    net = _tiny(6)
    frames, boxes = _sequence(1, n=3)
    _, a = _run(net, _params(num_init_random_boxes=0), [frames], [boxes], [0], 2)
    _, b = _run(net, _params(num_init_random_boxes=0, autocast="bf16"), [frames], [boxes], [0], 2)
    assert all(torch.isfinite(o.boxes).all() for o in b)
    assert b[0].boxes.dtype == torch.float64 and (a[0].boxes - b[0].boxes).abs().max() < 20
    with pytest.raises(ValueError, match="autocast"):
        BatchedDiMP(net, _params(autocast="int8"))


def _track_like_the_reference(net, p, frames, boxes, steps, check=None):
    """Batch-1 BatchedDiMP and tests/dimp_reference.py on the same frames (seed 21): the same initial filter,
    then per frame the same flag and box (2e-3 px); ``check(state, ref)`` adds per-frame checks."""
    from dimp_reference import ReferenceDiMP

    trk = BatchedDiMP(net, p)
    st = trk.init([frames[0]], [boxes[0]], seeds=[21])
    ref = ReferenceDiMP(net, p, 21)
    flags = []
    with torch.no_grad():
        ref.initialize(frames[0], boxes[0].tolist())
        torch.testing.assert_close(st.target_filter, ref.filter, rtol=1e-4, atol=1e-6)
        for t in range(1, steps + 1):
            st, o = trk.step([frames[t]], st)
            box, flag = ref.track(frames[t])
            flags.append(o.flags[0])
            assert o.flags[0] == (flag or "normal"), t
            np.testing.assert_allclose(o.boxes[0].numpy(), box, rtol=0, atol=2e-3)
            if check is not None:
                check(st, ref)
    return trk, flags


@pytest.mark.parametrize("variant,transformer,kw", [
    ("dimp50", False, dict(target_not_found_threshold=0.0, distractor_threshold=0.6, train_skipping=2)),
    ("super_dimp", False, dict(target_not_found_threshold=0.05, hard_negative_threshold=1.5, distractor_threshold=1.5,
                               train_skipping=3)),
    ("trdimp", True, dict(target_not_found_threshold=-1.0, transformer_skipping=2, transformer_memory_size=16)),
])
def test_batched_tracker_equals_plain_pytracking_style_reference(variant, transformer, kw):
    """Batch 1 vs tests/dimp_reference.py (pytracking's DiMP.track written plainly, one window, F.pad crops)."""
    net = _tiny(7, transformer=transformer)
    frames, boxes = _sequence(6, n=5)
    _, flags = _track_like_the_reference(net, _params(variant, **kw), frames, boxes, 4)
    print(variant, flags)


def test_window_isig_policy_option():
    from ltr_slt.slt.policy import WindowedScoreMapPolicy

    pol = WindowedScoreMapPolicy(0.49, 4.0, 0.01)
    s = torch.zeros(1, 5, 5)
    s[0, 0, 0] = 0.9  # a strong corner peak loses against the window's centre (as in TransT)
    assert int(pol.greedy_from_output({"scores": s})) == 12
    z = pol.logits({"scores": s * 10})
    assert z.abs().max() <= 4.0 * math.log(99) + 1e-4 and z.argmax() == pol.greedy_from_output({"scores": s * 10})
    net = _tiny(4)
    frames, boxes = _sequence(1, n=2)
    trk = BatchedDiMP(net, _params("slt_dimp_rollout", slt_policy="window_isig"))
    assert isinstance(trk.policy, WindowedScoreMapPolicy)
    st = trk.init([frames[0]], [boxes[0]], copies=2)
    st, out = trk.step([frames[1]], st, mode="half", generator=torch.Generator().manual_seed(0), record=True)
    assert out.actions[0] == trk.policy.greedy_from_output({"scores": out.scores[:1]})[0]  # the windowed argmax
    with pytest.raises(ValueError, match="slt_policy"):
        BatchedDiMP(net, _params(slt_policy="boltzmann"))


def test_real_trdimp_transformer_matches_reference():
    """With the real TrDiMP network (``trdimpnet_tiny``) instead of the test double."""
    from ltr_slt.models.tracking import dimpnet

    torch.manual_seed(3)
    net = dimpnet.trdimpnet_tiny().eval()
    frames, boxes = _sequence(6, n=4)
    p = _params("trdimp", target_not_found_threshold=-1.0, transformer_skipping=2, transformer_memory_size=16)

    def same_memory(st, ref):
        assert st.transformer.feats[0].shape[0] == ref.x_clf.shape[0]

    trk, _ = _track_like_the_reference(net, p, frames, boxes, 3, check=same_memory)
    assert trk.use_transformer
