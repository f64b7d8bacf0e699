"""LaSOT test set (protocol II, 280 sequences) in its official layout.

``<lasot_path>/<class>/<class>-<k>/groundtruth.txt`` (``x,y,w,h``), ``full_occlusion.txt`` and
``out_of_view.txt`` (one comma-separated row of 0/1 flags), ``img/%08d.jpg`` for 1..N with N = the
number of GT lines. ``target_visible = not fully occluded and not out of view``; tag ``'lasot'``.

Sequence names, first match wins: ``sequences=[...]``; ``split_file=`` / ``$SLT_LASOT_SPEC`` (one
name per line); ``<lasot_path>/testing_set.txt`` (shipped with the official download);
the enclosing pytracking workspace's ``lasotdataset.py`` (read with ast). With ``split='train'``:
``training_set.txt`` (or the workspace's data_specs ``lasot_train_split.txt``).
Attributes (per-attribute breakdown): ``<lasot_path>/../LaSOT_attributes.json`` style files are
looked up by :mod:`pytracking_slt.analysis.attributes`.
"""
from __future__ import annotations

import logging
import os
from typing import List, Optional, Sequence as Seq

import numpy as np

from .data import BaseDataset, Sequence, SequenceList, read_sequences
from .results_io import check_sequence_name, load_text, load_vector
from .specs import SpecError, literal_list_in_function, read_name_list, spec_from_env, workspace_dataset_file

logger = logging.getLogger(__name__)


def _root(root: Optional[str]) -> str:
    if root:
        return root
    from ltr_slt.admin.environment import env_settings
    path = env_settings().lasot_path
    if not path:
        raise SpecError("LaSOT root unknown: set SLT_LASOT_PATH (or lasot_path in the SLT config file / the "
                        "workspace's pytracking/evaluation/local.py), or pass root=")
    return path


def lasot_test_names(root: str, split_file: Optional[str] = None, split: str = "test") -> List[str]:
    """The sequence names of the LaSOT test (or train) split; see the module docstring for the order."""
    tried = []
    explicit = split_file or spec_from_env("lasot")
    if explicit:
        if not os.path.isfile(explicit):
            raise SpecError(f"LaSOT split file {explicit} does not exist")
        return read_name_list(explicit)
    official = os.path.join(root, "testing_set.txt" if split == "test" else "training_set.txt")
    if os.path.isfile(official):
        return read_name_list(official)
    tried.append(f"{official} (not found)")
    if split == "test":
        ws_file = workspace_dataset_file("lasotdataset.py")
        if ws_file:
            names = [n for n in literal_list_in_function(ws_file, "_get_sequence_list") if isinstance(n, str)]
            if names:
                return names
            tried.append(f"{ws_file} (no names)")
        else:
            tried.append("pytracking workspace lasotdataset.py (no workspace found)")
    else:
        from ltr_slt.admin.environment import env_settings
        specs = env_settings().dataspec_path
        candidate = os.path.join(specs, "lasot_train_split.txt") if specs else ""
        if candidate and os.path.isfile(candidate):
            return read_name_list(candidate)
        tried.append(f"{candidate or 'dataspec_path/lasot_train_split.txt'} (not found)")
    raise SpecError(f"LaSOT {split} sequence list not found; tried: " + "; ".join(tried)
                    + ". Pass split_file=<file with one name per line> or set SLT_LASOT_SPEC.")


def read_lasot_sequence(root: str, name: str, dataset_tag: str = "lasot") -> Sequence:
    """One LaSOT-layout sequence (also used for the synthetic set in LaSOT layout)."""
    cls = check_sequence_name(name).rsplit("-", 1)[0]
    folder = os.path.join(root, cls, name)
    gt_path = os.path.join(folder, "groundtruth.txt")
    if not os.path.isfile(gt_path):
        raise SpecError(f"LaSOT sequence {name}: {gt_path} not found")
    gt = load_text(gt_path, columns=4)
    n = gt.shape[0]
    visible = np.ones(n, dtype=bool)
    for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
        path = os.path.join(folder, flag_file)
        if os.path.isfile(path):
            flags = load_vector(path)
            if flags.shape[0] != n:
                raise SpecError(f"LaSOT sequence {name}: {path} has {flags.shape[0]} flags, groundtruth.txt {n} rows")
            visible &= flags == 0
        elif dataset_tag == "lasot":
            raise SpecError(f"LaSOT sequence {name}: {path} not found (needed for target visibility)")
    frames = [os.path.join(folder, "img", "%08d.jpg" % i) for i in range(1, n + 1)]
    return Sequence(name, frames, dataset_tag, gt, object_class=cls, target_visible=visible)


class LaSOTDataset(BaseDataset):
    """LaSOT evaluation set (pytracking name ``lasot``; ``lasot_train`` with ``split='train'``)."""

    name = "lasot"

    def __init__(self, root: Optional[str] = None, split: str = "test", split_file: Optional[str] = None,
                 sequences: Optional[Seq[str]] = None, attribute: Optional[str] = None) -> None:
        self.base_path = _root(root)
        self.split = split
        self.sequence_list = list(sequences) if sequences else lasot_test_names(self.base_path, split_file, split)
        if attribute is not None:
            from pytracking_slt.analysis.attributes import filter_by_attribute
            self.sequence_list = filter_by_attribute("lasot", self.sequence_list, attribute, self.base_path)

    def __len__(self) -> int:
        return len(self.sequence_list)

    def get_sequence_list(self) -> SequenceList:
        return read_sequences(self.sequence_list, lambda n: read_lasot_sequence(self.base_path, n), "lasot")
