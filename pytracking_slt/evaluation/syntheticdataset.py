"""The synthetic benchmark written by ``slt-synthetic`` (``ltr_slt.dataset.synthetic``).

The generator writes LaSOT layout (``<root>/<class>/<class>-<k>/img/%08d.jpg`` + groundtruth.txt +
full_occlusion.txt / out_of_view.txt) or GOT-10k layout (``<root>/list.txt`` + ``<seq>/%08d.jpg`` +
groundtruth.txt [+ absence.label / cover.label]). The layout is detected; ``root`` may also be a
parent holding a ``test`` (or ``val``) sub-folder. Tag ``'synthetic'`` (generic pytracking rules:
invalid / invisible frames are failures, denominator = all frames); ``target_visible`` and ``cover``
are kept so every convention can be applied. ``sequences=[...]`` or ``split_file=`` restrict the list;
in LaSOT layout the generator's ``testing_set.txt`` is used when present and non-empty (``split='all'``
ignores it).
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence as Seq

from .data import BaseDataset, SequenceList, read_sequences
from .got10kdataset import read_got10k_sequence
from .lasotdataset import read_lasot_sequence
from .specs import SpecError, read_name_list


def _lasot_names(root: str) -> List[str]:
    names = []
    for cls in sorted(os.listdir(root)):
        folder = os.path.join(root, cls)
        if not os.path.isdir(folder):
            continue
        for seq in sorted(os.listdir(folder)):
            if seq.rsplit("-", 1)[0] == cls and os.path.isfile(os.path.join(folder, seq, "groundtruth.txt")):
                names.append(seq)
    return sorted(names, key=lambda n: (n.rsplit("-", 1)[0], int(n.rsplit("-", 1)[1]) if n.rsplit("-", 1)[1].isdigit() else 0))


def detect_layout(root: str) -> tuple:
    """(layout, folder): 'got10k' when a list.txt is present, 'lasot' when class folders are, else error."""
    candidates = [root] + [os.path.join(root, s) for s in ("test", "val")]
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, "list.txt")):
            return "got10k", folder
        if os.path.isdir(folder) and _lasot_names(folder):
            return "lasot", folder
    raise SpecError(f"synthetic set: no GOT-10k layout (list.txt) or LaSOT layout (<class>/<class>-<k>/) found "
                    f"under {root} (write one with `slt-synthetic`)")


class SyntheticDataset(BaseDataset):
    """Synthetic sequences for end-to-end checks (registry name ``synthetic``)."""

    name = "synthetic"

    def __init__(self, root: Optional[str] = None, sequences: Optional[Seq[str]] = None,
                 split_file: Optional[str] = None, split: str = "test") -> None:
        if not root:
            from ltr_slt.admin.environment import env_settings
            root = env_settings().synthetic_path
        if not root:
            raise SpecError("synthetic set root unknown: set SLT_SYNTHETIC_PATH (or pass root=)")
        self.layout, self.base_path = detect_layout(root)
        if self.layout == "got10k":
            names = read_name_list(os.path.join(self.base_path, "list.txt"))
        else:
            names = _lasot_names(self.base_path)
            official = os.path.join(self.base_path, "testing_set.txt")
            if split == "test" and not split_file and not sequences and os.path.isfile(official):
                names = read_name_list(official) or names   # an empty test list (few sequences): use all
        if split_file:
            names = read_name_list(split_file)
        if sequences:
            missing = [s for s in sequences if s not in names]
            if missing:
                raise SpecError(f"synthetic set at {self.base_path}: unknown sequences {missing}")
            names = list(sequences)
        self.sequence_list = names

    def __len__(self) -> int:
        return len(self.sequence_list)

    def get_sequence_list(self) -> SequenceList:
        read = read_got10k_sequence if self.layout == "got10k" else read_lasot_sequence
        return read_sequences(self.sequence_list, lambda n: read(self.base_path, n, "synthetic"), "synthetic")
