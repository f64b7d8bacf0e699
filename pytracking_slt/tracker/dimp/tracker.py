"""Evaluation adapter: pytracking's ``initialize`` / ``track`` on :class:`BatchedDiMP` (batch 1, greedy).

There is no separate single-sequence implementation: evaluation runs the very ``init`` / ``step``
code of the SLT rollouts. The parameters decide the family member: DiMP-50 (``dimp50``), SuperDiMP
(``super_dimp``), TrDiMP (``trdimp``; the network carries ``classifier.transformer``), SLT-TrDiMP.
"""
from __future__ import annotations

from typing import List

import torch

from pytracking_slt.tracker.base.batched_adapter import BatchedTrackerAdapter
from pytracking_slt.tracker.dimp.batched import BatchedDiMP, DiMPState, DiMPStepOutput

__all__ = ["DiMP"]


class DiMP(BatchedTrackerAdapter):
    """DiMP-family evaluation tracker (pytracking ``DiMP`` / TransformerTrack ``TrDiMP`` behaviour)."""

    batched_class = BatchedDiMP

    def _init_state(self, image: torch.Tensor, box: List[float]) -> DiMPState:
        return self.tracker.init([image], [box], copies=1, seeds=[int(self.params.get("seed", 0))])

    def _target_bbox(self, out: DiMPStepOutput) -> List[float]:
        if self.params.get("output_not_found_box", False) and out.flags[0] == "not_found":
            return [-1.0, -1.0, -1.0, -1.0]
        return super()._target_bbox(out)
