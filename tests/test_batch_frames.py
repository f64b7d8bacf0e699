"""Copy-major frame mapping of the batched trackers (pytracking_slt.tracker.base.batch)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from pytracking_slt.tracker.base.batch import CopiedBatch, frames_for_batch


@dataclass
class State(CopiedBatch):
    batch_size: int
    copies: int


def _frames(n):
    return [np.full((4, 5, 3), i, np.uint8) for i in range(n)]


def test_one_frame_per_entry_or_per_sequence():
    state = State(batch_size=6, copies=2)
    assert state.num_sequences == 3
    _, idx = frames_for_batch(_frames(6), state, torch.device("cpu"), "T.step")
    assert idx.tolist() == [0, 1, 2, 3, 4, 5]
    buf, idx = frames_for_batch(_frames(3), state, torch.device("cpu"), "T.step")
    assert idx.tolist() == [0, 1, 2, 0, 1, 2] and len(buf) == 3  # copy-major: entry i reads frame i % N


def test_wrong_frame_count_names_the_batch():
    with pytest.raises(ValueError, match=r"T\.step: got 4 frames for a batch of 6 \(3 sequences x 2 copies\)"):
        frames_for_batch(_frames(4), State(batch_size=6, copies=2), torch.device("cpu"), "T.step")
