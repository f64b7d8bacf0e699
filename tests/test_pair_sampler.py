"""PairSampler / PairLoader: visible pairs within max_gap, deterministic per (seed, epoch, index)."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import MemoryVideos
from ltr_slt.data.pair_sampler import Pair, PairLoader, PairSampler, pair_collate


def test_pairs_are_visible_distinct_and_within_max_gap():
    vis = {0: [2, 5, 9, 20], 1: [0, 29], 2: list(range(30))}
    ds = MemoryVideos(visible=vis)
    sampler = PairSampler([ds], samples_per_epoch=200, max_gap=6, seed=3)
    seen_seqs = set()
    for i in range(len(sampler)):
        p = sampler[i]
        t, s = p.frame_ids
        assert t != s and abs(t - s) <= 6
        allowed = vis.get(p.seq_id, range(30))
        assert t in allowed and s in allowed
        assert p.seq_id != 1  # its two visible frames are 29 apart: never pairable
        # boxes and frames are the dataset's own
        assert np.allclose(p.template_box, [10.0 + t, 20.0, 30.0, 40.0 + p.seq_id])
        assert np.allclose(p.search_box, [10.0 + s, 20.0, 30.0, 40.0 + p.seq_id])
        assert p.template_image[0, 0, 0] == (p.seq_id * 64 + t) % 256
        assert p.search_image.dtype == np.uint8 and p.dataset == "mem"
        seen_seqs.add(p.seq_id)
    assert seen_seqs == {0, 2}


def test_deterministic_per_seed_epoch_index():
    ds = MemoryVideos()
    a = PairSampler([ds], samples_per_epoch=20, max_gap=10, seed=1)
    b = PairSampler([ds], samples_per_epoch=20, max_gap=10, seed=1)
    ids_a = [(a[i].seq_id, a[i].frame_ids) for i in range(20)]
    assert ids_a == [(b[i].seq_id, b[i].frame_ids) for i in reversed(range(20))][::-1]
    b.set_epoch(1)
    assert ids_a != [(b[i].seq_id, b[i].frame_ids) for i in range(20)]
    c = PairSampler([ds], samples_per_epoch=20, max_gap=10, seed=2)
    assert ids_a != [(c[i].seq_id, c[i].frame_ids) for i in range(20)]
    state = b.state_dict()
    a.load_state_dict(state)
    assert [a[i].frame_ids for i in range(5)] == [b[i].frame_ids for i in range(5)]


def test_dataset_weights_and_image_datasets():
    videos = MemoryVideos(name="videos")
    images = MemoryVideos(lengths=(1, 1, 1, 1), video=False, name="images")
    sampler = PairSampler([videos, images], p_datasets=[0.0, 1.0], samples_per_epoch=30, seed=0)
    for i in range(30):
        p = sampler[i]
        assert p.dataset == "images"
        assert p.frame_ids == (0, 0)  # still images: template and search are the same frame
        assert np.array_equal(p.template_image, p.search_image)


def test_bad_arguments_and_unpairable_data_raise_clearly():
    ds = MemoryVideos()
    with pytest.raises(ValueError, match="p_datasets"):
        PairSampler([ds, ds], p_datasets=[1.0])
    with pytest.raises(ValueError, match="at least one dataset"):
        PairSampler([])
    with pytest.raises(ValueError, match="max_gap"):
        PairSampler([ds], max_gap=0)
    lonely = MemoryVideos(lengths=(10,), visible={0: [3]})
    sampler = PairSampler([lonely], samples_per_epoch=2, max_redraws=5)
    with pytest.raises(RuntimeError, match="no video with 2 visible frames"):
        sampler[0]
    with pytest.raises(IndexError):
        sampler[2]


def test_loader_batches_lists_and_follows_epochs():
    sampler = PairSampler([MemoryVideos()], samples_per_epoch=10, max_gap=10, seed=5)
    loader = PairLoader("train", sampler, batch_size=4)
    assert len(loader) == 2 and loader.name == "train" and loader.training and loader.epoch_interval == 1
    batches = list(loader)
    assert len(batches) == 2 and all(len(b) == 4 and isinstance(b[0], Pair) for b in batches)
    first = [p.frame_ids for p in batches[0]]
    assert first == [sampler[i].frame_ids for i in range(4)]
    loader.set_epoch(3)
    assert sampler.epoch == 3
    assert [p.frame_ids for p in next(iter(loader))] != first
    assert loader.state_dict() == {"seed": 5, "epoch": 3}
    assert len(PairLoader("x", sampler, batch_size=4, drop_last=False)) == 3
    assert pair_collate([batches[0][0]]) == [batches[0][0]]
