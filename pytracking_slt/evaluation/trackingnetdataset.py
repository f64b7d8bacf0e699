"""TrackingNet test set: ``<trackingnet_path>/TEST/anno/<video>.txt`` (first-frame box) and
``<trackingnet_path>/TEST/frames/<video>/<k>.jpg`` (0-based, unpadded; sorted by integer stem).
Tag ``'trackingnet'``. Sequence order: sorted video names (pytracking uses ``os.listdir`` order,
which is arbitrary; results are per file so the order never matters for scores).
"""
from __future__ import annotations

import os
from typing import Optional, Sequence as Seq

from .data import BaseDataset, Sequence, SequenceList, read_sequences
from .got10kdataset import sorted_jpgs
from .results_io import check_sequence_name, load_text
from .specs import SpecError


class TrackingNetDataset(BaseDataset):
    """TrackingNet (``sets=('TEST',)`` by default; TRAIN_<k> folders work the same way)."""

    name = "trackingnet"

    def __init__(self, root: Optional[str] = None, sets: Seq[str] = ("TEST",), load_frames: bool = True) -> None:
        if not root:
            from ltr_slt.admin.environment import env_settings
            root = env_settings().trackingnet_path
        if not root:
            raise SpecError("TrackingNet root unknown: set SLT_TRACKINGNET_PATH (the folder holding TEST/)")
        self.base_path = root
        self.load_frames = load_frames
        self.sequence_list = []
        for s in sets:
            anno_dir = os.path.join(root, s, "anno")
            if not os.path.isdir(anno_dir):
                raise SpecError(f"TrackingNet: {anno_dir} not found")
            self.sequence_list += [(s, f[:-4]) for f in sorted(os.listdir(anno_dir)) if f.endswith(".txt")]

    def __len__(self) -> int:
        return len(self.sequence_list)

    def _construct(self, set_name: str, video: str) -> Sequence:
        gt = load_text(os.path.join(self.base_path, set_name, "anno", check_sequence_name(video) + ".txt"), columns=4)
        frames = sorted_jpgs(os.path.join(self.base_path, set_name, "frames", video)) if self.load_frames else []
        return Sequence(video, frames, "trackingnet", gt)

    def get_sequence_list(self) -> SequenceList:
        return read_sequences(self.sequence_list, lambda sv: self._construct(*sv), "trackingnet",
                              name_of=lambda sv: sv[1])
