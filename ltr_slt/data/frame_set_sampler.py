"""Train/test frame sets for DiMP-family frame-level training (FLT), as ltr's ``DiMPSampler`` draws them.

An item is K train frames (the few-shot learner's memory) and M test frames (where the predicted
filter and IoU-Net are scored) of one video: the law of ltr's ``TrackingSampler`` /
``DiMPSampler`` (pytracking ``ltr/data/sampler.py``), re-written for this project:

* a dataset by ``p_datasets`` (None: proportional to the number of sequences), then a sequence
  uniformly; the dataset is kept while sequences are redrawn, as in ltr. A video sequence is used
  when it has at least ``min_visible`` usable frames (default ``2 * (K + M) + 1``, i.e. ltr's
  ``visible.sum() > 2 * (num_test + num_train)``) and at least ``min_length`` frames (ltr: 20).
  Usable = ``visible & valid`` as in :class:`~ltr_slt.data.pair_sampler.PairSampler`.
* ``'causal'``: base frame among usable frames in ``[K - 1, L - M)``; the K - 1 other train frames
  in ``[base - max_gap - inc, base)``; the M test frames in ``[base + 1, base + max_gap + inc)``.
  ``'interval'``: base anywhere; other train frames in ``[base - max_gap - inc, base + max_gap + inc)``;
  test frames in the same window (they may precede the train frames). Windows are half-open,
  clipped to ``[0, L)``; an attempt whose window holds no usable frame draws the base again with
  ``inc`` (from 0) grown by 5. Frames are drawn with replacement (``random.choices``), unsorted;
  ``train_ids[0]`` is the base frame.
* image datasets (``is_video_sequence()`` False) repeat their single frame K and M times.

Where ltr would crash or loop forever this sampler redraws the sequence instead (the law of every
sequence ltr can sample is unchanged): a sequence whose base range holds no usable frame, or
(causal) where no base has a usable frame before it (K > 1) and one after it. Not as ltr: an image
whose single box is not visible/valid is redrawn (ltr would train on it).

Item ``i`` of epoch ``e`` depends only on ``(seed, e, i)`` (its own ``random.Random``), never on
global random state, worker count or the order in which items are asked for. Load batches with
:class:`~ltr_slt.data.pair_sampler.PairLoader` (a batch is a list of :class:`FrameSet`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ltr_slt.data.sampler import EpochSeeded

__all__ = ["FrameSet", "FrameSetSampler", "frame_set_collate", "FRAME_SAMPLE_MODES"]

FRAME_SAMPLE_MODES = ("causal", "interval")
GAP_INCREASE = 5   # ltr: the windows grow by 5 frames per failed attempt


@dataclass
class FrameSet:
    """One DiMP FLT sample: full frames (uint8 RGB) and their GT boxes (xywh, image pixels)."""

    train_images: List[np.ndarray]   # K x [H, W, 3] uint8 RGB
    train_boxes: np.ndarray          # [K, 4] float32 xywh
    test_images: List[np.ndarray]    # M x [H, W, 3] uint8 RGB
    test_boxes: np.ndarray           # [M, 4] float32 xywh
    dataset: str = ""
    seq_id: int = -1
    train_ids: tuple = ()            # K frame ids, train_ids[0] = base frame
    test_ids: tuple = ()             # M frame ids


def _usable_mask(info: dict) -> np.ndarray:
    """[L] bool: visible and valid (the dataset's own flags)."""
    return (torch.as_tensor(info["visible"]).bool() & torch.as_tensor(info["valid"]).bool()).numpy()


def _usable_in(usable_ids: np.ndarray, lo: int, hi: int) -> List[int]:
    """Usable frame ids in the half-open window ``[lo, hi)`` (``usable_ids`` sorted)."""
    a, b = np.searchsorted(usable_ids, [lo, hi])
    return usable_ids[a:b].tolist()


class FrameSetSampler(EpochSeeded, Dataset):
    """Random (K train, M test) frame sets of one video, ``samples_per_epoch`` per epoch.

    Args:
        datasets: ltr-API datasets (``get_sequence_info`` / ``get_frames``).
        p_datasets: sampling weight per dataset (default: proportional to the number of sequences).
        samples_per_epoch: ``len(self)``.
        max_gap: half-width of the frame windows before they grow (ltr ``max_gap``).
        num_test_frames, num_train_frames: M and K.
        frame_sample_mode: ``'causal'`` (DiMP's default) or ``'interval'`` (ATOM's).
        seed: base seed; item ``i`` of epoch ``e`` uses ``SeedSequence([seed, e, i])``.
        min_visible: usable frames a video needs (default ``2 * (K + M) + 1``, ltr's rule); lower
            it for short synthetic videos.
        max_redraws: sequences tried for one item before giving up with a clear error.
        min_length: frames a video needs (ltr: 20).
    """

    RNG_SALT = 0xF5E

    def __init__(self, datasets: Sequence[Any], p_datasets: Optional[Sequence[float]] = None,
                 samples_per_epoch: int = 1000, max_gap: int = 30, num_test_frames: int = 3,
                 num_train_frames: int = 3, frame_sample_mode: str = "causal", seed: int = 0,
                 min_visible: Optional[int] = None, max_redraws: int = 100, min_length: int = 20) -> None:
        self._set_datasets(datasets, p_datasets)
        if frame_sample_mode not in FRAME_SAMPLE_MODES:
            raise ValueError(f"frame_sample_mode must be one of {FRAME_SAMPLE_MODES}, got {frame_sample_mode!r}")
        if int(num_train_frames) < 1 or int(num_test_frames) < 1:
            raise ValueError(f"num_train_frames and num_test_frames must be >= 1, "
                             f"got {num_train_frames}, {num_test_frames}")
        for name, value in (("samples_per_epoch", samples_per_epoch), ("max_redraws", max_redraws)):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name, value in (("max_gap", max_gap), ("min_length", min_length)):
            if int(value) < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if min_visible is not None and int(min_visible) < 1:
            raise ValueError(f"min_visible must be >= 1 (or None for ltr's rule), got {min_visible}")
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap = int(max_gap)
        self.num_test_frames = int(num_test_frames)
        self.num_train_frames = int(num_train_frames)
        self.frame_sample_mode = frame_sample_mode
        self.seed = int(seed)
        default_visible = 2 * (self.num_test_frames + self.num_train_frames) + 1
        self.min_visible = int(min_visible) if min_visible is not None else default_visible
        self.min_length = int(min_length)
        self.max_redraws = int(max_redraws)
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    # ------------------------------------------------------------------ sequence
    def eligible(self, usable: np.ndarray) -> bool:
        """ltr's sequence rule plus the cases where ltr's frame loop could never finish."""
        n = len(usable)
        if int(usable.sum()) < self.min_visible or n < self.min_length:
            return False
        ids = np.flatnonzero(usable)
        if self.frame_sample_mode == "interval":
            return len(ids) > 0   # the base frame itself lies in every window
        bases = ids[(ids >= self.num_train_frames - 1) & (ids < n - self.num_test_frames)]
        if self.num_train_frames > 1:
            bases = bases[bases > ids[0]]   # some usable frame before the base
        return bool(len(bases)) and bool(bases[0] < ids[-1])   # and some usable frame after it

    def __getitem__(self, index: int) -> FrameSet:
        if not 0 <= int(index) < self.samples_per_epoch:
            raise IndexError(f"FrameSetSampler index {index} out of range [0, {self.samples_per_epoch})")
        rng = self._rng(index)
        dataset = rng.choices(self.datasets, self.p_datasets)[0]   # kept while sequences are redrawn (ltr)
        is_video = self._is_video(dataset)
        for _ in range(self.max_redraws):
            seq_id = rng.randrange(dataset.get_num_sequences())
            info = dataset.get_sequence_info(seq_id)
            usable = _usable_mask(info)
            if is_video:
                if not self.eligible(usable):
                    continue
                train_ids, test_ids = self.sample_frame_ids(usable, rng)
            else:
                if not usable[:1].any():
                    continue
                train_ids, test_ids = [0] * self.num_train_frames, [0] * self.num_test_frames
            frames, anno, _ = dataset.get_frames(seq_id, train_ids + test_ids, info)
            boxes = np.stack([np.asarray(b, dtype=np.float32).reshape(4) for b in anno["bbox"]])   # [K + M, 4]
            k = len(train_ids)
            return FrameSet(train_images=list(frames[:k]), train_boxes=boxes[:k], test_images=list(frames[k:]),
                            test_boxes=boxes[k:], dataset=dataset.get_name(), seq_id=int(seq_id),
                            train_ids=tuple(train_ids), test_ids=tuple(test_ids))
        rule = (f"{self.min_visible} visible frames, {self.min_length} frames and a {self.frame_sample_mode} "
                f"frame set" if is_video else "a visible box")
        raise RuntimeError(f"FrameSetSampler: no sequence of dataset '{dataset.get_name()}' with {rule} after "
                           f"{self.max_redraws} draws (lower min_visible / min_length or raise max_redraws)")

    # ------------------------------------------------------------------ frames
    def sample_frame_ids(self, usable: np.ndarray, rng: random.Random) -> Tuple[List[int], List[int]]:
        """(K train ids, M test ids) of one eligible video (:meth:`eligible`) given its [L] usable mask."""
        usable = np.asarray(usable, dtype=bool)
        if not self.eligible(usable):
            raise ValueError(f"sample_frame_ids: video of {len(usable)} frames ({int(usable.sum())} usable) "
                             f"is not eligible for {self.frame_sample_mode} sampling")
        ids = np.flatnonzero(usable)   # sorted usable frame ids
        n, K, M, gap = len(usable), self.num_train_frames, self.num_test_frames, self.max_gap
        inc = 0
        while True:   # ends with probability 1: eligible() guarantees a feasible base
            if self.frame_sample_mode == "causal":
                base = rng.choices(_usable_in(ids, K - 1, n - M))[0]
                prev = _usable_in(ids, base - gap - inc, base)
            else:
                base = rng.choices(ids.tolist())[0]
                prev = _usable_in(ids, base - gap - inc, base + gap + inc)
            if K > 1 and not prev:
                inc += GAP_INCREASE
                continue
            train = [base] + (rng.choices(prev, k=K - 1) if K > 1 else [])
            if self.frame_sample_mode == "causal":
                window = _usable_in(ids, train[0] + 1, train[0] + gap + inc)
            else:
                window = _usable_in(ids, train[0] - gap - inc, train[0] + gap + inc)
            if window:
                return train, rng.choices(window, k=M)
            inc += GAP_INCREASE


def frame_set_collate(batch: List[FrameSet]) -> List[FrameSet]:
    """Frames differ in size, so a batch stays a list (cropping happens on the device)."""
    return list(batch)
