"""LaSOT training reader (ltr's ``Lasot`` API and layout).

Layout: ``<root>/<class>/<class>-<k>/img/%08d.jpg`` (1-based: frame id f -> file f + 1),
``groundtruth.txt`` (``x,y,w,h`` per frame), ``full_occlusion.txt`` and ``out_of_view.txt``
(one 0/1 flag per frame, usually a single comma-separated row).

``visible = valid & not fully occluded & not out of view``; ``valid = finite & w > 0 & h > 0``.
Meta: ``object_class_name`` = the class folder; the other meta keys are None (as in ltr).

Sequences: ``split`` (see :mod:`ltr_slt.dataset.splits`), ``vid_ids`` (``<class>-<k>`` for every
class and every k, as ltr), an explicit ``sequences=[names]`` list, or (none given) every sequence
folder on disk. Construction lists the root and each class folder (about 71 listings for the full
dataset) and reads at most one split file; annotations are parsed lazily (see base_video_dataset).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import torch

from ltr_slt.dataset.base_video_dataset import (ImageLoader, LazyVideoDataset, SplitArgType, boxes_to_info,
                                                list_subdirs,
                                                read_optional_flags, resolve_root, sample_fraction)
from ltr_slt.dataset.splits import SplitError, lasot_split, select_names


def _class_of(name: str) -> str:
    return name.rsplit("-", 1)[0]


class Lasot(LazyVideoDataset):
    """LaSOT (ltr-compatible). ``root=None`` -> ``env_settings().lasot_dir``."""

    def __init__(self, root: Optional[str] = None, *, split: Optional[SplitArgType] = None,
                 vid_ids: Optional[Sequence[int]] = None, sequences: Optional[Sequence[str]] = None,
                 image_loader: Optional[ImageLoader] = None, data_fraction: Optional[float] = None,
                 anno_cache_size: int = 512, check_frame_count: bool = True) -> None:
        root = resolve_root(root, "lasot_dir", "LaSOT")
        super().__init__("LaSOT", root, image_loader, anno_cache_size, check_frame_count)
        if sum(x is not None for x in (split, vid_ids, sequences)) > 1:
            raise ValueError("Lasot: give at most one of split, vid_ids, sequences")
        self.class_list = list_subdirs(root)
        on_disk: List[str] = []
        for cls in self.class_list:
            on_disk += [n for n in list_subdirs(os.path.join(root, cls)) if _class_of(n) == cls]
        if split is not None:
            names = select_names(lasot_split(split, root), on_disk, f"LaSOT split {os.fspath(split)!r}")
        elif vid_ids is not None:
            names = select_names([f"{c}-{v}" for c in self.class_list for v in vid_ids], on_disk,
                                 f"LaSOT vid_ids {list(vid_ids)}")
        elif sequences is not None:
            names = select_names(list(sequences), on_disk, "LaSOT sequences")
        else:
            names = on_disk
        if not names:
            raise SplitError(f"LaSOT at {root}: no sequences found (expected <class>/<class>-<k>/ folders)")
        self.sequence_list = sample_fraction(names, data_fraction)
        self.seq_per_class: Dict[str, List[int]] = {}
        for i, name in enumerate(self.sequence_list):
            self.seq_per_class.setdefault(_class_of(name), []).append(i)

    def get_name(self) -> str:
        return "lasot"

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def get_sequences_in_class(self, class_name: str) -> List[int]:
        return list(self.seq_per_class.get(class_name, []))

    def _sequence_path(self, seq_id: int) -> str:
        name = self.sequence_list[seq_id]
        return os.path.join(self.root, _class_of(name), name)

    def _frames_folder(self, seq_id: int) -> str:
        return os.path.join(self._sequence_path(seq_id), "img")

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.path.join(self._sequence_path(seq_id), "img", f"{frame_id + 1:08d}.jpg")

    def _read_sequence_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        seq_path = self._sequence_path(seq_id)
        gt_path = os.path.join(seq_path, "groundtruth.txt")
        boxes = self._read_boxes(seq_id, gt_path)
        n = len(boxes)
        occluded = read_optional_flags(os.path.join(seq_path, "full_occlusion.txt"), n, 0, 1, "occlusion flags")
        out_of_view = read_optional_flags(os.path.join(seq_path, "out_of_view.txt"), n, 0, 1, "out-of-view flags")
        return boxes_to_info(boxes, (occluded == 0) & (out_of_view == 0))

    def _read_meta(self, seq_id: int) -> "OrderedDict[str, Any]":
        meta = super()._read_meta(seq_id)
        meta["object_class_name"] = _class_of(self.sequence_list[seq_id])
        return meta
