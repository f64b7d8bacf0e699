"""TrackingNet training reader (ltr's ``TrackingNet`` API and layout).

Layout: ``<root>/TRAIN_<s>/anno/<video>.txt`` (``x,y,w,h`` per frame) and
``<root>/TRAIN_<s>/frames/<video>/<f>.jpg`` with **0-based, unpadded** frame numbers.
No occlusion information: ``visible = valid``.

``set_ids``: the ``TRAIN_<s>`` chunks to use; default every ``TRAIN_<s>`` folder present (ltr
defaults to 0..11 and fails on a partial download). Sequences are ``(set_id, video)`` pairs in
set order, videos sorted. Construction lists one ``anno`` folder per set. Classes come from
``trackingnet_classmap.txt`` in the data-spec folder when available (read once, on first use),
else ``'Unknown'`` as in ltr.
"""
from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from ltr_slt.dataset.base_video_dataset import (ImageLoader, LazyVideoDataset, boxes_to_info,
                                                resolve_root, sample_fraction)
from ltr_slt.dataset.splits import SplitError, data_specs_dir

logger = logging.getLogger(__name__)
_SET_RE = re.compile(r"^TRAIN_(\d+)$")


class TrackingNet(LazyVideoDataset):
    """TrackingNet (ltr-compatible). ``root=None`` -> ``env_settings().trackingnet_dir``."""

    def __init__(self, root: Optional[str] = None, *, set_ids: Optional[Sequence[int]] = None,
                 image_loader: Optional[ImageLoader] = None, data_fraction: Optional[float] = None,
                 anno_cache_size: int = 512, check_frame_count: bool = True) -> None:
        root = resolve_root(root, "trackingnet_dir", "TrackingNet")
        super().__init__("TrackingNet", root, image_loader, anno_cache_size, check_frame_count)
        if set_ids is None:
            found = sorted(int(m.group(1)) for n in os.listdir(root) if (m := _SET_RE.match(n))
                           and os.path.isdir(os.path.join(root, n)))
            if not found:
                raise SplitError(f"TrackingNet at {root}: no TRAIN_<k> folders found")
            set_ids = found
        self.set_ids = [int(s) for s in set_ids]
        sequences: List[Tuple[int, str]] = []
        for s in self.set_ids:
            anno_dir = os.path.join(root, f"TRAIN_{s}", "anno")
            if not os.path.isdir(anno_dir):
                raise SplitError(f"TrackingNet set {s}: {anno_dir} does not exist (set_ids={self.set_ids})")
            videos = sorted(n[:-4] for n in os.listdir(anno_dir) if n.endswith(".txt"))
            sequences += [(s, v) for v in videos]
        if not sequences:
            raise SplitError(f"TrackingNet at {root}: no anno/<video>.txt files in sets {self.set_ids}")
        self.sequence_list = sample_fraction(sequences, data_fraction)
        self._class_map: Optional[Dict[str, str]] = None

    def get_name(self) -> str:
        return "trackingnet"

    def has_class_info(self) -> bool:
        return True

    def get_sequence_name(self, seq_id: int) -> str:
        return self.sequence_list[seq_id][1]

    def _classes(self) -> Dict[str, str]:
        if self._class_map is None:
            self._class_map = {}
            specs = data_specs_dir()
            path = os.path.join(specs, "trackingnet_classmap.txt") if specs else ""
            if path and os.path.isfile(path):
                with open(path, "r", encoding="utf-8") as f:
                    for line in f:
                        parts = line.rstrip("\n").split("\t")
                        if len(parts) >= 2:
                            self._class_map[parts[0]] = parts[1]
        return self._class_map

    def get_class_list(self) -> List[str]:
        return sorted(set(self._classes().get(v, "Unknown") for _, v in self.sequence_list))

    def get_sequences_in_class(self, class_name: str) -> List[int]:
        classes = self._classes()
        return [i for i, (_, v) in enumerate(self.sequence_list) if classes.get(v, "Unknown") == class_name]

    def _set_dir(self, seq_id: int) -> str:
        return os.path.join(self.root, f"TRAIN_{self.sequence_list[seq_id][0]}")

    def _sequence_path(self, seq_id: int) -> str:
        return self._frames_folder(seq_id)

    def _frames_folder(self, seq_id: int) -> str:
        return os.path.join(self._set_dir(seq_id), "frames", self.sequence_list[seq_id][1])

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.path.join(self._frames_folder(seq_id), f"{frame_id}.jpg")

    def _read_sequence_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        gt_path = os.path.join(self._set_dir(seq_id), "anno", self.sequence_list[seq_id][1] + ".txt")
        boxes = self._read_boxes(seq_id, gt_path)
        return boxes_to_info(boxes)

    def _read_meta(self, seq_id: int) -> "OrderedDict[str, Any]":
        meta = super()._read_meta(seq_id)
        meta["object_class_name"] = self._classes().get(self.sequence_list[seq_id][1], "Unknown")
        return meta
