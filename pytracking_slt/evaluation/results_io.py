"""Result files byte-compatible with pytracking's ``running._save_tracker_output``.

Location: ``<results_path>/<tracker>/<param>[_<runid:03d>]/``:

* ``<seq>.txt``  boxes, ``astype(int)`` (truncation toward zero, not rounding), tab-delimited
  ``%d``, one ``x y w h`` row per frame (pytracking's ``np.savetxt(..., delimiter='\\t', fmt='%d')``);
* ``<seq>_time.txt``  one ``%f`` time (seconds) per frame;
* ``<seq>_object_presence_scores.txt``  ``%f`` per frame, only when the tracker reports scores.

Reading accepts tab, comma or whitespace delimiters (pytracking tries tab then comma), so files
written by pytracking, by this package, by the GOT-10k toolkit (``%.3f``, comma) or packed for a
server can all be read. Writes are atomic (temporary file + ``os.replace``) and the box file is
written last, so a killed run never leaves a half-written ``<seq>.txt`` that a restart would take
for a finished sequence.
"""
from __future__ import annotations

import io
import logging
import os
import re
from typing import Dict, Optional, Sequence

import numpy as np

from ltr_slt.admin.fileio import atomic_write_text

logger = logging.getLogger(__name__)

_SPLIT = re.compile(r"[\t, ]+")


class ResultFileError(ValueError):
    """A result / annotation text file cannot be parsed; the message names the file and line."""


class UnsafeSequenceNameError(ValueError):
    """A sequence name would escape its folder when joined into a path (``../x``, ``a/b``)."""


def load_text(path: str, dtype: type = np.float64, columns: Optional[int] = None) -> np.ndarray:
    """Numeric text file -> array [rows, cols] (tab / comma / space separated; ``nan`` allowed).

    Delimiters are normalised to spaces and parsed by numpy's C reader; every row must have the same
    number of values, otherwise the error names the file and the first bad line.
    """
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise ResultFileError(f"cannot read {path}: {err}") from err
    if not text.strip():
        return np.zeros((0, columns or 0), dtype=dtype)
    try:   # fast C parser; any problem -> the slow path below produces a precise message
        arr = np.loadtxt(io.StringIO(text.replace(",", " ").replace("\t", " ")), dtype=np.float64, ndmin=2)
        if columns is None or arr.shape[1] == columns:
            return arr.astype(dtype, copy=False)
    except ValueError:
        pass
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    rows = [_SPLIT.split(ln) for ln in lines]
    ncol = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != ncol:
            raise ResultFileError(f"{path}: line {i + 1} has {len(r)} values, line 1 has {ncol}: {lines[i]!r}")
    if columns is not None and ncol != columns:
        raise ResultFileError(f"{path}: expected {columns} values per line, found {ncol} ({lines[0]!r})")
    try:
        flat = np.array([v for r in rows for v in r], dtype=np.float64)
    except ValueError as err:
        raise ResultFileError(f"{path}: non-numeric value ({err})") from err
    return flat.reshape(len(rows), ncol).astype(dtype, copy=False)


def load_boxes(path: str) -> np.ndarray:
    """A box file -> float64 [N, 4]."""
    return load_text(path, columns=4)


def load_vector(path: str) -> np.ndarray:
    """A one-value-per-line file (times, scores, flags; also a single comma-separated row) -> [N]."""
    arr = load_text(path)
    return arr.reshape(-1)


def _atomic_write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    atomic_write_text(path, text)


def format_boxes(boxes: np.ndarray) -> str:
    """pytracking's box text: ``astype(int)`` then ``%d`` tab-separated rows."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 4)
    if not np.isfinite(arr).all():
        bad = int(np.nonzero(~np.isfinite(arr).all(axis=1))[0][0])
        raise ResultFileError(f"non-finite box at frame {bad}: {arr[bad].tolist()} (pytracking would write "
                              f"garbage integers; fix the tracker)")
    ints = arr.astype(int)
    return "".join("\t".join("%d" % v for v in row) + "\n" for row in ints)


def format_values(values: Sequence[float]) -> str:
    """pytracking's ``%f`` one-value-per-line text (times, presence scores)."""
    return "".join("%f\n" % float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1))


def check_sequence_name(name: str, source: str = "") -> str:
    """``name`` if it is safe as a single path component, else :class:`UnsafeSequenceNameError`.

    Sequence names come from files (split lists, annotation folders, tables) and are joined into
    result and frame paths: a name with a path separator, ``.``/``..`` or a NUL byte could read
    or write outside the dataset / result folder, so it is refused.
    """
    bad = (not isinstance(name, str) or not name or name in (".", "..") or "\0" in name
           or any(sep in name for sep in ("/", "\\", os.sep, os.altsep or "/")))
    if bad:
        where = f" (from {source})" if source else ""
        raise UnsafeSequenceNameError(f"refusing sequence name {name!r}{where}: a name must be a single path "
                                      f"component (no '/', '\\', '.' or '..')")
    return name


def check_relative_path(path: str, source: str = "") -> str:
    """``path`` if it is relative and has no ``..`` component (table entries name sub-folders)."""
    parts = path.replace("\\", "/").split("/")
    if not path or os.path.isabs(path) or path.startswith(("/", "\\")) or ".." in parts or "\0" in path:
        where = f" (from {source})" if source else ""
        raise UnsafeSequenceNameError(f"refusing path {path!r}{where}: must be relative to the dataset root, "
                                      f"without '..'")
    return path


def result_paths(results_dir: str, seq_name: str) -> Dict[str, str]:
    """The result files of one sequence (its name is checked: see :func:`check_sequence_name`)."""
    base = os.path.join(results_dir, check_sequence_name(seq_name))
    return {"target_bbox": base + ".txt", "time": base + "_time.txt",
            "object_presence_score": base + "_object_presence_scores.txt"}


def save_tracker_output(results_dir: str, seq_name: str, output: Dict[str, list]) -> Dict[str, str]:
    """Write ``target_bbox`` / ``time`` / ``object_presence_score`` as pytracking does; box file last."""
    paths = result_paths(results_dir, seq_name)
    boxes_text = format_boxes(np.asarray(output["target_bbox"], dtype=np.float64))  # validate first
    written = {}
    if output.get("time"):
        _atomic_write(paths["time"], format_values(output["time"]))
        written["time"] = paths["time"]
    if output.get("object_presence_score"):
        _atomic_write(paths["object_presence_score"], format_values(output["object_presence_score"]))
        written["object_presence_score"] = paths["object_presence_score"]
    _atomic_write(paths["target_bbox"], boxes_text)
    written["target_bbox"] = paths["target_bbox"]
    return written


def results_exist(results_dir: str, seq_name: str) -> bool:
    """pytracking's skip test: the box file exists."""
    return os.path.isfile(result_paths(results_dir, seq_name)["target_bbox"])


def count_rows(path: str) -> int:
    """Non-blank lines of a text file (rows of a box file), without parsing them."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def results_complete(results_dir: str, seq_name: str, num_frames: int) -> bool:
    """The box file exists and has one row per frame (a truncated or foreign partial file is not done)."""
    path = result_paths(results_dir, seq_name)["target_bbox"]
    if not os.path.isfile(path):
        return False
    rows = count_rows(path)
    if rows != num_frames:
        logger.warning("%s has %d rows but sequence %s has %d frames: tracking it again", path, rows, seq_name,
                       num_frames)
        return False
    return True


def read_results(results_dir: str, seq_name: str) -> Dict[str, np.ndarray]:
    """Boxes (and times / scores when present) of one sequence."""
    paths = result_paths(results_dir, seq_name)
    if not os.path.isfile(paths["target_bbox"]):
        raise FileNotFoundError(f"Result not found. {paths['target_bbox']}")
    out = {"target_bbox": load_boxes(paths["target_bbox"])}
    if os.path.isfile(paths["time"]):
        out["time"] = load_vector(paths["time"])
    if os.path.isfile(paths["object_presence_score"]):
        out["object_presence_score"] = load_vector(paths["object_presence_score"])
    return out


def results_dir_for(results_path: str, tracker_name: str, parameter_name: str, run_id: Optional[int] = None) -> str:
    """``<results_path>/<tracker>/<param>`` or ``..._<runid:03d>`` (pytracking's Tracker.results_dir)."""
    if run_id is None:
        return os.path.join(results_path, tracker_name, parameter_name)
    return os.path.join(results_path, tracker_name, "{}_{:03d}".format(parameter_name, int(run_id)))
