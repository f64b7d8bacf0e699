"""Per-attribute breakdown (LaSOT's 14 attributes; any dataset with an attribute file).

Attribute sources, first found wins:

1. an explicit path (``--attributes FILE`` / ``SLT_<DATASET>_ATTRIBUTES``);
2. the enclosing pytracking workspace's ``pytracking/evaluation/dataset_attribute_specs/
   LaSOT_attributes.json`` (format: ``att_name_short``, ``att_name_long`` and ``<seq>: [short names]``);
3. the LaSOT evaluation toolkit layout: a folder ``att/`` (or ``attributes/``) next to / inside the
   LaSOT root with ``<seq>.txt`` = 14 comma-separated 0/1 flags in the order of :data:`LASOT_SHORT`.

The JSON format is the pytracking one, so a file can be shared between the two tools.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence as Seq

from pytracking_slt.evaluation.results_io import load_vector
from pytracking_slt.evaluation.specs import SpecError, workspace_dataset_file

from .conventions import aggregate
from .evaluate import Evaluation, TrackerResult

LASOT_SHORT = ["IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC"]
LASOT_LONG = ["Illumination Variation", "Partial Occlusion", "Deformation", "Motion Blur", "Camera Motion",
              "Rotation", "Background Clutter", "Viewpoint Change", "Scale Variation", "Full Occlusion",
              "Fast Motion", "Out-of-View", "Low Resolution", "Aspect Ratio Change"]

_JSON_NAMES = {"lasot": "LaSOT_attributes.json", "uav": "UAV123_attributes.json", "otb": "otb_attributes.json"}


def _from_json(path: str) -> Dict[str, object]:
    with open(path, "r", encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or "att_name_short" not in data:
        raise SpecError(f"{path}: expected pytracking's attribute JSON (keys att_name_short, att_name_long, <seq>)")
    return data


def _from_flag_folder(folder: str) -> Dict[str, object]:
    data: Dict[str, object] = {"att_name_short": LASOT_SHORT, "att_name_long": LASOT_LONG}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".txt"):
            flags = load_vector(os.path.join(folder, f))
            if flags.shape[0] != len(LASOT_SHORT):
                raise SpecError(f"{os.path.join(folder, f)}: expected {len(LASOT_SHORT)} attribute flags, "
                                f"got {flags.shape[0]}")
            data[f[:-4]] = [a for a, v in zip(LASOT_SHORT, flags) if v > 0]
    return data


def load_attributes(dataset: str = "lasot", path: Optional[str] = None, root: Optional[str] = None
                    ) -> Optional[Dict[str, object]]:
    """Attribute dict in pytracking's JSON format, or None when no source exists."""
    path = path or os.environ.get(f"SLT_{dataset.upper()}_ATTRIBUTES") or None
    if path:
        return _from_flag_folder(path) if os.path.isdir(path) else _from_json(path)
    if dataset in _JSON_NAMES:
        ws = workspace_dataset_file(os.path.join("dataset_attribute_specs", _JSON_NAMES[dataset]))
        if ws:
            return _from_json(ws)
    if root:
        for cand in (os.path.join(root, "att"), os.path.join(root, "attributes"),
                     os.path.join(os.path.dirname(os.path.normpath(root)), "att")):
            if os.path.isdir(cand):
                return _from_flag_folder(cand)
        cand = os.path.join(root, _JSON_NAMES.get(dataset, ""))
        if dataset in _JSON_NAMES and os.path.isfile(cand):
            return _from_json(cand)
    return None


def filter_by_attribute(dataset: str, names: Seq[str], attribute: str, root: Optional[str] = None) -> List[str]:
    """Sequences having ``attribute`` (short or long name), as pytracking's ``attribute=`` argument."""
    att = load_attributes(dataset, root=root)
    if att is None:
        raise SpecError(f"no attribute file for {dataset} (see pytracking_slt.analysis.attributes)")
    short, long_ = list(att["att_name_short"]), list(att["att_name_long"])
    if attribute not in short:
        if attribute not in long_:
            raise ValueError(f"'{attribute}' attribute invalid; known: {short}")
        attribute = short[long_.index(attribute)]
    return [n for n in names if attribute in att.get(n, [])]


def per_attribute(evaluation: Evaluation, attributes: Dict[str, object]) -> "OrderedDict[str, Evaluation]":
    """One Evaluation per attribute, re-aggregated over the scored sequences having it (same cache)."""
    out: "OrderedDict[str, Evaluation]" = OrderedDict()
    for short in attributes["att_name_short"]:
        names = [n for n in evaluation.sequences if short in attributes.get(n, [])]
        if not names:
            continue
        results = []
        for res in evaluation.results:
            agg = aggregate([res.per_sequence[n] for n in names], evaluation.convention)
            curves = agg.pop("curves")
            results.append(TrackerResult(res.tracker, {k: float(v) for k, v in agg.items()}, curves,
                                         {n: res.per_sequence[n] for n in names}))
        out[short] = Evaluation(evaluation.convention, results, names, len(names), evaluation.dataset_tags)
    return out
