"""The unit of sequence-level training: one template plus T ordered search frames.

Produced by :class:`ltr_slt.data.sampler.SequenceSampler`, consumed by the SLT rollout.
Images stay full resolution uint8 RGB (clips of one batch differ in size, so batches are lists).
Boxes are pytracking's ``[x, y, w, h]`` (top-left corner + size) in image pixels, float32.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np


@dataclass
class Clip:
    template_images: List[np.ndarray]   # num_template_frames x [H, W, 3] uint8 RGB
    template_boxes: np.ndarray          # [num_template_frames, 4] float32 xywh
    search_images: List[np.ndarray]     # T x [H, W, 3] uint8 RGB (T = num_search_frames)
    search_boxes: np.ndarray            # [T, 4] float32 xywh
    search_visible: np.ndarray          # [T] bool: target visible with a valid box
    dataset: str = ""
    seq_id: int = -1
    template_frame_ids: List[int] = field(default_factory=list)
    search_frame_ids: List[int] = field(default_factory=list)
    mode: str = ""                      # 'sequential' | 'random_interval'
    skipped_bad: Tuple[str, ...] = ()   # unreadable samples redrawn while making this clip (messages)

    @property
    def num_frames(self) -> int:
        """Real clip length (the reward masks frames at or beyond it)."""
        return len(self.search_images)
