"""FrameSetSampler: ltr's DiMPSampler law (causal / interval windows, gap increase, visible frames only),
deterministic per (seed, epoch, index), loaded by PairLoader as lists of FrameSet."""
from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from ltr_slt.data import FrameSet, FrameSetSampler, frame_set_collate
import helpers
from ltr_slt.data.pair_sampler import PairLoader


def MemoryVideos(lengths=(40, 40, 40), **kw):  # noqa: N802 (a dataset factory)
    return helpers.MemoryVideos(lengths, frame_hw=(6, 8), **kw)


def _check_content(fs: FrameSet):
    """Images and boxes are the dataset's own for the reported ids."""
    for ids, images, boxes in ((fs.train_ids, fs.train_images, fs.train_boxes),
                               (fs.test_ids, fs.test_images, fs.test_boxes)):
        assert boxes.dtype == np.float32 and boxes.shape == (len(ids), 4) and len(images) == len(ids)
        for f, img, box in zip(ids, images, boxes):
            assert img.dtype == np.uint8 and img.shape == (6, 8, 3) and img[0, 0, 0] == (fs.seq_id * 64 + f) % 256
            assert np.allclose(box, [10.0 + f, 20.0, 30.0, 40.0 + fs.seq_id])


def test_causal_order_visible_frames_and_counts():
    vis = {0: [0, 1, 2, 9, 10, 11, 12, 13, 30, 31, 39], 1: list(range(0, 40, 3))}
    ds = MemoryVideos(visible=vis, invalid={1: [3, 6]})
    s = FrameSetSampler([ds], samples_per_epoch=300, max_gap=4, num_train_frames=3, num_test_frames=2,
                        min_visible=5, seed=7)
    saw_increase, seqs = False, set()
    for i in range(len(s)):
        fs = s[i]
        seqs.add(fs.seq_id)
        assert len(fs.train_ids) == 3 and len(fs.test_ids) == 2 and fs.dataset == "mem"
        allowed = set(vis.get(fs.seq_id, range(40))) - set(ds.invalid.get(fs.seq_id, []))   # visible & valid
        assert set(fs.train_ids) | set(fs.test_ids) <= allowed
        base = fs.train_ids[0]
        assert 3 - 1 <= base < 40 - 2 and all(t < base for t in fs.train_ids[1:])
        assert all(base < t for t in fs.test_ids)
        within = all(base - 4 <= t for t in fs.train_ids[1:]) and all(t < base + 4 for t in fs.test_ids)
        if fs.seq_id == 2:   # fully visible: [base - max_gap, base) and (base, base + max_gap) always hold frames
            assert within
        saw_increase |= not within
        _check_content(fs)
    assert seqs == {0, 1, 2}
    assert saw_increase   # sequence 0 has gaps wider than max_gap: the windows had to grow


def test_interval_mode_windows():
    vis = {0: [0, 5, 6, 20, 21, 22, 23, 39]}
    ds = MemoryVideos(lengths=(40, 40), visible=vis)
    s = FrameSetSampler([ds], samples_per_epoch=300, max_gap=3, num_train_frames=3, num_test_frames=3,
                        frame_sample_mode="interval", min_visible=5, seed=1)
    before = False
    for i in range(len(s)):
        fs = s[i]
        base = fs.train_ids[0]
        allowed = set(vis.get(fs.seq_id, range(40)))
        assert set(fs.train_ids) | set(fs.test_ids) <= allowed
        # the base frame lies in its own window, so the windows never have to grow
        assert all(base - 3 <= t < base + 3 for t in fs.train_ids[1:] + fs.test_ids)
        before |= min(fs.test_ids) < min(fs.train_ids)
        _check_content(fs)
    assert before   # interval mode: test frames may precede the train frames


def test_deterministic_per_seed_epoch_index_and_call_order():
    def ids(s, order):
        return {i: (s[i].seq_id, s[i].train_ids, s[i].test_ids) for i in order}

    a = FrameSetSampler([MemoryVideos()], samples_per_epoch=20, seed=1)
    b = FrameSetSampler([MemoryVideos()], samples_per_epoch=20, seed=1)
    first = ids(a, range(20))
    assert first == ids(b, reversed(range(20)))
    b.set_epoch(1)
    assert ids(b, range(20)) != first
    assert ids(FrameSetSampler([MemoryVideos()], samples_per_epoch=20, seed=2), range(20)) != first
    a.load_state_dict(b.state_dict())
    assert ids(a, range(5)) == ids(b, range(5))
    assert len({v[1] + v[2] for v in first.values()}) > 15   # items of one epoch differ


def test_loader_batches_do_not_depend_on_worker_count():
    s = FrameSetSampler([MemoryVideos()], samples_per_epoch=12, seed=4)
    serial = PairLoader("train", s, batch_size=4, num_workers=0)
    parallel = PairLoader("train", s, batch_size=4, num_workers=2)
    got = [[(f.seq_id, f.train_ids, f.test_ids) for f in b] for b in serial]
    assert len(got) == 3 and all(isinstance(f, FrameSet) for b in serial for f in b)
    assert got == [[(f.seq_id, f.train_ids, f.test_ids) for f in b] for b in parallel]
    parallel.set_epoch(2)
    assert s.epoch == 2 and got != [[(f.seq_id, f.train_ids, f.test_ids) for f in b] for b in parallel]
    assert frame_set_collate([s[0]])[0].train_ids == s[0].train_ids


def test_sequence_rule_and_dataset_weights():
    # ltr: > 2 * (K + M) visible frames and >= 20 frames; seq 0 is too short, seq 1 has 12 visible (K=M=3)
    ds = MemoryVideos(lengths=(19, 40, 40), visible={1: list(range(12))})
    s = FrameSetSampler([ds], samples_per_epoch=60, seed=0)
    assert {s[i].seq_id for i in range(60)} == {2}
    relaxed = FrameSetSampler([ds], samples_per_epoch=60, seed=0, min_visible=12, min_length=19)
    assert {relaxed[i].seq_id for i in range(60)} == {0, 1, 2}
    other = MemoryVideos(lengths=(40,), name="other")
    weighted = FrameSetSampler([ds, other], p_datasets=[0.0, 2.0], samples_per_epoch=20)
    assert {weighted[i].dataset for i in range(20)} == {"other"}
    by_size = FrameSetSampler([ds, other], samples_per_epoch=400, seed=3)   # None: 3 : 1 by sequence count
    share = sum(by_size[i].dataset == "other" for i in range(400)) / 400
    assert 0.18 < share < 0.32


def test_image_datasets_repeat_their_frame(tmp_path):
    images = MemoryVideos(lengths=(1, 1, 1), video=False, name="images", invalid={1: [0]})
    s = FrameSetSampler([images], samples_per_epoch=30, num_train_frames=2, num_test_frames=3)
    for i in range(30):
        fs = s[i]
        assert fs.train_ids == (0, 0) and fs.test_ids == (0, 0, 0) and fs.seq_id != 1   # invalid box redrawn
        assert all(np.array_equal(img, fs.train_images[0]) for img in fs.train_images + fs.test_images)
        _check_content(fs)


def test_bad_arguments_raise_clearly():
    ds = MemoryVideos()
    with pytest.raises(ValueError, match=r"p_datasets \[1.0\] .*2 datasets: \['mem', 'mem'\]"):
        FrameSetSampler([ds, ds], p_datasets=[1.0])
    with pytest.raises(ValueError, match="p_datasets"):
        FrameSetSampler([ds], p_datasets=[-1.0])
    with pytest.raises(ValueError, match="at least one dataset"):
        FrameSetSampler([])
    with pytest.raises(ValueError, match="frame_sample_mode"):
        FrameSetSampler([ds], frame_sample_mode="sequential")
    with pytest.raises(ValueError, match="num_train_frames"):
        FrameSetSampler([ds], num_train_frames=0)
    with pytest.raises(ValueError, match="max_gap must be >= 0, got -1"):
        FrameSetSampler([ds], max_gap=-1)
    with pytest.raises(ValueError, match="dataset 'empty' has no sequences"):
        FrameSetSampler([MemoryVideos(lengths=(), name="empty")], p_datasets=[1.0])
    with pytest.raises(IndexError):
        FrameSetSampler([ds], samples_per_epoch=2)[2]


def test_clear_error_when_no_sequence_qualifies():
    few = MemoryVideos(lengths=(40, 40), visible={0: [1, 2, 3], 1: [4]}, name="few")
    s = FrameSetSampler([few], samples_per_epoch=2, max_redraws=7)
    with pytest.raises(RuntimeError, match=r"no sequence of dataset 'few' with 13 visible frames.* 7 draws"):
        s[0]
    # ltr would loop forever here: the only visible frames after the first are outside [K-1, L-M)
    late = MemoryVideos(lengths=(40,), visible={0: [0, 38, 39]}, name="late")
    with pytest.raises(RuntimeError, match="causal frame set"):
        FrameSetSampler([late], min_visible=3, max_redraws=3, num_test_frames=2)[0]
    assert FrameSetSampler([late], min_visible=3, frame_sample_mode="interval")[0].seq_id == 0


def test_reads_synthetic_lasot(tmp_path):
    from ltr_slt.dataset import Lasot
    from ltr_slt.dataset.synthetic import SyntheticConfig, generate_dataset
    generate_dataset(str(tmp_path), "lasot", 2, seed=1, config=SyntheticConfig(num_frames=24, width=64, height=48))
    data = Lasot(str(tmp_path))
    s = FrameSetSampler([data], samples_per_epoch=4, max_gap=5, min_visible=8, seed=0)
    for i in range(4):
        fs = s[i]
        usable = (data.get_sequence_info(fs.seq_id)["visible"] & data.get_sequence_info(fs.seq_id)["valid"]).numpy()
        assert fs.dataset == "lasot" and usable[list(fs.train_ids + fs.test_ids)].all()
        assert fs.train_images[0].shape == (48, 64, 3) and fs.train_images[0].dtype == np.uint8
        assert fs.train_boxes.shape == (3, 4) and fs.test_boxes.shape == (3, 4)
        assert max(fs.train_ids) <= fs.train_ids[0] < min(fs.test_ids)


# ------------------------------------------------------------------------------------------------
# the law, against an exact enumeration of ltr's rule (spec: pytracking_contract.md 5.3)

def _ltr_law(visible, K, M, max_gap, mode):
    """Exact distribution of (train ids, test ids) of ltr's frame loop on one video."""
    n = len(visible)

    def window(lo, hi):
        return [i for i in range(max(lo, 0), min(hi, n)) if visible[i]]

    def attempt(inc):   # {outcome: probability} of one attempt (failures are the missing mass)
        out = Counter()
        bases = window(K - 1, n - M) if mode == "causal" else window(0, n)
        for b in bases:
            prev = window(b - max_gap - inc, b) if mode == "causal" else window(b - max_gap - inc, b + max_gap + inc)
            if K > 1 and not prev:
                continue
            if mode == "causal":
                test = window(b + 1, b + max_gap + inc)
            else:
                test = window(b - max_gap - inc, b + max_gap + inc)
            if not test:
                continue
            for p in itertools.product(prev, repeat=K - 1):
                for t in itertools.product(test, repeat=M):
                    out[((b,) + p, t)] += 1.0 / (len(bases) * len(prev) ** (K - 1) * len(test) ** M)
        return out

    law, remaining, inc = Counter(), 1.0, 0
    while True:
        step = attempt(inc)
        success = sum(step.values())
        if max_gap + inc >= n:   # windows cover the video: every later attempt is the same, geometric tail
            for k, v in step.items():
                law[k] += remaining * v / success
            return law
        for k, v in step.items():
            law[k] += remaining * v
        remaining *= 1.0 - success
        inc += 5


@pytest.mark.parametrize("mode", ["causal", "interval"])
def test_law_matches_ltr_enumeration(mode):
    visible_ids = [0, 1, 5, 6, 7, 11]   # gaps wider than max_gap: causal needs grown windows for most bases
    n, K, M, gap = 12, 2, 1, 2
    visible = np.zeros(n, bool)
    visible[visible_ids] = True
    law = _ltr_law(visible, K, M, gap, mode)
    assert abs(sum(law.values()) - 1.0) < 1e-12
    ds = MemoryVideos(lengths=(n,), visible={0: visible_ids})
    N = 4000
    s = FrameSetSampler([ds], samples_per_epoch=N, max_gap=gap, num_train_frames=K, num_test_frames=M,
                        frame_sample_mode=mode, min_visible=1, min_length=1, seed=11)
    counts = Counter()
    for i in range(N):
        fs = s[i]
        counts[(fs.train_ids, fs.test_ids)] += 1
    assert set(counts) <= set(law)   # nothing outside ltr's support
    chi2 = sum((counts[k] - N * p) ** 2 / (N * p) for k, p in law.items())
    df = len(law) - 1
    assert chi2 < df + 5 * np.sqrt(2 * df), (chi2, df)
    if mode == "causal":   # the gap increase reweights the base frames: 6 is the only base that never needs it
        base = Counter()
        for (train, _), p in law.items():
            base[train[0]] += p
        assert base[6] > 0.4 and abs(sum(c for k, c in counts.items() if k[0][0] == 6) / N - base[6]) < 0.03
