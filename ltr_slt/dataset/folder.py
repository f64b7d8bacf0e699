"""Generic folder dataset: one folder per sequence with its frames and a ``groundtruth.txt``.

Layout: ``<root>/<sequence>/groundtruth.txt`` plus frames either in ``<root>/<sequence>/img/`` or
directly in ``<root>/<sequence>/`` (any of .jpg/.jpeg/.png/.bmp/...; ordered by the numbers in the
file names, so ``1.jpg, 2.jpg, 10.jpg`` and ``00000001.jpg`` both work). Frame id ``i`` is the
i-th image in that order. Optional per-frame flag files are honoured when present: LaSOT's
``full_occlusion.txt`` / ``out_of_view.txt`` and GOT-10k's ``absence.label`` / ``cover.label``.
Box rules: see :mod:`ltr_slt.dataset.base_video_dataset`.

Use it for your own videos or for LaSOT-test-like dumps. Construction lists ``root`` only (every
sub-folder is a sequence unless ``sequences`` / ``split`` narrows it); the frame listing and the
annotation of a sequence are read on its first ``get_sequence_info`` and cached.
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict  # noqa: F401  (type comments)
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ltr_slt.dataset.base_video_dataset import (IMAGE_EXTENSIONS, ImageLoader, LazyVideoDataset, LRUCache,
                                                SplitArgType, boxes_to_info, fit_length, list_subdirs,
                                                read_flag_file, sample_fraction)
from ltr_slt.dataset.splits import SplitError, read_split_file, select_names

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> List[Any]:
    """Sort key treating digit runs as numbers (``2.jpg`` before ``10.jpg``)."""
    return [int(t) if t.isdigit() else t.lower() for t in _DIGITS.split(name)]


class FolderDataset(LazyVideoDataset):
    """Sequences = sub-folders of ``root`` holding frames and ``groundtruth.txt``."""

    def __init__(self, root: str, *, name: str = "folder", sequences: Optional[Sequence[str]] = None,
                 split: Optional[SplitArgType] = None, gt_file: str = "groundtruth.txt",
                 image_loader: Optional[ImageLoader] = None, data_fraction: Optional[float] = None,
                 anno_cache_size: int = 512) -> None:
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"FolderDataset root {root!r} does not exist or is not a folder")
        super().__init__(name, root, image_loader, anno_cache_size, check_frame_count=True)
        if sequences is not None and split is not None:
            raise ValueError("FolderDataset: give sequences or split, not both")
        on_disk = list_subdirs(root)
        if split is not None:
            if not os.path.isfile(os.fspath(split)):
                raise SplitError(f"FolderDataset split must be a file with one sequence name per line; "
                                 f"{os.fspath(split)!r} does not exist")
            names = select_names(read_split_file(os.fspath(split)), on_disk, f"split file {os.fspath(split)}")
        elif sequences is not None:
            names = select_names(list(sequences), on_disk, "FolderDataset sequences")
        else:
            names = on_disk
        if not names:
            raise SplitError(f"FolderDataset at {root}: no sequence folders")
        self.sequence_list = sample_fraction(names, data_fraction)
        self.gt_file = gt_file
        self._short_name = name
        self._frame_cache = LRUCache(anno_cache_size)

    def __getstate__(self) -> Dict[str, Any]:
        state = super().__getstate__()
        state["_frame_cache"] = LRUCache(self.anno_cache_size)
        return state

    def get_name(self) -> str:
        return self._short_name

    def _sequence_path(self, seq_id: int) -> str:
        return os.path.join(self.root, self.sequence_list[seq_id])

    def _frames_folder(self, seq_id: int) -> str:
        img = os.path.join(self._sequence_path(seq_id), "img")
        return img if os.path.isdir(img) else self._sequence_path(seq_id)

    def _frame_listing(self, seq_id: int) -> Tuple[str, List[str]]:
        """(frame folder, naturally sorted frame file names), listed once per sequence and cached."""
        listing = self._frame_cache.get(seq_id)
        if listing is None:
            folder = self._frames_folder(seq_id)
            files = sorted((e.name for e in os.scandir(folder)
                            if e.name.lower().endswith(IMAGE_EXTENSIONS) and e.is_file()), key=natural_key)
            if not files:
                raise FileNotFoundError(f"no frames found in {folder} (sequence {self.sequence_list[seq_id]!r})")
            listing = (folder, files)
            self._frame_cache.put(seq_id, listing)
        return listing

    def _num_frames_on_disk(self, seq_id: int) -> Optional[int]:
        return len(self._frame_listing(seq_id)[1])

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        folder, files = self._frame_listing(seq_id)
        return os.path.join(folder, files[frame_id])

    def _read_sequence_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        seq_path = self._sequence_path(seq_id)
        gt_path = os.path.join(seq_path, self.gt_file)
        boxes = self._read_boxes(seq_id, gt_path)
        n = len(boxes)
        visible = np.ones(n, bool)
        extra: Dict[str, torch.Tensor] = {}
        for filename, hidden_when in (("full_occlusion.txt", 1), ("out_of_view.txt", 1), ("absence.label", 1)):
            path = os.path.join(seq_path, filename)
            if os.path.isfile(path):
                flags = fit_length(read_flag_file(path), n, hidden_when, path, "flags")
                visible &= flags != hidden_when
        cover_path = os.path.join(seq_path, "cover.label")
        if os.path.isfile(cover_path):
            cover = fit_length(read_flag_file(cover_path), n, 0, cover_path, "cover levels")
            visible &= cover > 0
            extra["visible_ratio"] = torch.from_numpy(np.clip(cover, 0, 8).astype(np.float32) / 8.0)
        return boxes_to_info(boxes, visible, **extra)

    def _read_meta(self, seq_id: int) -> "OrderedDict[str, Any]":
        return super()._read_meta(seq_id)   # no class information in a plain folder
