"""Pack results for the GOT-10k and TrackingNet evaluation servers (with a completeness check).

GOT-10k test (pytracking's ``pack_got10k_results``): for each test sequence and run ids 0, 1, 2,
``<results>/<tracker>/<param>_<000|001|002>/<seq>.txt`` becomes ``<seq>/<seq>_001..003.txt``
(comma, ``%f``) and ``<seq>_time.txt`` (``%f``, the last run's times); zipped as ``<output>.zip``.

TrackingNet (``pack_trackingnet_results``): ``<seq>.txt`` comma-separated ``%.2f`` per sequence, zipped.

Unlike the pytracking scripts, nothing is written until every expected file is present and
readable: :class:`IncompleteResultsError` lists what is missing (and a box file with a wrong number
of rows when the frame count is known).
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from typing import Dict, List, Optional, Sequence as Seq

import numpy as np

from ltr_slt.admin.fileio import atomic_write

from pytracking_slt.evaluation.results_io import load_boxes, load_vector, result_paths, results_dir_for

GOT10K_TEST_NAMES = ["GOT-10k_Test_{:06d}".format(i) for i in range(1, 181)]


class IncompleteResultsError(RuntimeError):
    """Some expected result files are missing or malformed; ``problems`` lists them."""

    def __init__(self, what: str, problems: List[str]) -> None:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"{what}: {len(problems)} problem(s), nothing packed:\n  {shown}")
        self.problems = problems


def _fmt(values: np.ndarray, fmt: str) -> str:
    arr = np.atleast_2d(values)
    return "".join(",".join(fmt % v for v in row) + "\n" for row in arr)


def _zip_folder(folder: str, zip_path: str) -> str:
    def write(handle) -> None:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for base, _, files in os.walk(folder):
                for f in sorted(files):
                    full = os.path.join(base, f)
                    zf.write(full, os.path.relpath(full, folder))

    atomic_write(zip_path, write)
    return zip_path


def pack_got10k(tracker_name: str, param_name: str, output_dir: str, output_name: Optional[str] = None,
                results_path: Optional[str] = None, sequences: Optional[Seq[str]] = None,
                run_ids: Seq[int] = (0, 1, 2), frame_counts: Optional[Dict[str, int]] = None) -> str:
    """Zip for the GOT-10k server; returns the zip path. ``sequences`` defaults to the 180 test names."""
    if results_path is None:
        from ltr_slt.admin.environment import env_settings
        results_path = env_settings().results_path
    names = list(sequences) if sequences is not None else GOT10K_TEST_NAMES
    output_name = output_name or f"{tracker_name}_{param_name}"
    problems: List[str] = []
    data = {}
    for seq in names:
        for k, run in enumerate(run_ids):
            paths = result_paths(results_dir_for(results_path, tracker_name, param_name, run), seq)
            absent = [paths[key] for key in ("target_bbox", "time") if not os.path.isfile(paths[key])]
            if absent:
                problems += [f"missing {p}" for p in absent]
                continue
            try:
                boxes, times = load_boxes(paths["target_bbox"]), load_vector(paths["time"])
            except ValueError as err:
                problems.append(str(err))
                continue
            n = (frame_counts or {}).get(seq)
            if n is not None and boxes.shape[0] != n:
                problems.append(f"{paths['target_bbox']}: {boxes.shape[0]} rows, sequence has {n} frames")
            data[(seq, k)] = (boxes, times)
    if problems:
        raise IncompleteResultsError(f"GOT-10k packing of {tracker_name}/{param_name} runs {list(run_ids)}",
                                     problems)
    os.makedirs(output_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir) as tmp:
        for seq in names:
            folder = os.path.join(tmp, seq)
            os.makedirs(folder)
            for k in range(len(run_ids)):
                boxes, times = data[(seq, k)]
                with open(os.path.join(folder, "{}_{:03d}.txt".format(seq, k + 1)), "w") as f:
                    f.write(_fmt(boxes, "%f"))
            with open(os.path.join(folder, f"{seq}_time.txt"), "w") as f:
                f.write("".join("%f\n" % t for t in data[(seq, len(run_ids) - 1)][1]))
        return _zip_folder(tmp, os.path.join(output_dir, output_name + ".zip"))


def pack_trackingnet(tracker_name: str, param_name: str, output_dir: str, sequences: Seq[str],
                     run_id: Optional[int] = None, output_name: Optional[str] = None,
                     results_path: Optional[str] = None, frame_counts: Optional[Dict[str, int]] = None) -> str:
    """Zip for the TrackingNet server (``sequences``: the 511 test names, e.g. from the dataset)."""
    if results_path is None:
        from ltr_slt.admin.environment import env_settings
        results_path = env_settings().results_path
    if output_name is None:
        output_name = f"{tracker_name}_{param_name}" + ("" if run_id is None else f"_{run_id:03d}")
    rdir = results_dir_for(results_path, tracker_name, param_name, run_id)
    problems: List[str] = []
    data = {}
    for seq in sequences:
        path = result_paths(rdir, seq)["target_bbox"]
        if not os.path.isfile(path):
            problems.append(f"missing {path}")
            continue
        try:
            data[seq] = load_boxes(path)
        except ValueError as err:
            problems.append(str(err))
            continue
        n = (frame_counts or {}).get(seq)
        if n is not None and data[seq].shape[0] != n:
            problems.append(f"{path}: {data[seq].shape[0]} rows, sequence has {n} frames")
    if problems:
        raise IncompleteResultsError(f"TrackingNet packing of {rdir}", problems)
    os.makedirs(output_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir) as tmp:
        for seq, boxes in data.items():
            with open(os.path.join(tmp, f"{seq}.txt"), "w") as f:
                f.write(_fmt(boxes, "%.2f"))
        return _zip_folder(tmp, os.path.join(output_dir, output_name + ".zip"))
