"""GOT-10k val / test (and 'ltrval') in the official layout.

``<got10k_path>/<split>/list.txt`` names the sequences; each folder holds ``%08d.jpg`` frames (all
``*.jpg`` sorted by integer stem, as pytracking), ``groundtruth.txt`` (``x,y,w,h``; the test split
has only the first-frame box), and for train/val ``cover.label``, ``absence.label`` and
``meta_info.ini`` (``resolution: (W, H)``). Tag ``'got10k'``; ``target_visible`` stays None exactly as
in pytracking (so pytracking-convention numbers match); ``cover`` and ``image_size`` feed the GOT-10k
toolkit convention. ``ltrval``: entries of ``<dataspec_path>/got10k_val_split.txt`` (indices into
the train ``list.txt``).
"""
from __future__ import annotations

import ast
import os
import re
from typing import List, Optional, Tuple

import numpy as np

from .data import BaseDataset, Sequence, SequenceList, read_sequences
from .results_io import check_sequence_name, load_text, load_vector
from .specs import SpecError, read_name_list


def sorted_jpgs(folder: str) -> List[str]:
    """``*.jpg`` in a folder sorted by integer stem (pytracking's order)."""
    if not os.path.isdir(folder):
        raise SpecError(f"frame folder {folder} not found")
    names = [f for f in os.listdir(folder) if f.endswith(".jpg")]
    try:
        names.sort(key=lambda f: int(f[:-4]))
    except ValueError as err:
        raise SpecError(f"{folder}: frame names must be integers ({err})") from err
    return [os.path.join(folder, f) for f in names]


def read_resolution(meta_path: str) -> Optional[Tuple[int, int]]:
    """``resolution: (W, H)`` from a GOT-10k ``meta_info.ini`` (None when absent / unparsable)."""
    if not os.path.isfile(meta_path):
        return None
    with open(meta_path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"\s*resolution\s*:\s*(.+)$", line)
            if m:
                try:
                    w, h = ast.literal_eval(m.group(1).strip())
                    return int(w), int(h)
                except (ValueError, SyntaxError, TypeError):
                    return None
    return None


def read_got10k_sequence(base: str, name: str, dataset_tag: str = "got10k") -> Sequence:
    folder = os.path.join(base, check_sequence_name(name))
    gt_path = os.path.join(folder, "groundtruth.txt")
    if not os.path.isfile(gt_path):
        raise SpecError(f"GOT-10k sequence {name}: {gt_path} not found")
    gt = load_text(gt_path, columns=4)
    frames = sorted_jpgs(folder)
    cover = None
    cover_path = os.path.join(folder, "cover.label")
    if os.path.isfile(cover_path):
        cover = load_vector(cover_path)
    target_visible = None
    if dataset_tag != "got10k":   # the synthetic set in GOT-10k layout keeps its visibility
        visible = np.ones(gt.shape[0], dtype=bool)
        absence_path = os.path.join(folder, "absence.label")
        if os.path.isfile(absence_path):
            visible &= load_vector(absence_path) == 0
        if cover is not None:
            visible &= cover > 0
        target_visible = visible
    return Sequence(name, frames, dataset_tag, gt, cover=cover, target_visible=target_visible,
                    image_size=read_resolution(os.path.join(folder, "meta_info.ini")))


class GOT10KDataset(BaseDataset):
    """GOT-10k evaluation split: 'val', 'test' or 'ltrval'."""

    def __init__(self, split: str, root: Optional[str] = None) -> None:
        if split not in ("val", "test", "ltrval"):
            raise ValueError(f"GOT-10k split must be 'val', 'test' or 'ltrval', got {split!r}")
        from ltr_slt.admin.environment import env_settings
        env = env_settings()
        root = root or env.got10k_path
        if not root:
            raise SpecError("GOT-10k root unknown: set SLT_GOT10K_PATH (the folder holding train/ val/ test/)")
        self.split = split
        self.name = "got10k_" + split
        self.base_path = os.path.join(root, split if split in ("val", "test") else "train")
        list_path = os.path.join(self.base_path, "list.txt")
        if not os.path.isfile(list_path):
            raise SpecError(f"GOT-10k {split}: {list_path} not found")
        names = read_name_list(list_path)
        if split == "ltrval":
            spec = os.path.join(env.dataspec_path, "got10k_val_split.txt") if env.dataspec_path else ""
            if not spec or not os.path.isfile(spec):
                raise SpecError("GOT-10k ltrval needs <dataspec_path>/got10k_val_split.txt (set SLT_DATASPEC_PATH "
                                "to a pytracking ltr/data_specs folder)")
            names = [names[int(i)] for i in read_name_list(spec)]
        self.sequence_list = names

    def __len__(self) -> int:
        return len(self.sequence_list)

    def get_sequence_list(self) -> SequenceList:
        return read_sequences(self.sequence_list, lambda n: read_got10k_sequence(self.base_path, n), self.name)
