"""ltr's video-dataset API, plus the lazy annotation machinery shared by our readers.

API (identical to ``ltr.dataset.BaseVideoDataset`` so samplers accept ours and a workspace's):
``get_name()``, ``get_num_sequences()``, ``is_video_sequence()``, ``has_class_info()``,
``has_occlusion_info()``, ``get_class_list()``, ``get_sequences_in_class(name)``,
``get_sequence_name(seq_id)``, ``get_sequence_info(seq_id)`` -> ``{'bbox': float32 [N, 4] xywh,
'valid': bool [N], 'visible': bool [N], ...}`` and ``get_frames(seq_id, frame_ids, anno=None)`` ->
``(frames, anno_frames, meta)``: HxWx3 RGB uint8 frames, every info key as a list of per-frame
tensors, and an OrderedDict with ``object_class_name``, ``motion_class``, ``major_class``,
``root_class``, ``motion_adverb``.

Cost model (why construction is fast): constructors only *list directories* (and read one
sequence-list file such as GOT-10k's ``list.txt`` or a split file). Annotation files are parsed on
the first ``get_sequence_info(seq_id)`` of a sequence (one read per annotation file plus one
listing of its frame folder to check the frame count) and kept in a bounded LRU cache
(``anno_cache_size`` sequences per process; a 2500-frame LaSOT sequence costs ~50 kB);
``get_sequence_info`` returns copies, so callers may modify them. The cache is dropped
when the dataset is pickled to a DataLoader worker, so workers start empty.

Annotation rules (decided per case; every error names the file and the 1-based line):

* delimiters: comma, tab, spaces or semicolons, mixed freely -> accepted;
* trailing empty lines / a UTF-8 BOM -> ignored; an empty line *between* boxes -> error
  (it would silently shift every later frame);
* a line without exactly 4 numbers, or a token that is not a number -> error;
* ``nan`` / ``inf`` in a box -> that frame is *invalid and invisible*; its box is stored as
  zeros so NaN never reaches IoU / loss arithmetic downstream;
* width or height <= 0 -> invalid and invisible (ltr's ``valid = w > 0 & h > 0``), box kept;
* an empty annotation file -> error (a sequence without a single box cannot be trained on);
* fewer box lines than frames -> the missing tail frames are invalid and invisible (a warning
  names the file); more lines than frames -> the extra boxes are dropped (warning), since a box
  without an image cannot be used;
* flag files (occlusion / out-of-view / absence / cover): missing file -> flags assumed
  "visible" (warning); wrong length -> padded with "not visible" or truncated (warning);
  non-integer token -> error.

Warnings about individual files are logged at WARNING for the first few per process, then at DEBUG
(a dataset with a systematic quirk must not flood the training log).
"""
from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.utils.data

from ltr_slt.data.image_loader import default_image_loader

logger = logging.getLogger(__name__)

ImageLoader = Callable[[str], np.ndarray]
SplitArgType = Union[str, "os.PathLike[str]"]
_SPLIT_RE = re.compile(r"[,;\s]+")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
META_KEYS = ("object_class_name", "motion_class", "major_class", "root_class", "motion_adverb")


_MAX_FILE_WARNINGS = 10
_file_warnings = 0


def _warn_file(message: str, *args: Any) -> None:
    """WARNING for the first few per-file annotation messages of a process, DEBUG afterwards."""
    global _file_warnings
    _file_warnings += 1
    if _file_warnings <= _MAX_FILE_WARNINGS:
        logger.warning(message, *args)
        if _file_warnings == _MAX_FILE_WARNINGS:
            logger.warning("further per-file annotation warnings are logged at DEBUG level")
    else:
        logger.debug(message, *args)


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file (and line)."""


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------
def _read_lines(path: str) -> List[str]:
    try:
        with open(path, "r", encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"annotation file does not exist: {path}") from None
    except UnicodeDecodeError as err:
        raise AnnotationError(f"{path}: not a text file ({err})") from err
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_box_file(path: str) -> np.ndarray:
    """Parse one ``x,y,w,h`` box per line -> float32 [N, 4] (NaN kept; see the module rules)."""
    lines = _read_lines(path)
    if not lines:
        raise AnnotationError(f"{path}: annotation file is empty (no boxes)")
    boxes = np.empty((len(lines), 4), np.float32)
    for i, line in enumerate(lines):
        tokens = [t for t in _SPLIT_RE.split(line.strip()) if t]
        if not tokens:
            raise AnnotationError(f"{path}:{i + 1}: empty line between boxes")
        if len(tokens) != 4:
            raise AnnotationError(f"{path}:{i + 1}: expected 4 numbers (x, y, w, h), got {len(tokens)}: "
                                  f"{line.strip()!r}")
        try:
            boxes[i] = [float(t) for t in tokens]
        except ValueError:
            raise AnnotationError(f"{path}:{i + 1}: not a number in {line.strip()!r}") from None
    return boxes  # [N, 4] xywh


def read_flag_file(path: str) -> np.ndarray:
    """Parse integer flags (one per line, or one comma-separated row as LaSOT) -> int64 [N]."""
    values: List[int] = []
    for i, line in enumerate(_read_lines(path)):
        for token in _SPLIT_RE.split(line.strip()):
            if not token:
                continue
            try:
                number = float(token)
            except ValueError:
                raise AnnotationError(f"{path}:{i + 1}: not an integer flag: {token!r}") from None
            if not np.isfinite(number) or number != int(number):
                raise AnnotationError(f"{path}:{i + 1}: not an integer flag: {token!r}")
            values.append(int(number))
    return np.asarray(values, dtype=np.int64)


def fit_length(values: np.ndarray, length: int, fill: Any, path: str, what: str) -> np.ndarray:
    """Pad (with ``fill``) or truncate the first axis to ``length``, warning with the file name."""
    n = len(values)
    if n == length:
        return values
    if n < length:
        _warn_file("%s: %d %s for %d frames; the last %d frames are treated as not visible",
                       path, n, what, length, length - n)
        pad = np.full((length - n,) + values.shape[1:], fill, dtype=values.dtype)
        return np.concatenate([values, pad], axis=0)
    _warn_file("%s: %d %s but only %d frames; extra entries ignored", path, n, what, length)
    return values[:length]


def read_optional_flags(path: str, length: int, fill_missing: int, pad_value: int, what: str) -> np.ndarray:
    """Flags from ``path`` fitted to ``length``; a missing file -> all ``fill_missing`` (warning)."""
    if not os.path.isfile(path):
        _warn_file("%s missing; assuming the target is visible in every frame", path)
        return np.full(length, fill_missing, dtype=np.int64)
    return fit_length(read_flag_file(path), length, pad_value, path, what)


def boxes_to_info(boxes: np.ndarray, visible: Optional[np.ndarray] = None,
                  **extra: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Boxes [N, 4] (+ optional visibility) -> ltr's info dict with NaN rows zeroed."""
    finite = np.isfinite(boxes).all(axis=1)
    boxes = np.where(finite[:, None], boxes, 0.0).astype(np.float32)
    valid = finite & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    vis = valid if visible is None else (valid & visible.astype(bool))
    info = {"bbox": torch.from_numpy(boxes),                 # [N, 4] float32 xywh
            "valid": torch.from_numpy(valid.copy()),         # [N] bool
            "visible": torch.from_numpy(vis.copy())}         # [N] bool
    info.update(extra)
    return info


def count_frames(folder: str) -> int:
    """Number of image files in a frame folder (one listing; 0 if the folder is missing)."""
    try:
        return sum(1 for e in os.scandir(folder) if e.name.lower().endswith(IMAGE_EXTENSIONS))
    except FileNotFoundError:
        return 0


def list_subdirs(path: str) -> List[str]:
    """Sorted names of the sub-folders of ``path`` (one listing)."""
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir())
    except FileNotFoundError:
        raise FileNotFoundError(f"dataset folder does not exist: {path}") from None


def empty_meta() -> "OrderedDict[str, Optional[str]]":
    return OrderedDict((k, None) for k in META_KEYS)


# --------------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------------
class LRUCache:
    """Tiny bounded mapping (least recently used entry evicted first)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max(0, int(max_size))
        self._data: "OrderedDict[Any, Any]" = OrderedDict()

    def get(self, key: Any) -> Any:
        if key in self._data:
            self._data.move_to_end(key)
            return self._data[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        if self.max_size == 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


# --------------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------------
class BaseVideoDataset(torch.utils.data.Dataset):
    """ltr's BaseVideoDataset interface (see the module docstring)."""

    def __init__(self, name: str, root: str, image_loader: Optional[ImageLoader] = None) -> None:
        self.name = name
        self.root = root
        self.image_loader = image_loader or default_image_loader
        self.sequence_list: List[Any] = []
        self.class_list: List[str] = []

    def __len__(self) -> int:
        return self.get_num_sequences()

    def __getitem__(self, index: int) -> None:
        """Not used (samplers call get_frames); kept for ltr compatibility."""
        return None

    def is_video_sequence(self) -> bool:
        return True

    def is_synthetic_video_dataset(self) -> bool:
        return False

    def is_mot_dataset(self) -> bool:
        return False

    def get_name(self) -> str:
        raise NotImplementedError

    def get_num_sequences(self) -> int:
        return len(self.sequence_list)

    def has_class_info(self) -> bool:
        return False

    def has_occlusion_info(self) -> bool:
        return False

    def has_segmentation_info(self) -> bool:
        return False

    def get_num_classes(self) -> int:
        return len(self.get_class_list())

    def get_class_list(self) -> List[str]:
        return self.class_list

    def get_sequences_in_class(self, class_name: str) -> List[int]:
        raise NotImplementedError

    def get_sequence_name(self, seq_id: int) -> str:
        return str(self.sequence_list[seq_id])

    def get_sequence_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: Optional[Dict] = None
                   ) -> Tuple[List[np.ndarray], Dict[str, List[torch.Tensor]], "OrderedDict[str, Any]"]:
        raise NotImplementedError


class LazyVideoDataset(BaseVideoDataset):
    """Shared lazy reader: subclasses give paths and parse one sequence; caching is done here.

    Subclasses implement ``_sequence_path``, ``_frame_path(seq_id, frame_id)``,
    ``_frames_folder(seq_id)``, ``_read_sequence_info(seq_id)`` (using :meth:`_read_boxes`) and optionally
    ``_read_meta(seq_id)``.
    """

    def __init__(self, name: str, root: str, image_loader: Optional[ImageLoader] = None,
                 anno_cache_size: int = 512, check_frame_count: bool = True) -> None:
        super().__init__(name, root, image_loader)
        self.anno_cache_size = anno_cache_size
        self.check_frame_count = check_frame_count
        self._info_cache = LRUCache(anno_cache_size)
        self._meta_cache = LRUCache(anno_cache_size)

    # pickling for DataLoader workers: ship the sequence list, not the cached annotations
    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_info_cache"] = LRUCache(self.anno_cache_size)
        state["_meta_cache"] = LRUCache(self.anno_cache_size)
        return state

    # -- to implement ------------------------------------------------------------------------
    def _sequence_path(self, seq_id: int) -> str:
        raise NotImplementedError

    def _frames_folder(self, seq_id: int) -> str:
        raise NotImplementedError

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        raise NotImplementedError

    def _read_sequence_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def _read_meta(self, seq_id: int) -> "OrderedDict[str, Any]":
        return empty_meta()

    # -- helpers ------------------------------------------------------------------------------
    def _num_frames_on_disk(self, seq_id: int) -> Optional[int]:
        if not self.check_frame_count:
            return None
        n = count_frames(self._frames_folder(seq_id))
        if n == 0:
            raise FileNotFoundError(f"no frames found in {self._frames_folder(seq_id)} "
                                    f"(sequence {self.get_sequence_name(seq_id)!r} of {self.name})")
        return n

    def _read_boxes(self, seq_id: int, gt_path: str) -> np.ndarray:
        """Boxes of a sequence fitted to its frame count on disk (see the module rules)."""
        boxes = read_box_file(gt_path)
        num_frames = self._num_frames_on_disk(seq_id)
        if num_frames is not None:
            boxes = fit_length(boxes, num_frames, float("nan"), gt_path, "boxes")
        return boxes  # [N, 4]

    def _check_seq_id(self, seq_id: int) -> None:
        if not 0 <= int(seq_id) < len(self.sequence_list):
            raise IndexError(f"{self.name}: seq_id {seq_id} out of range [0, {len(self.sequence_list)})")

    # -- ltr API ------------------------------------------------------------------------------
    def _cached_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        self._check_seq_id(seq_id)
        info = self._info_cache.get(seq_id)
        if info is None:
            info = self._read_sequence_info(seq_id)
            self._info_cache.put(seq_id, info)
        return info

    def get_sequence_info(self, seq_id: int) -> Dict[str, torch.Tensor]:
        info = self._cached_info(seq_id)
        return {k: v.clone() for k, v in info.items()}   # copies: callers may edit boxes in place

    def get_meta(self, seq_id: int) -> "OrderedDict[str, Any]":
        meta = self._meta_cache.get(seq_id)
        if meta is None:
            meta = self._read_meta(seq_id)
            self._meta_cache.put(seq_id, meta)
        return OrderedDict(meta)

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: Optional[Dict] = None
                   ) -> Tuple[List[np.ndarray], Dict[str, List[torch.Tensor]], "OrderedDict[str, Any]"]:
        if anno is None:
            anno = self._cached_info(seq_id)
        num = len(anno["bbox"])
        for f in frame_ids:
            if not 0 <= int(f) < num:
                raise IndexError(f"{self.name}: frame {f} out of range [0, {num}) in sequence "
                                 f"{self.get_sequence_name(seq_id)!r}")
        frames = [self.image_loader(self._frame_path(seq_id, int(f))) for f in frame_ids]
        anno_frames = {key: [value[int(f), ...].clone() for f in frame_ids] for key, value in anno.items()}
        return frames, anno_frames, self.get_meta(seq_id)


def sample_fraction(items: List[Any], data_fraction: Optional[float], seed: int = 0) -> List[Any]:
    """ltr's ``data_fraction``: a fixed random subset (seeded, so every worker agrees)."""
    if data_fraction is None:
        return items
    if not 0 < data_fraction <= 1:
        raise ValueError(f"data_fraction must be in (0, 1], got {data_fraction}")
    rng = np.random.default_rng(seed)
    k = max(1, int(round(len(items) * data_fraction)))
    keep = sorted(rng.choice(len(items), size=k, replace=False).tolist())
    return [items[i] for i in keep]


class DatasetRootError(RuntimeError):
    """A dataset root is not configured or does not exist; the message says how to fix it."""


def resolve_root(root: Optional[os.PathLike], field: str, label: str) -> str:
    """``root`` or, when None, ``env_settings().<field>``; a clear error naming what to set."""
    if root is None or os.fspath(root) == "":
        from ltr_slt.admin.environment import env_settings, how_to_set
        settings = env_settings()
        value = getattr(settings, field, "")
        if not value:
            raise DatasetRootError(
                f"{label} root is not configured: pass root=..., or {how_to_set(field)}, "
                f"or set '{field}' in your pytracking workspace's ltr/admin/local.py "
                f"(run slt-doctor to see what is configured)")
        source = settings.source_of(field)
        root_str = value
    else:
        root_str, source = os.fspath(root), "argument root"
    if not os.path.isdir(root_str):
        raise DatasetRootError(f"{label} root {root_str!r} (from {source}) does not exist or is not a folder "
                               f"(config key / env var for it: '{field}' / SLT_{field.upper()})")
    return root_str
