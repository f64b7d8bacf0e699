"""DiMP's sample memory for the online classifier update (``architectures.md`` 7.2, "Update").

Per sequence: ``sample_memory_size`` slots of classification features and target boxes, with
weights. The first ``num_init`` slots hold the initial augmented samples (weight ``1/num_init``
each). A new sample replaces the next free slot, or, once full, the non-initial slot with the
smallest weight; weights decay by ``1/(1 - lr)`` relative to the new one (pytracking's
``update_sample_weights``, including its ``previous_replace_ind`` form) and are renormalised with
the initial samples keeping at least ``init_samples_minimum_weight`` in total.

Weights are kept on the CPU (B small float32 vectors, scalar logic per sequence); features and
boxes live on the device as ``[M, B, ...]`` so the filter optimiser reads them in one piece.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import torch

__all__ = ["update_sample_weights", "SampleMemory"]


def update_sample_weights(sw: torch.Tensor, prev_ind: Optional[int], num_stored: int, num_init: int, lr: float,
                          init_min_weight: Optional[float]) -> int:
    """Update one sequence's weights ``sw`` [M] in place for a new sample; returns the slot to write."""
    if init_min_weight == 0:
        init_min_weight = None
    s_ind = 0 if init_min_weight is None else num_init
    if num_stored == 0 or lr == 1:
        sw[:] = 0
        sw[0] = 1
        r_ind = 0
    else:
        if num_stored < sw.shape[0]:
            r_ind = num_stored
        else:
            r_ind = int(torch.argmin(sw[s_ind:]).item()) + s_ind
        if prev_ind is None:
            sw /= 1 - lr
            sw[r_ind] = lr
        else:
            sw[r_ind] = sw[prev_ind] / (1 - lr)
    sw /= sw.sum()
    if init_min_weight is not None and sw[:num_init].sum() < init_min_weight:
        sw /= init_min_weight + sw[num_init:].sum()
        sw[:num_init] = init_min_weight / num_init
    return r_ind


@dataclass
class SampleMemory:
    """The memory of B sequences."""

    samples: torch.Tensor             # [M, B, C, H, W] classification features (device)
    boxes: torch.Tensor               # [M, B, 4] xywh target boxes in sample pixels (device)
    weights: torch.Tensor             # [B, M] float32 (CPU)
    num_stored: List[int]
    num_init: int
    previous_replace: List[Optional[int]] = field(default_factory=list)

    @classmethod
    def create(cls, init_samples: torch.Tensor, init_boxes: torch.Tensor, size: int) -> "SampleMemory":
        """``init_samples`` [K, B, C, H, W], ``init_boxes`` [K, B, 4] -> memory with ``size`` slots."""
        k, b = init_samples.shape[:2]
        if size < k:
            raise ValueError(f"sample_memory_size={size} is smaller than the {k} initial samples")
        samples = init_samples.new_zeros(size, *init_samples.shape[1:])
        samples[:k] = init_samples
        boxes = init_boxes.new_zeros(size, b, 4)
        boxes[:k] = init_boxes
        weights = torch.zeros(b, size, dtype=torch.float32)
        weights[:, :k] = 1.0 / k  # x.new_ones(1) / x.shape[0]
        return cls(samples, boxes, weights, [k] * b, k, [None] * b)

    def repeat(self, copies: int) -> "SampleMemory":
        """Copy-major repetition for ``copies`` tracker copies of each sequence."""
        return SampleMemory(self.samples.repeat(1, copies, 1, 1, 1), self.boxes.repeat(1, copies, 1),
                            self.weights.repeat(copies, 1), self.num_stored * copies, self.num_init,
                            self.previous_replace * copies)

    def insert(self, b: int, sample: torch.Tensor, box: torch.Tensor, lr: float,
               init_min_weight: Optional[float]) -> int:
        """Store ``sample`` [C, H, W] and ``box`` [4] for sequence ``b``; returns the slot used."""
        r = update_sample_weights(self.weights[b], self.previous_replace[b], self.num_stored[b], self.num_init,
                                  lr, init_min_weight)
        self.previous_replace[b] = r
        self.samples[r, b] = sample
        self.boxes[r, b] = box
        self.num_stored[b] += 1
        return r
