"""Evaluation adapter: pytracking's ``initialize`` / ``track`` on :class:`BatchedTransT` (batch 1, greedy).

There is no separate single-sequence implementation: evaluation runs literally the same
``init``/``step`` code as the SLT rollout, so what is trained is what is tested.
"""
from __future__ import annotations

from typing import List

import torch

from pytracking_slt.tracker.base.batched_adapter import BatchedTrackerAdapter
from pytracking_slt.tracker.transt.batched import BatchedTransT, TrackerState

__all__ = ["TransT"]


class TransT(BatchedTrackerAdapter):
    """TransT / SLT-TransT evaluation tracker (the weights decide which one it is)."""

    batched_class = BatchedTransT

    def _init_state(self, image: torch.Tensor, box: List[float]) -> TrackerState:
        return self.tracker.init([image], [box], [box], copies=1)
