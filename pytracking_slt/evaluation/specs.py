"""Where sequence lists come from when a dataset does not list its own sequences on disk.

pytracking hard-codes the LaSOT test names and the OTB / UAV123 / NfS sequence tables (name, frame
folder, start/end frame, digits, extension, annotation file) in its dataset files. This package
ships no copy of those tables. Instead, in order:

1. an explicit file given by the user (argument, or ``SLT_<DATASET>_SPEC`` environment variable):
   for LaSOT a text file with one name per line; for OTB/UAV/NfS a JSON list of entries with
   pytracking's keys (``name, path, startFrame, endFrame, nz, ext, anno_path[, object_class,
   initOmit]``);
2. the dataset's own files (LaSOT ``testing_set.txt`` at its root);
3. the enclosing pytracking workspace's dataset file (e.g. ``pytracking/evaluation/otbdataset.py``),
   whose literal table is *read* with ``ast`` (never imported or executed);
4. discovery from the folder layout (OTB/UAV/NfS), which is exact for sequences whose frames all
   belong to the annotation and reported per sequence otherwise.
"""
from __future__ import annotations

import ast
import json
import logging
import os
from typing import Any, Dict, List, Optional

from ltr_slt.admin.fileio import read_list_file

logger = logging.getLogger(__name__)


class SpecError(ValueError):
    """A sequence list / table could not be found or parsed; the message lists what was tried."""


# One sequence name per line (blank lines and ``#`` comments ignored; first comma field).
read_name_list = read_list_file


def workspace_dataset_file(filename: str) -> Optional[str]:
    """``<workspace>/pytracking/evaluation/<filename>`` of the enclosing pytracking workspace, if any."""
    try:
        from ltr_slt.admin.environment import find_pytracking_workspace
        ws = find_pytracking_workspace()
    except Exception as err:  # noqa: BLE001 - environment problems must not break dataset listing
        logger.debug("no workspace lookup: %s", err)
        return None
    if ws is None:
        return None
    path = os.path.join(str(ws), "pytracking", "evaluation", filename)
    return path if os.path.isfile(path) else None


def literal_list_in_function(path: str, function_name: str) -> List[Any]:
    """The first list literal assigned inside ``function_name`` of a Python file (read with ast only)."""
    with open(path, "r", encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function_name:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.List):
                    try:
                        return list(ast.literal_eval(sub.value))
                    except ValueError as err:
                        raise SpecError(f"{path}: the list in {function_name}() is not a literal ({err})")
    raise SpecError(f"{path}: no list literal found in function {function_name}()")


def load_table_json(path: str) -> List[Dict[str, Any]]:
    """A JSON table of sequence entries (pytracking's keys)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise SpecError(f"cannot read sequence table {path}: {err}") from err
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise SpecError(f"{path}: expected a JSON list of objects with keys name/path/startFrame/endFrame/nz/"
                        f"ext/anno_path")
    required = ("name", "path", "startFrame", "endFrame", "nz", "ext", "anno_path")
    for i, entry in enumerate(data):
        missing = [k for k in required if k not in entry]
        if missing:
            raise SpecError(f"{path}: entry {i} ({entry.get('name', '?')}) lacks {missing}")
    return data


def spec_from_env(dataset: str) -> Optional[str]:
    value = os.environ.get(f"SLT_{dataset.upper()}_SPEC", "").strip()
    return value or None
