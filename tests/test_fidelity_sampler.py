"""Fidelity of the random-interval sampler and the video redraw to the official procedure."""
import random
from collections import Counter

import numpy as np
import torch

from ltr_slt.data.sampler import SequenceSampler


def _official_rest(visible, left, T, max_interval, rng):
    """Independent reference of the official steps 4-6 (spec 2.4) from the first search frame."""
    n = len(visible)
    ids = [left]
    last = left
    while last <= n - 1 and len(ids) < T:
        window = [i for i in range(last, min(last + max_interval + 1, n)) if visible[i]]
        if not window:
            last += max_interval
        else:
            ids.append(rng.choice(window))
            last = ids[-1]
    if len(ids) < T:
        pool = [x for x in range(n) if visible[x] and x > ids[0] and x not in ids]
        if pool:
            ids = sorted(ids + rng.choices(pool, k=min(len(pool), T - len(ids))))
    while len(ids) < T:
        ids.append(ids[-1])
    return ids


class _Seqs:
    def __init__(self, name, visibles):
        self.name, self.visibles = name, visibles

    def get_name(self):
        return self.name

    def get_num_sequences(self):
        return len(self.visibles)

    def is_video_sequence(self):
        return True

    def get_sequence_info(self, i):
        return {"visible": torch.as_tensor(self.visibles[i])}


def test_last_frame_distribution_matches_official_reference():
    n, T, draws = 60, 24, 4000
    visible = np.ones(n, bool)
    visible[[5, 17, 40]] = False
    sampler = SequenceSampler([_Seqs("a", [visible])], samples_per_epoch=1, num_search_frames=T,
                              frame_sample_mode="random_interval", interval_prob=1.0, seed=0, short_clip="pad",
                              min_visible_frames=0)
    ours, ref = Counter(), Counter()
    rng_ref = random.Random(1)
    for k in range(draws):
        _, search = sampler.sample_frame_ids(visible, "random_interval", random.Random(k))
        ours[search[-1] == n - 1] += 1
        ref[_official_rest(visible, search[0], T, 10, rng_ref)[-1] == n - 1] += 1
    p_ours, p_ref = ours[True] / draws, ref[True] / draws
    assert p_ref > 0.9
    assert abs(p_ours - p_ref) < 0.03


def test_dataset_mix_kept_when_videos_are_unusable():
    good = [np.ones(200, bool)] * 4
    bad = [np.zeros(200, bool)] * 9 + [np.ones(200, bool)]
    sampler = SequenceSampler([_Seqs("good", good), _Seqs("bad", bad)], p_datasets=[1, 1], seed=3,
                              max_redraws=1000)
    names = Counter(sampler._draw_video(random.Random(k))[0].get_name() for k in range(2000))
    assert abs(names["bad"] / 2000 - 0.5) < 0.05


def _enumerated_walk(visible, left, T, max_interval=10):
    """Exact joint law of the official walk's last two frames from ``left`` (spec 2.4 step 4).

    With no invisible stretch longer than ``max_interval`` every window holds a visible frame (at
    least ``last`` itself), so the walk is a Markov chain that always reaches T frames (at the
    video's end it repeats the last frame): P(x_{T-2} = a, x_{T-1} = b), enumerated.
    """
    n = len(visible)
    kernel = np.zeros((n, n))
    for last in range(n):
        window = [i for i in range(last, min(last + max_interval + 1, n)) if visible[i]]
        if window:
            kernel[last, window] = 1.0 / len(window)
    p = np.zeros(n)
    p[left] = 1.0
    for _ in range(T - 2):
        p = p @ kernel
    return p[:, None] * kernel


def test_clip_end_law_matches_the_enumerated_official_walk():
    """The last two frames of random-interval clips follow the enumerated official law: clips end
    at the video's last frame, *repeated* (the old code filled with earlier frames instead)."""
    n, T, draws = 60, 24, 6000
    visible = np.ones(n, bool)
    visible[[5, 17, 18, 40]] = False
    sampler = SequenceSampler([_Seqs("a", [visible])], samples_per_epoch=1, num_search_frames=T,
                              frame_sample_mode="random_interval", interval_prob=1.0, seed=0, short_clip="pad",
                              min_visible_frames=0)
    lefts, ends = [], []
    for k in range(draws):
        _, search = sampler.sample_frame_ids(visible, "random_interval", random.Random(k))
        assert len(search) == T
        lefts.append(search[0])
        ends.append((search[-2], search[-1]))
    expected = np.zeros((n, n))  # mixture over the observed first frames of the exact per-left law
    for left, count in Counter(lefts).items():
        expected += count / draws * _enumerated_walk(visible, left, T)
    observed = np.zeros((n, n))
    for a, b in ends:
        observed[a, b] += 1.0 / draws
    total_variation = 0.5 * np.abs(observed - expected).sum()
    assert total_variation < 0.05, total_variation
    assert expected[n - 1, n - 1] > 0.8  # officially most clips end frozen on the last frame
