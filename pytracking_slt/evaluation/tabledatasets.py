"""OTB-100, UAV123 and NfS-30: datasets defined by a sequence table (see :mod:`.specs`).

Each table entry uses pytracking's keys: ``name`` (result-file name, e.g. ``Jogging_1``,
``uav_bird1_2``, ``nfs_Gymnastics``), ``path`` (frame folder under the dataset root),
``startFrame``/``endFrame`` (inclusive, 1-based), ``nz`` (digits), ``ext``, ``anno_path``,
``object_class`` and optional ``initOmit``. Frames are ``<root>/<path>/<frame:0nz>.<ext>``.

Tags: 'otb', 'uav' (NaN GT allowed, invalid-frame centre error -1 in pytracking's analysis), 'nfs'.

Without a table (no spec file, no workspace) the layout is discovered:
OTB ``<root>/<Seq>/img/*`` + ``groundtruth_rect[.k].txt`` -> ``<Seq>`` / ``<Seq>_<k>``;
UAV123 ``<root>/anno/UAV123/<a>.txt`` + ``<root>/data_seq/UAV123/<a>/`` -> ``uav_<a>``;
NfS ``<root>/anno/nfs_<x>.txt`` + ``<root>/sequences/<x>/`` -> ``nfs_<x>``.
Discovery uses every frame of the folder and requires as many frames as GT rows; sequences that
are sub-ranges of a longer folder (UAV ``bird1_2``, OTB ``David``) need the table and are reported.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Dict, List, Optional

from .data import BaseDataset, Sequence, SequenceList, read_sequences
from .results_io import check_relative_path, check_sequence_name, load_text
from .specs import SpecError, literal_list_in_function, load_table_json, spec_from_env, workspace_dataset_file

logger = logging.getLogger(__name__)

_IMG_EXT = (".jpg", ".png", ".jpeg", ".bmp")


def _numbered_images(folder: str) -> List[str]:
    if not os.path.isdir(folder):
        return []
    files = [f for f in os.listdir(folder) if f.lower().endswith(_IMG_EXT) and os.path.splitext(f)[0].isdigit()]
    files.sort(key=lambda f: int(os.path.splitext(f)[0]))
    return files


def _entry_from_folder(name: str, root: str, rel_folder: str, anno_rel: str, gt_rows: int) -> Dict[str, Any]:
    files = _numbered_images(os.path.join(root, rel_folder))
    if not files:
        raise SpecError(f"sequence {name}: no numbered images in {os.path.join(root, rel_folder)}")
    if len(files) != gt_rows:
        raise SpecError(f"sequence {name}: {len(files)} frames in {rel_folder} but {gt_rows} GT rows in "
                        f"{anno_rel}; the frame range is ambiguous - provide the sequence table (pytracking "
                        f"workspace, or a JSON spec via SLT_*_SPEC)")
    stem, ext = os.path.splitext(files[0])
    return {"name": name, "path": rel_folder, "startFrame": int(stem), "endFrame": int(stem) + len(files) - 1,
            "nz": len(stem), "ext": ext[1:], "anno_path": anno_rel, "object_class": None}


def _count_rows(path: str) -> int:
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.strip())


def discover_otb(root: str) -> List[Dict[str, Any]]:
    entries = []
    for seq in sorted(os.listdir(root)):
        folder = os.path.join(root, seq)
        if not os.path.isdir(os.path.join(folder, "img")):
            continue
        for f in sorted(os.listdir(folder)):
            m = re.fullmatch(r"groundtruth_rect(?:\.(\d+))?\.txt", f)
            if m:
                name = seq if m.group(1) is None else f"{seq}_{m.group(1)}"
                anno = f"{seq}/{f}"
                entries.append((name, f"{seq}/img", anno))
    out = []
    for name, rel, anno in entries:
        out.append(_entry_from_folder(name, root, rel, anno, _count_rows(os.path.join(root, anno))))
    return out


def discover_uav(root: str) -> List[Dict[str, Any]]:
    anno_dir = os.path.join(root, "anno", "UAV123")
    if not os.path.isdir(anno_dir):
        raise SpecError(f"UAV123: {anno_dir} not found")
    out = []
    for f in sorted(os.listdir(anno_dir)):
        if f.endswith(".txt"):
            a = f[:-4]
            anno = f"anno/UAV123/{f}"
            out.append(_entry_from_folder("uav_" + a, root, f"data_seq/UAV123/{a}", anno,
                                          _count_rows(os.path.join(root, anno))))
    return out


def discover_nfs(root: str) -> List[Dict[str, Any]]:
    anno_dir = os.path.join(root, "anno")
    if not os.path.isdir(anno_dir):
        raise SpecError(f"NfS: {anno_dir} not found")
    out = []
    for f in sorted(os.listdir(anno_dir)):
        if f.startswith("nfs_") and f.endswith(".txt"):
            x = f[4:-4]
            anno = f"anno/{f}"
            out.append(_entry_from_folder("nfs_" + x, root, f"sequences/{x}", anno,
                                          _count_rows(os.path.join(root, anno))))
    return out


class TableDataset(BaseDataset):
    """A dataset given by a pytracking-style sequence table (explicit, workspace, or discovered)."""

    tag = ""
    env_attr = ""
    workspace_file = ""

    def __init__(self, root: Optional[str] = None, spec_file: Optional[str] = None) -> None:
        if not root:
            from ltr_slt.admin.environment import env_settings
            root = getattr(env_settings(), self.env_attr, "")
        if not root:
            raise SpecError(f"{self.name}: dataset root unknown: set SLT_{self.env_attr.upper()}")
        self.base_path = root
        self.sequence_info_list = self._table(spec_file or spec_from_env(self.tag))

    def _table(self, spec_file: Optional[str]) -> List[Dict[str, Any]]:
        if spec_file:
            self.table_source = spec_file
            return load_table_json(spec_file)
        ws = workspace_dataset_file(self.workspace_file)
        if ws:
            self.table_source = ws
            return [e for e in literal_list_in_function(ws, "_get_sequence_info_list") if isinstance(e, dict)]
        self.table_source = "discovered from " + self.base_path
        return self.discover(self.base_path)

    def discover(self, root: str) -> List[Dict[str, Any]]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.sequence_info_list)

    def _construct(self, info: Dict[str, Any]) -> Sequence:
        check_sequence_name(str(info.get("name", "")), f"{self.tag} table {getattr(self, 'table_source', '')}")
        for key in ("path", "anno_path"):
            check_relative_path(str(info.get(key, "")), f"{self.tag} sequence {info['name']} {key}")
        omit = int(info.get("initOmit", 0))
        frames = ["{}/{}/{:0{nz}d}.{}".format(self.base_path, info["path"], k, info["ext"], nz=int(info["nz"]))
                  for k in range(int(info["startFrame"]) + omit, int(info["endFrame"]) + 1)]
        gt = load_text(os.path.join(self.base_path, info["anno_path"]), columns=4)[omit:]
        return Sequence(info["name"], frames, self.tag, gt, object_class=info.get("object_class"))

    def get_sequence_list(self) -> SequenceList:
        return read_sequences(self.sequence_info_list, self._construct, self.tag,
                              name_of=lambda e: str(e.get("name", "?")))


class OTBDataset(TableDataset):
    name = "otb"
    tag = "otb"
    env_attr = "otb_path"
    workspace_file = "otbdataset.py"

    def discover(self, root: str) -> List[Dict[str, Any]]:
        return discover_otb(root)


class UAVDataset(TableDataset):
    name = "uav"
    tag = "uav"
    env_attr = "uav_path"
    workspace_file = "uavdataset.py"

    def discover(self, root: str) -> List[Dict[str, Any]]:
        return discover_uav(root)


class NFSDataset(TableDataset):
    name = "nfs"
    tag = "nfs"
    env_attr = "nfs_path"
    workspace_file = "nfsdataset.py"

    def discover(self, root: str) -> List[Dict[str, Any]]:
        return discover_nfs(root)
