"""CUDA-run loader path: frames stacked in the workers, the batch pinnable, the rollout reads it unchanged."""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch.utils.data._utils.pin_memory import pin_memory as torch_pin_memory

from ltr_slt.data import SLTLoader, SequenceSampler
from ltr_slt.data.loader import ClipBatch, slt_collate, slt_collate_pinnable
from ltr_slt.slt.rollout import rollout
from test_loader import SizedVideos
from test_rollout import make_clips, make_tracker


def _sampler():
    return SequenceSampler([SizedVideos()], None, 8, 20, 6, frame_sample_mode="random_interval",
                           interval_prob=0.5, seed=0)


def test_workers_stack_each_clips_frames_into_one_uint8_tensor():
    loader = SLTLoader("train", _sampler(), batch_size=4, num_workers=2, collate_fn=slt_collate_pinnable)
    plain = SLTLoader("train", _sampler(), batch_size=4, num_workers=0)
    for stacked, listed in zip(loader, plain):
        assert isinstance(stacked, ClipBatch) and len(stacked) == 4
        for a, b in zip(stacked, listed):
            assert isinstance(a.search_images, torch.Tensor) and a.search_images.dtype == torch.uint8
            assert a.search_images.shape == (len(b.search_images), *b.search_images[0].shape)
            assert np.array_equal(a.search_images.numpy(), np.stack(b.search_images))
            assert a.template_images.shape[0] == len(b.template_images) and a.num_frames == b.num_frames


def test_pin_memory_default_collate_and_pinning_thread_entry(monkeypatch):
    assert SLTLoader("t", _sampler(), pin_memory=False).collate_fn is slt_collate
    batch = slt_collate_pinnable([_sampler()[i] for i in range(2)])
    pinned = []

    def fake_pin(self, *args, **kwargs):  # a CPU-only build cannot pin: record the call instead
        pinned.append(tuple(self.shape))
        return self.clone()

    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    out = torch_pin_memory(batch)  # what the DataLoader's pinning thread calls on each batch
    assert out is batch and len(pinned) == 4  # search + template stack of both clips
    assert sorted(pinned) == sorted([tuple(c.search_images.shape) for c in batch] +
                                    [tuple(c.template_images.shape) for c in batch])


def test_rollout_of_stacked_clips_equals_rollout_of_lists():
    tracker = make_tracker()
    clips = make_clips([4, 3])
    stacked = slt_collate_pinnable(copy.deepcopy(clips))
    assert all(isinstance(c.search_images, torch.Tensor) for c in stacked)
    a = rollout(tracker, clips, "cpu", generator=torch.Generator().manual_seed(0))
    b = rollout(tracker, stacked, "cpu", generator=torch.Generator().manual_seed(0))
    assert torch.equal(a.boxes_sampled, b.boxes_sampled) and torch.equal(a.search_crops, b.search_crops)
    assert torch.equal(a.template_crops, b.template_crops)
