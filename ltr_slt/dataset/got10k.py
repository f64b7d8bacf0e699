"""GOT-10k training reader (ltr's ``Got10k`` API and layout).

``root`` is the GOT-10k **train** folder (``got10k_dir``): ``<root>/list.txt`` (one folder name per
line; without it the sub-folders, sorted), ``<root>/<seq>/%08d.jpg`` (1-based),
``groundtruth.txt`` (``x,y,w,h``), ``absence.label`` (0/1 per line), ``cover.label`` (0..8 per
line), ``meta_info.ini`` (``object_class: ...``, ``motion_class: ...``, ``major_class: ...``,
``root_class: ...``, ``motion_adverb: ...``; parsed by key, missing keys -> None).

``visible = valid & not absent & cover > 0``; ``visible_ratio = cover / 8`` (float [N]).

Sequences: ``split`` names / files (see :mod:`ltr_slt.dataset.splits`; split files hold 0-based
indices into ``list.txt`` order, or names), ``seq_ids`` (indices, as ltr), or all. Construction
reads ``list.txt`` (or lists the root) and at most one split file. Unlike ltr, the per-sequence
``meta_info.ini`` files are *not* read up front: meta loads with the sequence, and the class
index (``get_class_list`` / ``get_sequences_in_class``) is built on first use by reading every
sequence's ``meta_info.ini`` once (about a second per 10k sequences on a local disk).
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from ltr_slt.dataset.base_video_dataset import (ImageLoader, LazyVideoDataset, SplitArgType, boxes_to_info,
                                                empty_meta, list_subdirs,
                                                read_optional_flags, resolve_root, sample_fraction)
from ltr_slt.dataset.splits import SplitError, entries_to_indices, got10k_split, read_split_file

logger = logging.getLogger(__name__)

_META_FIELDS = {"object_class": "object_class_name", "motion_class": "motion_class",
                "major_class": "major_class", "root_class": "root_class", "motion_adverb": "motion_adverb"}


def read_meta_info(path: str) -> "OrderedDict[str, Optional[str]]":
    """GOT-10k ``meta_info.ini`` -> ltr's meta OrderedDict (None for anything missing)."""
    meta = empty_meta()
    try:
        with open(path, "r", encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                key = key.strip()
                if sep and key in _META_FIELDS:
                    meta[_META_FIELDS[key]] = value.strip() or None
    except OSError:
        logger.debug("no readable meta_info.ini at %s", path)
    return meta


class Got10k(LazyVideoDataset):
    """GOT-10k (ltr-compatible). ``root=None`` -> ``env_settings().got10k_dir`` (the train folder)."""

    def __init__(self, root: Optional[str] = None, *, split: Optional[SplitArgType] = None,
                 seq_ids: Optional[Sequence[int]] = None, image_loader: Optional[ImageLoader] = None,
                 data_fraction: Optional[float] = None, anno_cache_size: int = 512,
                 check_frame_count: bool = True) -> None:
        root = resolve_root(root, "got10k_dir", "GOT-10k (train folder)")
        super().__init__("GOT10k", root, image_loader, anno_cache_size, check_frame_count)
        if split is not None and seq_ids is not None:
            raise ValueError("Got10k: give split or seq_ids, not both")
        all_sequences = self._read_sequence_list(root)
        if split is not None:
            ids = got10k_split(split, all_sequences)
        elif seq_ids is not None:
            ids = entries_to_indices(list(seq_ids), all_sequences, "Got10k seq_ids")
        else:
            ids = list(range(len(all_sequences)))
        self.sequence_list = sample_fraction([all_sequences[i] for i in ids], data_fraction)
        if not self.sequence_list:
            raise SplitError(f"GOT-10k at {root}: no sequences selected")
        self._class_index: Optional[Dict[str, List[int]]] = None

    @staticmethod
    def _read_sequence_list(root: str) -> List[str]:
        list_file = os.path.join(root, "list.txt")
        if os.path.isfile(list_file):
            names = read_split_file(list_file)
        else:
            names = list_subdirs(root)
        if not names:
            raise SplitError(f"GOT-10k at {root}: no sequences (empty list.txt and no sequence folders); "
                             f"got10k_dir must be the GOT-10k train folder")
        return names

    def get_name(self) -> str:
        return "got10k"

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def _build_class_index(self) -> Dict[str, List[int]]:
        if self._class_index is None:
            index: Dict[str, List[int]] = {}
            for i in range(len(self.sequence_list)):
                cls = self.get_meta(i)["object_class_name"]
                if cls is not None:
                    index.setdefault(cls, []).append(i)
            self._class_index = index
        return self._class_index

    def get_class_list(self) -> List[str]:
        return sorted(self._build_class_index())

    @property
    def class_list(self) -> List[str]:  # type: ignore[override]
        return self.get_class_list()

    @class_list.setter
    def class_list(self, value: List[str]) -> None:   # base __init__ assigns []; the index is lazy
        pass

    def get_sequences_in_class(self, class_name: str) -> List[int]:
        return list(self._build_class_index().get(class_name, []))

    def _sequence_path(self, seq_id: int) -> str:
        return os.path.join(self.root, self.sequence_list[seq_id])

    def _frames_folder(self, seq_id: int) -> str:
        return self._sequence_path(seq_id)

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.path.join(self._sequence_path(seq_id), f"{frame_id + 1:08d}.jpg")

    def _read_sequence_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        seq_path = self._sequence_path(seq_id)
        gt_path = os.path.join(seq_path, "groundtruth.txt")
        boxes = self._read_boxes(seq_id, gt_path)
        n = len(boxes)
        absent = read_optional_flags(os.path.join(seq_path, "absence.label"), n, 0, 1, "absence flags")
        cover = read_optional_flags(os.path.join(seq_path, "cover.label"), n, 8, 0, "cover levels")
        visible_ratio = torch.from_numpy(np.clip(cover, 0, 8).astype(np.float32) / 8.0)   # [N]
        return boxes_to_info(boxes, (absent == 0) & (cover > 0), visible_ratio=visible_ratio)

    def _read_meta(self, seq_id: int) -> "OrderedDict[str, Any]":
        return read_meta_info(os.path.join(self._sequence_path(seq_id), "meta_info.ini"))
