"""Template/search pairs for ordinary frame-level training (FLT), the baseline SLT starts from.

This mirrors what ltr's ``TrackingSampler`` / TransT's sampler give TransT: one visible template
frame and one visible search frame of the same video at most ``max_gap`` frames apart (either
order). For image datasets (``is_video_sequence()`` False, e.g. COCO-style) template and search are
the same image, as in ltr. Crops are *not* made here: the FLT actor crops the whole batch on the
device around jittered ground truth (:mod:`ltr_slt.actors.transt_flt`), with the crop code the
tracker uses.

Like :class:`ltr_slt.data.sampler.SequenceSampler` it is a map-style dataset whose item ``i`` of
epoch ``e`` depends only on ``(seed, e, i)``, so batches do not depend on the number of workers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from ltr_slt.data.sampler import EpochSeeded

logger = logging.getLogger(__name__)

__all__ = ["Pair", "PairSampler", "pair_collate", "PairLoader"]


@dataclass
class Pair:
    """One FLT sample: full frames (uint8 RGB) and their GT boxes (xywh, image pixels)."""

    template_image: np.ndarray   # [H, W, 3] uint8 RGB
    template_box: np.ndarray     # [4] float32 xywh
    search_image: np.ndarray     # [H, W, 3] uint8 RGB
    search_box: np.ndarray       # [4] float32 xywh
    dataset: str = ""
    seq_id: int = -1
    frame_ids: tuple = ()


class PairSampler(EpochSeeded, Dataset):
    """Random visible (template, search) pairs, ``samples_per_epoch`` per epoch.

    Args:
        datasets: ltr-API datasets (``get_sequence_info`` / ``get_frames``).
        p_datasets: sampling weight per dataset (default: proportional to the number of sequences).
        samples_per_epoch: ``len(self)``.
        max_gap: largest frame distance between template and search.
        seed: base seed; item ``i`` of epoch ``e`` uses ``SeedSequence([seed, e, i])``.
        min_visible: a video needs at least this many visible frames to be used (ltr: > 4).
        max_redraws: videos tried for one item before giving up with a clear error.
    """

    RNG_SALT = 0x9A1

    def __init__(self, datasets: Sequence[Any], p_datasets: Optional[Sequence[float]] = None,
                 samples_per_epoch: int = 1000, max_gap: int = 100, seed: int = 0,
                 min_visible: int = 2, max_redraws: int = 100) -> None:
        self._set_datasets(datasets, p_datasets)
        if int(samples_per_epoch) < 1:
            raise ValueError(f"samples_per_epoch must be >= 1, got {samples_per_epoch}")
        if int(max_gap) < 1:
            raise ValueError(f"max_gap must be >= 1, got {max_gap}")
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap = int(max_gap)
        self.seed = int(seed)
        self.min_visible = max(1, int(min_visible))
        self.max_redraws = int(max_redraws)
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> Pair:
        if not 0 <= int(index) < self.samples_per_epoch:
            raise IndexError(f"PairSampler index {index} out of range [0, {self.samples_per_epoch})")
        rng = self._rng(index)
        for _ in range(self.max_redraws):
            dataset = rng.choices(self.datasets, self.p_datasets)[0]
            seq_id = rng.randrange(dataset.get_num_sequences())
            info = dataset.get_sequence_info(seq_id)
            visible = torch.as_tensor(info["visible"]).bool() & torch.as_tensor(info["valid"]).bool()
            ids = torch.nonzero(visible).flatten().tolist()
            if not self._is_video(dataset):
                if not ids:
                    continue
                template_id = search_id = ids[0]
            else:
                if len(ids) < max(2, self.min_visible):
                    continue   # nothing to pair: draw another video
                template_id = rng.choice(ids)
                near = [i for i in ids if i != template_id and abs(i - template_id) <= self.max_gap]
                if not near:
                    continue
                search_id = rng.choice(near)
            frame_ids = [template_id, search_id]
            frames, anno, _ = dataset.get_frames(seq_id, frame_ids, info)
            boxes = [np.asarray(b, dtype=np.float32).reshape(4) for b in anno["bbox"]]
            return Pair(frames[0], boxes[0], frames[1], boxes[1], dataset.get_name(), seq_id,
                        (template_id, search_id))
        raise RuntimeError(f"PairSampler: no video with {max(2, self.min_visible)} visible frames and a pair "
                           f"within max_gap={self.max_gap} after {self.max_redraws} draws "
                           f"(datasets: {[d.get_name() for d in self.datasets]})")


def pair_collate(batch: List[Pair]) -> List[Pair]:
    """Frames differ in size, so a batch stays a list (cropping happens on the device)."""
    return list(batch)


class PairLoader:
    """A DataLoader over a :class:`PairSampler` (or any map-style sampler with ``set_epoch`` /
    ``state_dict``, e.g. :class:`~ltr_slt.data.frame_set_sampler.FrameSetSampler`) with ltr's loader attributes.

    ``name``, ``training``, ``epoch_interval``, ``batch_size``, ``stack_dim`` as ltr's ``LTRLoader``;
    ``set_epoch`` forwards to the sampler (BaseTrainer calls it before each epoch); workers are
    created per epoch so they see the new epoch. Batches are lists of the sampler's items
    (:class:`Pair`, :class:`~ltr_slt.data.frame_set_sampler.FrameSet`).
    """

    def __init__(self, name: str, sampler: PairSampler, training: bool = True, batch_size: int = 1,
                 num_workers: int = 0, epoch_interval: int = 1, drop_last: bool = True,
                 worker_init_fn: Any = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.name = name
        self.sampler_dataset = sampler
        self.training = training
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.epoch_interval = int(epoch_interval)
        self.drop_last = drop_last
        self.stack_dim = 0
        self.worker_init_fn = worker_init_fn

    def set_epoch(self, epoch: int) -> None:
        self.sampler_dataset.set_epoch(epoch)

    def state_dict(self) -> dict:
        return self.sampler_dataset.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.sampler_dataset.load_state_dict(state)

    def __len__(self) -> int:
        n = len(self.sampler_dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[List[Pair]]:
        loader = DataLoader(self.sampler_dataset, batch_size=self.batch_size, shuffle=False,
                            num_workers=self.num_workers, collate_fn=pair_collate, drop_last=self.drop_last,
                            worker_init_fn=self.worker_init_fn, persistent_workers=False)
        return iter(loader)
