"""Batched TransT tracker, its evaluation adapter and the parameter files (pytracking_slt.tracker)."""
import math
import pickle

import numpy as np
import pytest
import torch

from ltr_slt.data.crop import crop_windows, normalize_crops
from ltr_slt.models.tracking.transt import TemplateFeatures, transt_tiny
from pytracking_slt.parameter.params import TrackerParams
from pytracking_slt.tracker.base import NetWithBackbone, resolve_network_path
from pytracking_slt.tracker.transt import BatchedTransT, get_tracker_class as transt_class
from pytracking_slt.tracker.slt_transt import get_tracker_class as slt_class


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return transt_tiny().eval()


def synthetic_sequence(num_frames=6, h=96, w=128, seed=0):
    """A textured square drifting over a smooth textured background; returns frames and xywh boxes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([(xx * 2) % 256, (yy * 3) % 256, ((xx + yy) * 1.5) % 256], -1).astype(np.uint8)
    patch = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    frames, boxes = [], []
    for t in range(num_frames):
        x, y = 30 + 5 * t, 20 + 3 * t
        im = bg.copy()
        im[y:y + 24, x:x + 20] = patch
        frames.append(im)
        boxes.append([x, y, 20.0, 24.0])
    return frames, np.array(boxes, np.float64)


class FixedNet(torch.nn.Module):
    """Stub with the TransT interface whose output is one chosen cell/box (tests decoding exactly)."""

    template_size, search_size, feature_size = 128, 256, 32

    def __init__(self, cell, box):
        super().__init__()
        self.cell, self.box = cell, torch.tensor(box, dtype=torch.float32)

    def encode_template(self, z):
        return TemplateFeatures(z.mean((2, 3))[:, None], z.mean((2, 3))[:, None])

    def track_from(self, tf, x):
        b = x.shape[0]
        logits = torch.zeros(b, 1024, 2)
        logits[:, self.cell, 0] = 50.0
        return {"pred_logits": logits, "pred_boxes": self.box.expand(b, 1024, 4).clone()}


def test_init_and_step_shapes_layout_and_record(net):
    frames, boxes = synthetic_sequence(3)
    frames2, boxes2 = synthetic_sequence(3, h=80, w=150, seed=1)
    tr = BatchedTransT(net, None, "cpu")
    st = tr.init([frames[0], frames2[0]], np.stack([boxes[0], boxes2[0]]), np.stack([boxes[1], boxes2[1]]), copies=2)
    assert st.batch_size == 4 and st.num_sequences == 2 and st.copies == 2
    assert st.template_crops.shape == (2, 3, 128, 128) and st.template_crops.dtype == torch.uint8
    # copy-major layout: entries i and N + i are copies of clip i
    assert torch.equal(st.center[:2], st.center[2:]) and torch.equal(st.fill[:2], st.fill[2:])
    assert torch.allclose(st.boxes()[:2], torch.from_numpy(np.stack([boxes[1], boxes2[1]])))
    prev = st.center.clone()
    st2, out = tr.step([torch.from_numpy(frames[1]), torch.from_numpy(frames2[1])], st, "half",
                       generator=torch.Generator().manual_seed(0), record=True)
    assert out.boxes.shape == (4, 4) and out.actions.shape == (4,) and out.actions.dtype == torch.long
    assert out.crops.shape == (4, 3, 256, 256) and out.crops.dtype == torch.uint8
    assert out.logits.shape == (4, 1024) and out.logits.dtype == torch.float32
    assert torch.equal(out.crop_centers, prev)
    w, h = st.size[:, 0], st.size[:, 1]
    assert out.crop_sizes.tolist() == [math.ceil(math.sqrt((a + 1.5 * (a + b)) * (b + 1.5 * (a + b))))
                                       for a, b in zip(w.tolist(), h.tolist())]
    assert torch.equal(st.center, prev)  # the input state is not modified
    assert torch.allclose(st2.boxes(), out.boxes) and st2.frame_num == 1
    # without record nothing heavy comes back
    _, light = tr.step([frames[1], frames2[1]], st, "greedy")
    assert light.crops is None and light.logits is None and light.crop_centers is None


def test_recorded_crops_reproduce_the_policy_for_the_learner(net):
    """The learner re-runs the net on stored uint8 crops: it must see exactly the rollout's logits."""
    frames, boxes = synthetic_sequence(3)
    tr = BatchedTransT(net, None, "cpu")
    st = tr.init([frames[0]], boxes[:1], boxes[:1], copies=2)
    st, out = tr.step([frames[1]], st, "half", generator=torch.Generator().manual_seed(1), record=True)
    tf = net.encode_template(normalize_crops(st.template_crops)).repeat(2)
    again = net.track_from(tf, normalize_crops(out.crops))
    assert torch.allclose(tr.policy.logits(again), out.logits, atol=1e-5)
    lp = tr.policy.log_prob(again, out.actions)
    assert torch.allclose(lp, torch.log_softmax(out.logits, -1).gather(1, out.actions[:, None])[:, 0], atol=1e-5)
    # and the crop is the search window around the previous estimate
    ref = crop_windows([frames[1]], out.crop_centers[:1], out.crop_sizes[:1], 256, st.fill[:1])
    assert torch.equal(ref[0], out.crops[0])


def test_box_decoding_and_clipping_exactly_as_spec():
    # chosen cell 522 (near the centre, so it wins despite the window), box (0.75, 0.25, 0.5, 0.125) in crop units
    tr = BatchedTransT(FixedNet(522, [0.75, 0.25, 0.5, 0.125]), None, "cpu")
    im = np.full((200, 300, 3), 90, np.uint8)
    st = tr.init([im], [[140.0, 90.0, 20.0, 20.0]])
    _, out = tr.step([im], st, "greedy", record=True)
    s = out.crop_sizes[0].item()
    assert s == math.ceil(math.sqrt(80 * 80))
    cx, cy = 0.75 * s + 150 - s / 2, 0.25 * s + 100 - s / 2
    w, h = max(10.0, min(0.5 * s, 300)), max(10.0, min(0.125 * s, 200))
    assert out.actions.tolist() == [522]
    assert torch.allclose(out.boxes[0], torch.tensor([cx - w / 2, cy - h / 2, w, h], dtype=torch.float64))
    # clipping: centre into [0, W] x [0, H], size into [10, W] x [10, H]
    tr = BatchedTransT(FixedNet(522, [1.0, 0.0, 1.0, 0.001]), None, "cpu")
    small = np.zeros((60, 50, 3), np.uint8)
    st = tr.init([small], [[40.0, 5.0, 30.0, 20.0]])
    st, out = tr.step([small], st, "greedy")
    cx, cy = st.center[0].tolist()
    w, h = st.size[0].tolist()
    assert cy == 0.0 and 0 <= cx <= 50
    assert w == 50.0 and h == 10.0
    for _ in range(3):  # stays valid when repeatedly pushed out of the image
        st, out = tr.step([small], st, "greedy")
        assert 0 <= st.center[0, 0] <= 50 and 0 <= st.center[0, 1] <= 60
        assert 10 <= st.size[0, 0] <= 50 and 10 <= st.size[0, 1] <= 60


def test_half_mode_greedy_half_equals_separate_greedy_run(net):
    seqs = [synthetic_sequence(4, seed=s, h=90 + 10 * s) for s in range(3)]
    tr = BatchedTransT(net, None, "cpu")
    tmpl = [f[0] for f, _ in seqs]
    tboxes = np.stack([b[0] for _, b in seqs])
    half = tr.init(tmpl, tboxes, tboxes, copies=2)
    greedy = tr.init(tmpl, tboxes, tboxes, copies=1)
    g = torch.Generator().manual_seed(0)
    diverged = False
    for t in range(1, 4):
        frames = [torch.from_numpy(f[t]) for f, _ in seqs]
        half, out_h = tr.step(frames, half, "half", generator=g)
        greedy, out_g = tr.step(frames, greedy, "greedy")
        assert torch.equal(out_h.actions[:3], out_g.actions)
        assert torch.allclose(out_h.boxes[:3], out_g.boxes, rtol=0, atol=1e-6)
        diverged |= not torch.equal(out_h.actions[3:], out_g.actions)
    assert diverged  # the sampled half really explores


def test_frames_per_sequence_equal_frames_per_copy(net):
    frames, boxes = synthetic_sequence(3)
    tr = BatchedTransT(net, None, "cpu")
    st = tr.init([frames[0]], boxes[:1], boxes[:1], copies=2)
    a_state, a = tr.step([frames[1]], st, "sample", generator=torch.Generator().manual_seed(3))
    b_state, b = tr.step([frames[1], frames[1]], st, "sample", generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.actions, b.actions) and torch.equal(a.boxes, b.boxes)
    with pytest.raises(ValueError, match="3 frames"):
        tr.step([frames[1]] * 3, st, "greedy")
    with pytest.raises(ValueError, match="mode"):
        tr.step([frames[1]], st, "argmax")
    odd = tr.init([frames[0]] * 3, np.repeat(boxes[:1], 3, 0))
    with pytest.raises(ValueError, match="even"):
        tr.step([frames[1]] * 3, odd, "half")
    with pytest.raises(ValueError, match="w, h > 0"):
        tr.init([frames[0]], [[1.0, 2.0, 0.0, 5.0]])


def _run_adapter(tracker, frames, box):
    out = tracker.initialize(frames[0], {"init_bbox": list(box)})
    assert "time" in out
    return [tracker.track(f, {})["target_bbox"] for f in frames[1:]]


def test_evaluation_adapter_is_the_batched_greedy_tracker(net):
    frames, boxes = synthetic_sequence(5)
    tr = BatchedTransT(net, None, "cpu")
    st = tr.init([torch.from_numpy(frames[0])], boxes[:1], boxes[:1])
    expected = []
    for f in frames[1:]:
        st, out = tr.step([torch.from_numpy(f)], st, "greedy")
        expected.append(out.boxes[0].tolist())
    from pytracking_slt.parameter.slt_transt.slt_transt import parameters
    for cls in (slt_class(), transt_class()):
        got = _run_adapter(cls(parameters(net=net, device="cpu")), frames, boxes[0])
        assert all(isinstance(v, float) for v in got[0]) and len(got[0]) == 4
        assert got == expected


def test_parameter_files_and_lazy_checkpoint_loading(net, tmp_path, monkeypatch):
    from pytracking_slt.parameter.slt_transt import slt_transt, slt_transt_tiny
    from pytracking_slt.parameter.transt import transt
    p = slt_transt.parameters()
    assert p.window_influence == 0.49 and p.net_path == "slt_transt.pth" and p.device in ("cpu", "cuda")
    assert transt.parameters(device="cpu").net_path == "transt.pth"
    assert isinstance(p.net, NetWithBackbone) and p.net.net is None
    p2 = pickle.loads(pickle.dumps(p))  # picklable before loading
    assert p2.get("temperature") == 4.0 and p2.has("sig_eps") and not p2.has("nope")
    assert p2.get("nope", 3) == 3
    with pytest.raises(AttributeError, match="nope"):
        p2.get("nope")
    with pytest.raises(AttributeError, match="initialize"):
        p.net.encode_template  # noqa: B018
    # the tiny parameter file loads a real checkpoint lazily and tracks like the in-memory net
    ckpt = tmp_path / "tiny.pth.tar"
    torch.save({"net": net.state_dict(), "constructor": net.constructor, "net_type": "TransT"}, ckpt)
    monkeypatch.setenv("SLT_TINY_NET", str(ckpt))
    params = slt_transt_tiny.parameters()
    assert params.device == "cpu"
    frames, boxes = synthetic_sequence(3)
    from_file = _run_adapter(slt_class()(params), frames, boxes[0])
    in_memory = _run_adapter(slt_class()(slt_transt.parameters(net=net, device="cpu")), frames, boxes[0])
    assert from_file == in_memory
    monkeypatch.delenv("SLT_TINY_NET")
    with pytest.raises(FileNotFoundError, match="SLT_TINY_NET"):
        slt_transt_tiny.parameters()


def test_missing_weights_error_lists_search_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("SLT_NETWORK_PATH", str(tmp_path / "nets"))
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    with pytest.raises(FileNotFoundError) as err:
        resolve_network_path("slt_transt_missing.pth")
    assert "slt_transt_missing.pth" in str(err.value) and str(tmp_path / "nets") in str(err.value)
    assert resolve_network_path(str(tmp_path)) == str(tmp_path)  # existing folders pass through
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_network_path(str(tmp_path / "absent.pth"))


def test_tracker_params_defaults():
    p = TrackerParams(a=1)
    p.set_default_values({"a": 2, "b": 3})
    assert (p.a, p.b) == (1, 3)
    with pytest.raises(ValueError):
        p.get("a", 1, 2)
