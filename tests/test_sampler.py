"""SequenceSampler statistics, visibility rules, fallbacks, determinism; clip-consistent augmentation."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

from ltr_slt.data import Clip, SamplingError, SequenceAugmentation, SequenceSampler
from ltr_slt.data.seq_augmentation import AugmentationParams


class FakeVideos:
    """In-memory dataset with ltr's API. Box x encodes the frame id, so clips can be checked."""

    def __init__(self, visibilities, name="fake", size=(12, 10), video=True):
        self.vis = [np.asarray(v, dtype=bool) for v in visibilities]
        self.name, self.size, self.video = name, size, video
        self.frames_requested = []

    def get_name(self):
        return self.name

    def get_num_sequences(self):
        return len(self.vis)

    def is_video_sequence(self):
        return self.video

    def get_sequence_info(self, seq_id):
        n = len(self.vis[seq_id])
        bbox = torch.zeros(n, 4)
        bbox[:, 0] = torch.arange(n, dtype=torch.float32)
        bbox[:, 1] = seq_id
        bbox[:, 2:] = 2.0
        visible = torch.from_numpy(self.vis[seq_id].copy())
        return {"bbox": bbox, "valid": torch.ones(n, dtype=torch.bool), "visible": visible}

    def get_frames(self, seq_id, frame_ids, anno=None):
        anno = anno if anno is not None else self.get_sequence_info(seq_id)
        self.frames_requested.append(list(frame_ids))
        w, h = self.size
        frames = [np.full((h, w, 3), f % 256, dtype=np.uint8) for f in frame_ids]
        return frames, {k: [v[f] for f in frame_ids] for k, v in anno.items()}, OrderedDict(object_class_name="x")


def _ids(clip):
    return clip.template_frame_ids, clip.search_frame_ids


def _all_visible(lengths):
    return FakeVideos([np.ones(n, bool) for n in lengths])


def test_mode_frequencies_follow_interval_prob():
    ds = _all_visible([200, 300])
    s = SequenceSampler([ds], None, 2000, max_gap=50, num_search_frames=8, frame_sample_mode="random_interval",
                        interval_prob=0.3, seed=0)
    modes = [s[i].mode for i in range(2000)]
    frac = modes.count("random_interval") / len(modes)
    assert abs(frac - 0.3) < 0.04, frac            # 4 sigma of a binomial(2000, 0.3)
    seq_only = SequenceSampler([ds], None, 200, 50, 8, frame_sample_mode="sequential", interval_prob=1.0, seed=0)
    assert {seq_only[i].mode for i in range(200)} == {"sequential"}
    always = SequenceSampler([ds], None, 200, 50, 8, frame_sample_mode="random_interval", prob=1.0, seed=0)
    assert {always[i].mode for i in range(200)} == {"random_interval"}    # official keyword, same meaning


def test_intervals_and_template_rules_on_visible_videos():
    ds = _all_visible([60, 150, 400])
    T, max_gap, max_interval = 10, 30, 6
    s = SequenceSampler([ds], None, 600, max_gap, T, frame_sample_mode="random_interval", max_interval=max_interval,
                        interval_prob=0.5, seed=1)
    gaps = []
    for i in range(600):
        c = s[i]
        (t,), search = _ids(c)
        assert len(search) == T == c.num_frames and len(c.search_boxes) == T
        assert t <= search[0] <= t + max_gap                 # template at or before the clip start, within max_gap
        d = np.diff(search)
        if c.mode == "sequential":
            assert (d == 1).all()
        else:
            assert ((0 <= d) & (d <= max_interval)).all(), search
            gaps += d.tolist()
        # boxes / images really belong to the sampled frames
        assert np.array_equal(c.search_boxes[:, 0], np.asarray(search, dtype=np.float32))
        assert c.template_boxes.shape == (1, 4) and c.template_boxes[0, 0] == t
        assert all(img[0, 0, 0] == f % 256 for img, f in zip(c.search_images, search))
    # random intervals really vary (the temporal augmentation), including frozen frames (step 0)
    assert min(gaps) == 0 and max(gaps) == max_interval and len(set(gaps)) == max_interval + 1


def test_only_visible_frames_are_sampled():
    rng = np.random.default_rng(0)
    vis = []
    for n in (80, 120, 200):
        v = rng.random(n) > 0.3
        v[n // 3:n // 3 + 15] = False            # a long occlusion
        vis.append(v)
    ds = FakeVideos(vis)
    for mode in ("sequential", "random_interval"):
        s = SequenceSampler([ds], None, 300, 40, 12, frame_sample_mode=mode, interval_prob=1.0, seed=2)
        for i in range(300):
            c = s[i]
            (t,), search = _ids(c)
            v = vis[c.seq_id]
            assert v[t] and v[search].all() and c.search_visible.all()
            assert (np.diff(search) >= 0).all() and t <= search[0] <= t + 40
            if mode == "sequential":   # first visible frames after `left`: nothing visible skipped
                assert not v[search[0]:search[-1] + 1][~np.isin(np.arange(search[0], search[-1] + 1), search)].any()


def test_max_gap_minus_one_starts_at_the_template():
    s = SequenceSampler([_all_visible([100])], None, 50, -1, 6, frame_sample_mode="random_interval",
                        interval_prob=0.5, seed=3)
    for i in range(50):
        (t,), search = _ids(s[i])
        assert search[0] == t


def test_include_invisible_keeps_occlusions_inside_clips():
    v = np.ones(100, bool)
    v[40:50] = False
    s = SequenceSampler([FakeVideos([v])], None, 200, 60, 20, frame_sample_mode="random_interval",
                        interval_prob=0.5, seed=4, include_invisible=True)
    saw_invisible = False
    for i in range(200):
        c = s[i]
        (t,), search = _ids(c)
        assert v[t] and v[search[0]] and np.array_equal(c.search_visible, v[search])
        if c.mode == "sequential":
            assert (np.diff(search) == 1).all() or search[-1] == 99
        saw_invisible |= not c.search_visible.all()
    assert saw_invisible


def test_determinism_is_per_index_and_epoch():
    ds = _all_visible([100, 200])
    a = SequenceSampler([ds], None, 40, 30, 8, frame_sample_mode="random_interval", seed=5)
    b = SequenceSampler([ds], None, 40, 30, 8, frame_sample_mode="random_interval", seed=5)
    forward = [(_ids(a[i]), a[i].seq_id, a[i].mode) for i in range(40)]
    backward = [(_ids(b[i]), b[i].seq_id, b[i].mode) for i in reversed(range(40))][::-1]
    assert forward == backward                    # order of requests does not matter
    b.set_epoch(1)
    assert [(_ids(b[i]), b[i].seq_id) for i in range(40)] != [(f[0], f[1]) for f in forward]
    state = b.state_dict()
    c = SequenceSampler([ds], None, 40, 30, 8, frame_sample_mode="random_interval", seed=99)
    c.load_state_dict(state)
    assert _ids(c[7]) == _ids(b[7])
    d = SequenceSampler([ds], None, 40, 30, 8, frame_sample_mode="random_interval", seed=6)
    assert [_ids(d[i]) for i in range(40)] != [f[0] for f in forward]


def test_videos_without_visible_frames_are_redrawn_and_all_invisible_raises():
    good = np.ones(100, bool)
    ds = FakeVideos([np.zeros(100, bool), good, np.zeros(50, bool)])
    s = SequenceSampler([ds], None, 100, 20, 8, frame_sample_mode="random_interval", seed=6)
    assert {s[i].seq_id for i in range(100)} == {1}
    bad = SequenceSampler([FakeVideos([np.zeros(30, bool)] * 3)], None, 5, 20, 8, seed=0, max_redraws=10)
    with pytest.raises(SamplingError, match="visible"):
        bad[0]


@pytest.mark.parametrize("mode", ["sequential", "random_interval"])
def test_short_and_awkward_videos_never_crash(mode):
    T = 8
    only_end = np.zeros(40, bool)
    only_end[-3:] = True                        # no visible template candidate in [0, L - T)
    one = np.zeros(20, bool)
    one[5] = True                               # a single visible frame
    cases = {"short": np.ones(3, bool), "only_end": only_end, "one": one, "sparse": np.arange(60) % 9 == 0}
    for name, v in cases.items():
        for short_clip in ("truncate", "pad"):
            s = SequenceSampler([FakeVideos([v])], None, 30, 10, T, frame_sample_mode=mode, interval_prob=1.0,
                                seed=7, short_clip=short_clip)
            for i in range(30):
                c = s[i]
                (t,), search = _ids(c)
                assert v[t] and v[search].all() and (np.diff(search) >= 0).all(), (name, search)
                assert t <= search[0]
                if short_clip == "pad":
                    assert c.num_frames == T
                else:
                    assert 2 <= c.num_frames <= T
                    if mode == "sequential":   # the first T visible frames from the clip start
                        assert c.num_frames == max(2, min(T, int(v[search[0]:].sum())))
    s = SequenceSampler([FakeVideos([np.ones(3, bool)])], None, 5, 10, T, frame_sample_mode=mode, seed=0)
    if mode == "sequential":   # a short video is used whole, from its first frame
        assert [s[i].search_frame_ids for i in range(5)] == [[0, 1, 2]] * 5
    else:
        assert all(2 <= s[i].num_frames <= 3 and set(s[i].search_frame_ids) <= {0, 1, 2} for i in range(5))


def test_dataset_weights_image_datasets_and_templates():
    a, b = _all_visible([100]), FakeVideos([np.ones(1, bool)], name="images", video=False)
    s = SequenceSampler([a, b], [0, 1], 20, 10, 5, seed=8)
    clips = [s[i] for i in range(20)]
    assert {c.dataset for c in clips} == {"images"}
    assert all(c.search_frame_ids == [0] * 5 and c.num_frames == 5 for c in clips)
    multi = SequenceSampler([_all_visible([200])], None, 50, 20, 6, num_template_frames=3, seed=9)
    for i in range(50):
        c = multi[i]
        tids, search = _ids(c)
        assert len(tids) == 3 and len(c.template_images) == 3 and c.template_boxes.shape == (3, 4)
        assert tids == sorted(tids) and tids[-1] <= search[0] and search[0] - tids[0] <= 2 * 20


def test_bad_arguments_are_rejected():
    ds = _all_visible([50])
    with pytest.raises(ValueError, match="frame_sample_mode"):
        SequenceSampler([ds], None, 10, 10, 5, frame_sample_mode="causal")
    with pytest.raises(ValueError, match="interval_prob"):
        SequenceSampler([ds], None, 10, 10, 5, interval_prob=1.5)
    with pytest.raises(ValueError, match="p_datasets"):
        SequenceSampler([ds], [1, 2], 10, 10, 5)
    with pytest.raises(ValueError, match="num_search_frames"):
        SequenceSampler([ds], None, 10, 10, 1)
    with pytest.raises(ValueError, match="at least one dataset"):
        SequenceSampler([], None, 10, 10, 5)


def test_sampler_reads_synthetic_lasot(tmp_path):
    from ltr_slt.dataset import Lasot
    from ltr_slt.dataset.synthetic import SyntheticConfig, generate_dataset
    generate_dataset(str(tmp_path), "lasot", 3, seed=1, config=SyntheticConfig(num_frames=30, width=64, height=48))
    s = SequenceSampler([Lasot(str(tmp_path))], None, 6, 10, 6, frame_sample_mode="random_interval",
                        min_visible_frames=6, seed=0)
    for i in range(6):
        c = s[i]
        assert isinstance(c, Clip) and c.dataset == "lasot" and c.search_images[0].shape == (48, 64, 3)
        assert c.search_images[0].dtype == np.uint8 and c.search_boxes.dtype == np.float32


# ------------------------------------------------------------------------------------------------
# clip-consistent spatial augmentation

def _marker_clip(num=6, size=(96, 72)):
    """Flat frames with a bright square at the (moving) box: where it lands shows the transform."""
    w, h = size
    boxes = np.array([[10 + 6 * i, 12 + 3 * i, 16, 12] for i in range(num + 1)], dtype=np.float32)
    frames = []
    for x, y, bw, bh in boxes.astype(int):
        img = np.full((h, w, 3), 60, dtype=np.uint8)
        img[y:y + bh, x:x + bw] = (250, 120, 30)
        frames.append(img)
    return Clip(template_images=[frames[0]], template_boxes=boxes[:1], search_images=frames[1:],
                search_boxes=boxes[1:], search_visible=np.ones(num, bool), dataset="fake")


def _bright_box(img):
    ys, xs = np.nonzero(img[..., 0] > 155)
    return np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], dtype=np.float32)


def test_augmentation_moves_every_frame_and_box_the_same_way():
    clip = _marker_clip()
    aug = SequenceAugmentation(shift=0.15, scale=0.25, flip_prob=0.5, color_prob=0.0, blur_prob=0.0,
                               grayscale_prob=0.0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        out = aug(clip, rng)
        # one affine for the clip: new = a * old + b with the same (a, b) for every frame
        old = np.concatenate([clip.template_boxes, clip.search_boxes])
        new = np.concatenate([out.template_boxes, out.search_boxes])
        a = new[:, 2] / old[:, 2]
        assert np.allclose(a, a[0], atol=1e-4)
        for img, box in zip(out.template_images + out.search_images, new):
            fully_inside = box[0] > 1 and box[1] > 1 and box[0] + box[2] < 95 and box[1] + box[3] < 71
            if box[2] >= 4 and box[3] >= 4 and fully_inside:
                assert np.abs(_bright_box(img) - box).max() <= 1.01    # the pixels moved with the box
        tpl = out.template_boxes[0]
        assert tpl[0] >= 0 and tpl[1] >= 0 and tpl[0] + tpl[2] <= 96 and tpl[1] + tpl[3] <= 72


def test_augmentation_photometric_draw_is_shared_by_all_frames():
    clip = _marker_clip()
    aug = SequenceAugmentation(shift=0.0, scale=0.0, color_prob=1.0, color_std=0.2, blur_prob=0.0, grayscale_prob=0.0)
    out = aug(clip, np.random.default_rng(1))
    backgrounds = {tuple(img[-1, -1]) for img in out.template_images + out.search_images}
    assert len(backgrounds) == 1 and backgrounds != {(60, 60, 60)}
    gray = SequenceAugmentation(shift=0.0, scale=0.0, color_prob=0.0, blur_prob=0.0, grayscale_prob=1.0)
    out = gray(clip, np.random.default_rng(2))
    assert all((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all() for img in out.search_images)
    # a clip's draw is reproducible from its generator, and different generators differ
    full = SequenceAugmentation()
    assert np.array_equal(full(clip, np.random.default_rng(3)).search_boxes,
                          full(clip, np.random.default_rng(3)).search_boxes)
    draws = {tuple(full(clip, np.random.default_rng(s)).search_boxes[0]) for s in range(5)}
    assert len(draws) > 1


def test_augmentation_marks_boxes_pushed_out_of_the_image():
    clip = _marker_clip()
    params = AugmentationParams(scale=1.0, shift=(-60.0, 0.0))
    out = SequenceAugmentation().apply(clip, params)
    x_end = out.search_boxes[:, 0] + out.search_boxes[:, 2]
    assert np.array_equal(out.search_visible, (clip.search_boxes[:, 0] + clip.search_boxes[:, 2] - 60) >= 1)
    assert (out.search_boxes[:, 0] >= 0).all() and (x_end <= 96).all()


def test_sampler_applies_spatial_augmentation_once_per_clip():
    calls = []

    def spy(clip, rng):
        calls.append(rng.integers(1 << 30))
        return clip

    s = SequenceSampler([_all_visible([100])], None, 4, 10, 5, seed=0, spatial_augmentation=spy)
    s[0]
    s[0]
    s[1]
    assert len(calls) == 3 and calls[0] == calls[1] != calls[2]   # one draw per clip, from the item's own RNG
    off = SequenceSampler([_all_visible([100])], None, 4, 10, 5, seed=0)
    assert off.spatial_augmentation is None
