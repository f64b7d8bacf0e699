"""Text tables: one row per tracker configuration, mean and spread over run ids.

Runs with the same (name, parameter, display name) but different run ids are merged into one row:
each column shows ``mean ± std`` (sample std over the runs, ddof=1) and the ``Runs`` column says how
many. With ``merge_runs=False`` every run gets its own row (pytracking's default). The scoring
convention is printed above every table, with the number of sequences used.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np

from .conventions import SCORE_COLUMNS, convention_text
from .evaluate import Evaluation, TrackerResult


def _group_key(res: TrackerResult) -> Tuple[str, str, str]:
    t = res.tracker
    return (t.name, t.parameter_name, t.display_name or "")


def _row_label(res: TrackerResult, merged: bool) -> str:
    t = res.tracker
    if t.display_name:
        return t.display_name
    if merged or t.run_id is None:
        return f"{t.name}_{t.parameter_name}"
    return f"{t.name}_{t.parameter_name}_{t.run_id:03d}"


def table_rows(evaluation: Evaluation, merge_runs: bool = True) -> List[Dict[str, object]]:
    """Rows ``{'label', 'runs', 'run_ids', <column>: (mean, std)}`` (std NaN for a single run)."""
    groups: "OrderedDict[object, List[TrackerResult]]" = OrderedDict()
    for i, res in enumerate(evaluation.results):
        key = _group_key(res) if merge_runs else i
        groups.setdefault(key, []).append(res)
    rows = []
    for members in groups.values():
        row: Dict[str, object] = {"label": _row_label(members[0], merge_runs and len(members) > 1),
                                  "runs": len(members), "run_ids": [m.tracker.run_id for m in members]}
        for col in SCORE_COLUMNS[evaluation.convention]:
            values = np.array([m.scores[col] for m in members], dtype=np.float64)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else float("nan")
            std = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
            row[col] = (mean, std)
        rows.append(row)
    return rows


def _cell(mean: float, std: float, show_std: bool) -> str:
    if math.isnan(mean):
        return "-"
    if show_std and not math.isnan(std):
        return f"{mean:.2f} ± {std:.2f}"
    return f"{mean:.2f}"


def format_table(evaluation: Evaluation, merge_runs: bool = True, title: Optional[str] = None) -> str:
    """The table as text, preceded by the convention description (always)."""
    rows = table_rows(evaluation, merge_runs)
    columns = SCORE_COLUMNS[evaluation.convention]
    show_std = any(r["runs"] > 1 for r in rows)
    header = ["Tracker", "Runs"] + list(columns)
    body = [[str(r["label"]), str(r["runs"])] + [_cell(*r[c], show_std=show_std) for c in columns] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = [f"Convention: {convention_text(evaluation.convention, evaluation.dataset_tags)}",
             f"Reporting results over {len(evaluation.sequences)} / {evaluation.num_requested} sequences"
             + (f" ({title})" if title else "")]
    if show_std:
        lines.append("Cells: mean ± sample std over run ids")
    fmt = " | ".join("{:<%d}" % w for w in widths)
    lines.append(fmt.format(*header))
    lines.append("-+-".join("-" * w for w in widths))
    lines += [fmt.format(*b) for b in body]
    return "\n".join(lines)
