"""Evaluation sequences with pytracking's attribute names (``Sequence``, ``SequenceList``).

A pytracking user (and pytracking's own analysis code) reads ``seq.name``, ``seq.frames`` (image
paths), ``seq.dataset`` (the short tag the analysis branches on: 'lasot', 'uav', 'got10k', ...),
``seq.ground_truth_rect`` (float64 [N, 4] x, y, w, h), ``seq.target_visible`` (bool [N] or None),
``seq.object_class`` and ``seq.init_info()`` / ``seq.frame_info(k)``; ours has the same names and
semantics (first-frame init data ``{'init_bbox': [x, y, w, h]}``; a later init frame trims the
sequence so that it becomes frame 0). Extra fields are optional and used by the GOT-10k convention
(``cover``, ``image_size``) and by the attribute breakdown (``attributes``).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence as Seq, Tuple, Union

import numpy as np

logger = logging.getLogger(__name__)


class Sequence:
    """One evaluation sequence (single object, boxes)."""

    def __init__(self, name: str, frames: List[str], dataset: str, ground_truth_rect: np.ndarray,
                 init_data: Optional[Dict[int, Dict[str, Any]]] = None, object_class: Optional[str] = None,
                 target_visible: Optional[np.ndarray] = None, cover: Optional[np.ndarray] = None,
                 image_size: Optional[Tuple[int, int]] = None, attributes: Optional[List[str]] = None) -> None:
        self.name = name
        self.frames = list(frames)
        self.dataset = dataset
        gt = np.asarray(ground_truth_rect, dtype=np.float64)
        if gt.ndim == 1 and gt.size == 4:
            gt = gt.reshape(1, 4)
        if gt.ndim != 2 or gt.shape[1] != 4:
            raise ValueError(f"sequence {name}: ground_truth_rect must be [N, 4], got shape {list(gt.shape)}")
        self.ground_truth_rect = gt
        self.target_visible = None if target_visible is None else np.asarray(target_visible).astype(bool)
        self.cover = None if cover is None else np.asarray(cover)
        self.object_class = object_class
        self.image_size = image_size          # (width, height) when known (GOT-10k meta_info.ini)
        self.attributes = attributes
        self.object_ids = None
        self.multiobj_mode = False
        self.ground_truth_seg = None
        self.init_data = self._construct_init_data(init_data)
        self._ensure_start_frame()

    def _construct_init_data(self, init_data: Optional[Dict[int, Dict[str, Any]]]) -> Dict[int, Dict[str, Any]]:
        if init_data is not None:
            return init_data
        if self.ground_truth_rect.shape[0] == 0:
            raise ValueError(f"sequence {self.name}: empty ground truth (no first-frame box)")
        return {0: {"bbox": list(self.ground_truth_rect[0, :])}}

    def _ensure_start_frame(self) -> None:
        start = min(self.init_data.keys())
        if start > 0:
            self.frames = self.frames[start:]
            self.ground_truth_rect = self.ground_truth_rect[start:]
            if self.target_visible is not None:
                self.target_visible = self.target_visible[start:]
            if self.cover is not None:
                self.cover = self.cover[start:]
            self.init_data = {k - start: v for k, v in self.init_data.items()}

    def __len__(self) -> int:
        return len(self.frames)

    def init_info(self) -> Dict[str, Any]:
        """What ``tracker.initialize`` receives: ``{'init_bbox': [x, y, w, h]}``."""
        return self.frame_info(0)

    def frame_info(self, frame_num: int) -> Dict[str, Any]:
        """Per-frame init data as ``init_<key>`` entries (empty for ordinary frames)."""
        info: Dict[str, Any] = OrderedDict()
        for key, value in self.init_data.get(frame_num, {}).items():
            info["init_" + key] = value
        return info

    def init_bbox(self, frame_num: int = 0) -> Optional[List[float]]:
        return self.init_data.get(frame_num, {}).get("bbox")

    def __repr__(self) -> str:
        return (f"Sequence(name={self.name!r}, dataset={self.dataset!r}, frames={len(self.frames)}, "
                f"gt_rows={self.ground_truth_rect.shape[0]})")


class UnreadableSequenceError(ValueError):
    """A sequence's annotation files could not be read (the message names the file)."""


class UnreadableSequence(Sequence):
    """Stands in for a sequence whose files could not be read, so one bad file fails one sequence.

    The runner reports it as a failed sequence and goes on with the others; anything that needs its
    annotation (``ground_truth_rect``, ``init_info``) raises :class:`UnreadableSequenceError` with the
    original reason instead of silently using an empty array.
    """

    def __init__(self, name: str, dataset: str, error: str) -> None:  # noqa: D107 - no Sequence.__init__
        self.name = name
        self.frames: List[str] = []
        self.dataset = dataset
        self.error = error
        self.target_visible = None
        self.cover = None
        self.object_class = None
        self.image_size = None
        self.attributes = None
        self.object_ids = None
        self.multiobj_mode = False
        self.ground_truth_seg = None
        self.init_data: Dict[int, Dict[str, Any]] = {}

    @property
    def ground_truth_rect(self) -> np.ndarray:  # type: ignore[override]
        raise UnreadableSequenceError(self.error)

    def init_info(self) -> Dict[str, Any]:
        raise UnreadableSequenceError(self.error)

    def __repr__(self) -> str:
        return f"UnreadableSequence(name={self.name!r}, dataset={self.dataset!r}, error={self.error!r})"


def read_sequences(names: Iterable[Any], reader: Callable[[Any], Sequence], dataset: str,
                   name_of: Callable[[Any], str] = str) -> "SequenceList":
    """``[reader(n) for n in names]``, but a sequence whose files cannot be read (bad or missing
    annotation, unsafe name) becomes an :class:`UnreadableSequence` with a warning naming the file,
    so a benchmark run fails that sequence only."""
    out = SequenceList()
    for item in names:
        try:
            out.append(reader(item))
        except (ValueError, OSError) as err:  # our readers raise ValueError subclasses naming the file
            name = name_of(item)
            message = f"sequence {name}: {err}" if name not in str(err) else str(err)
            logger.warning("%s dataset: cannot read %s", dataset, message)
            out.append(UnreadableSequence(name, dataset, message))
    return out


class SequenceList(list):
    """A list of sequences indexable by name (str), position (int), list of positions or slice."""

    def __getitem__(self, item: Union[str, int, slice, Iterable[int]]) -> Any:  # type: ignore[override]
        if isinstance(item, str):
            for seq in self:
                if seq.name == item:
                    return seq
            raise IndexError(f"sequence name {item!r} not in the list ({len(self)} sequences)")
        if isinstance(item, int):
            return super().__getitem__(item)
        if isinstance(item, (tuple, list)):
            return SequenceList([super(SequenceList, self).__getitem__(i) for i in item])
        return SequenceList(super().__getitem__(item))

    def __add__(self, other: Seq[Sequence]) -> "SequenceList":  # type: ignore[override]
        return SequenceList(list(self) + list(other))

    def copy(self) -> "SequenceList":
        return SequenceList(list(self))

    @property
    def names(self) -> List[str]:
        return [s.name for s in self]


class BaseDataset:
    """Base of the evaluation datasets: ``get_sequence_list()`` and ``len``."""

    name = "dataset"

    def __len__(self) -> int:
        raise NotImplementedError

    def get_sequence_list(self) -> SequenceList:
        raise NotImplementedError
