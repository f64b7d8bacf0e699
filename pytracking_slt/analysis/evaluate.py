"""Score result files of several trackers on a dataset, with a per-sequence cache.

``evaluate(trackers, dataset, convention)`` reads ``<tracker.results_dir>/<seq>.txt`` (and
``<seq>_time.txt``) for every (tracker, sequence), turns each pair into a
:class:`~pytracking_slt.analysis.conventions.SeqStats` and aggregates per tracker.

Cache: unlike pytracking's ``eval_data.pkl`` (reused until forced), every per-sequence record is
keyed by the result file's path, size and mtime (ns), the time file's, a hash of the GT /
visibility / cover arrays and the convention options. A re-run sequence, an edited file or a changed
annotation is recomputed; everything else is loaded. The cache is one ``.npz`` file per report
folder (``<result_plot_path>/<report_name>/seq_stats_cache*.npz``; a ``.pkl`` name given by a caller
is changed to ``.npz``), written atomically and read with ``allow_pickle=False``: it holds only
numeric arrays plus a JSON index, so a planted cache cannot run code. An old (pickle), foreign or
corrupt cache is ignored with a warning and everything is recomputed.

Missing result files: an error naming the file, or with ``skip_missing_seq=True`` the sequence is
dropped for *all* trackers (as pytracking does) and the table says over how many sequences it reports.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence as Seq, Tuple

import numpy as np

from ltr_slt.admin.fileio import atomic_write

from pytracking_slt.evaluation.data import Sequence
from pytracking_slt.evaluation.results_io import load_boxes, load_vector, result_paths

from .conventions import (CONVENTIONS, SeqStats, aggregate, got10k_seq_stats, pytracking_seq_stats,
                          trackingnet_seq_stats)

logger = logging.getLogger(__name__)

CACHE_VERSION = 2  # 1: pickle (never read any more)
_CACHE_FORMAT = "slt-seq-stats-cache"


def _file_key(path: str) -> Optional[Tuple[str, int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns)


def _gt_hash(seq: Sequence) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(seq.ground_truth_rect, dtype=np.float64).tobytes())
    for arr in (seq.target_visible, seq.cover):
        h.update(b"|" if arr is None else np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    h.update(repr((seq.dataset, seq.image_size)).encode())
    return h.hexdigest()


def _tuplify(obj: Any) -> Any:
    """JSON lists back to the tuples the cache keys are made of."""
    return tuple(_tuplify(v) for v in obj) if isinstance(obj, list) else obj


class StatsCache:
    """``.npz``-backed dict key -> SeqStats (numeric arrays + a JSON index); ``None`` = in memory."""

    def __init__(self, path: Optional[str]) -> None:
        if path and path.endswith(".pkl"):
            if os.path.isfile(path):
                logger.warning("ignoring old pickle analysis cache %s (not read: pickles can run code); "
                               "the cache is now %s", path, path[:-4] + ".npz")
            path = path[:-4] + ".npz"
        self.path = path
        self.entries: Dict[Any, SeqStats] = {}
        self.dirty = False
        self.hits = 0
        self.misses = 0
        if path and os.path.isfile(path):
            try:
                self.entries = self._read(path)
            except Exception as err:  # noqa: BLE001 - a broken cache is only a slower run
                logger.warning("ignoring unreadable analysis cache %s (%s: %s); recomputing",
                               path, type(err).__name__, err)

    @staticmethod
    def _read(path: str) -> Dict[Any, SeqStats]:
        with np.load(path, allow_pickle=False) as data:
            index = json.loads(str(data["index"][()]))
            if not isinstance(index, dict) or index.get("format") != _CACHE_FORMAT \
                    or index.get("version") != CACHE_VERSION:
                raise ValueError("not a seq-stats cache of this version")
            entries: Dict[Any, SeqStats] = {}
            for rec in index["entries"]:
                curves = {str(name): np.array(data[array]) for name, array in rec["curves"].items()}
                sums = {str(k): float(v) for k, v in rec["sums"].items()}
                entries[_tuplify(rec["key"])] = SeqStats(str(rec["convention"]), curves, sums)
        return entries

    def get(self, key: Any) -> Optional[SeqStats]:
        value = self.entries.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, key: Any, value: SeqStats) -> None:
        self.entries[key] = value
        self.dirty = True

    def save(self) -> None:
        if not self.path or not self.dirty:
            return
        folder = os.path.dirname(self.path) or "."
        os.makedirs(folder, exist_ok=True)
        arrays: Dict[str, np.ndarray] = {}
        records = []
        for i, (key, stats) in enumerate(self.entries.items()):
            curves = {}
            for j, (name, curve) in enumerate(stats.curves.items()):
                arr = np.asarray(curve)
                if arr.dtype == object:
                    break  # not storable without pickle: leave this entry out
                curves[name] = f"a{i}_{j}"
                arrays[curves[name]] = arr
            else:
                records.append({"key": key, "convention": stats.convention, "curves": curves,
                                "sums": {k: float(v) for k, v in stats.sums.items()}})
        index = {"format": _CACHE_FORMAT, "version": CACHE_VERSION, "entries": records}
        arrays["index"] = np.array(json.dumps(index))
        atomic_write(self.path, lambda f: np.savez(f, **arrays))
        self.dirty = False


def seq_stats(pred: np.ndarray, seq: Sequence, convention: str, times: Optional[np.ndarray] = None,
              exclude_invalid_frames: bool = False) -> SeqStats:
    """One (prediction, sequence) pair under a convention."""
    if convention == "pytracking":
        return pytracking_seq_stats(pred, seq.ground_truth_rect, seq.dataset, seq.target_visible, times,
                                    exclude_invalid_frames, name=seq.name)
    if convention == "got10k":
        cover = seq.cover if seq.cover is not None else (
            None if seq.target_visible is None else seq.target_visible.astype(np.float64))
        return got10k_seq_stats(pred, seq.ground_truth_rect, cover, seq.image_size, times, name=seq.name)
    if convention == "trackingnet":
        return trackingnet_seq_stats(pred, seq.ground_truth_rect, times, name=seq.name)
    raise ValueError(f"unknown convention {convention!r}; choose one of {CONVENTIONS}")


@dataclass
class TrackerResult:
    """Scores of one tracker run: the convention's columns plus curves, and the sequences used."""
    tracker: Any
    scores: Dict[str, float]
    curves: Dict[str, Tuple[np.ndarray, np.ndarray]]
    per_sequence: Dict[str, SeqStats] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Everything a table / plot needs."""
    convention: str
    results: List[TrackerResult]
    sequences: List[str]          # sequences actually scored
    num_requested: int
    dataset_tags: List[str]
    cache_hits: int = 0
    cache_misses: int = 0


def evaluate(trackers: Seq[Any], dataset: Seq[Sequence], convention: str = "pytracking",
             skip_missing_seq: bool = False, exclude_invalid_frames: bool = False,
             cache_path: Optional[str] = None) -> Evaluation:
    """Score every tracker on every sequence (see the module docstring for cache / missing files)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; choose one of {CONVENTIONS}")
    if not trackers:
        raise ValueError("no trackers given")
    cache = StatsCache(cache_path)
    per_tracker: List[Dict[str, SeqStats]] = [dict() for _ in trackers]
    used: List[str] = []
    for seq in dataset:
        gt_key = None
        row: List[SeqStats] = []
        missing = False
        for trk in trackers:
            paths = result_paths(trk.results_dir, seq.name)
            box_key = _file_key(paths["target_bbox"])
            if box_key is None:
                if skip_missing_seq:
                    missing = True
                    break
                raise FileNotFoundError(f"Result not found. {paths['target_bbox']} (tracker {trk.label}; pass "
                                        f"skip_missing_seq / --skip_missing to score the sequences present)")
            gt_key = gt_key or _gt_hash(seq)
            key = (convention, exclude_invalid_frames, box_key, _file_key(paths["time"]), gt_key)
            stats = cache.get(key)
            if stats is None:
                pred = load_boxes(paths["target_bbox"])
                times = load_vector(paths["time"]) if os.path.isfile(paths["time"]) else None
                stats = seq_stats(pred, seq, convention, times, exclude_invalid_frames)
                cache.put(key, stats)
            row.append(stats)
        if missing:
            continue
        used.append(seq.name)
        for i, stats in enumerate(row):
            per_tracker[i][seq.name] = stats
    cache.save()
    if not used:
        raise FileNotFoundError(f"no sequence has results for all {len(trackers)} trackers "
                                f"(first results dir: {trackers[0].results_dir})")
    results = []
    for trk, stats in zip(trackers, per_tracker):
        agg = aggregate([stats[n] for n in used], convention)
        curves = agg.pop("curves")
        results.append(TrackerResult(trk, {k: float(v) for k, v in agg.items()}, curves, stats))
    tags = sorted({s.dataset for s in dataset})
    return Evaluation(convention, results, used, len(dataset), tags, cache.hits, cache.misses)
