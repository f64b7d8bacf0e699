"""One-call analysis used by the CLI and by scripts: specs -> trackers -> evaluation -> table / plots.

Tracker spec strings: ``name:param`` (results in ``<param>``), ``name:param:3`` (run 3),
``name:param:0,1,2`` or ``name:param:0-2`` (several runs, merged into one row with mean ± std),
optionally ``=Display name`` at the end.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence as Seq

from pytracking_slt.evaluation.data import Sequence
from pytracking_slt.evaluation.tracker import Tracker

from .evaluate import Evaluation, evaluate
from .report import format_table

logger = logging.getLogger(__name__)


def parse_run_ids(text: str) -> List[Optional[int]]:
    """``''`` -> [None]; ``'3'`` -> [3]; ``'0,1,2'`` / ``'0-2'`` -> [0, 1, 2]."""
    text = text.strip()
    if not text:
        return [None]
    ids: List[Optional[int]] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-", 1)
            ids += list(range(int(lo), int(hi) + 1))
        else:
            ids.append(int(part))
    return ids


def trackers_from_specs(specs: Seq[str], results_path: Optional[str] = None) -> List[Tracker]:
    """Tracker objects (one per run id) from ``name:param[:runs][=Display]`` strings."""
    trackers = []
    for spec in specs:
        display = None
        if "=" in spec:
            spec, display = spec.split("=", 1)
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ValueError(f"tracker spec {spec!r}: expected <tracker>:<param>[:<runid>[,<runid>...]]")
        try:
            run_ids = parse_run_ids(parts[2] if len(parts) == 3 else "")
        except ValueError as err:
            raise ValueError(f"tracker spec {spec!r}: bad run ids ({err})") from err
        trackers += [Tracker(parts[0], parts[1], r, display, results_path=results_path) for r in run_ids]
    return trackers


@dataclass
class AnalysisOutput:
    evaluation: Evaluation
    table: str
    plots: List[str] = field(default_factory=list)
    attribute_tables: List[str] = field(default_factory=list)


def analyze(trackers: Seq[Tracker], dataset: Seq[Sequence], convention: str = "pytracking",
            plot_dir: Optional[str] = None, report_name: Optional[str] = None, use_cache: bool = True,
            skip_missing_seq: bool = False, exclude_invalid_frames: bool = False, merge_runs: bool = True,
            attributes: Any = None, title: Optional[str] = None) -> AnalysisOutput:
    """Evaluate, format the table, optionally plot and break down by attribute."""
    cache_path = None
    if use_cache:
        from ltr_slt.admin.environment import env_settings
        plot_root = env_settings().result_plot_path
        if plot_root:
            cache_path = os.path.join(plot_root, report_name or "analysis", f"seq_stats_cache_{convention}.pkl")
    ev = evaluate(trackers, dataset, convention, skip_missing_seq=skip_missing_seq,
                  exclude_invalid_frames=exclude_invalid_frames, cache_path=cache_path)
    out = AnalysisOutput(ev, format_table(ev, merge_runs=merge_runs, title=title))
    if plot_dir:
        from .plots import plot_curves
        out.plots = plot_curves(ev, plot_dir)
    if attributes:
        from .attributes import per_attribute
        long_names = dict(zip(attributes["att_name_short"], attributes["att_name_long"]))
        for short, sub in per_attribute(ev, attributes).items():
            out.attribute_tables.append(format_table(sub, merge_runs=merge_runs,
                                                     title=f"attribute {short}: {long_names.get(short, short)}"))
    return out
