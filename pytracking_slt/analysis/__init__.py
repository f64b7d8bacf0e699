"""Analysis of pytracking-format results: pytracking-exact metrics, GOT-10k / TrackingNet conventions,
tables (mean ± std over run ids), PNG plots, per-attribute breakdown, server packing.

Typical use::

    from pytracking_slt.analysis import trackers_from_specs, analyze
    from pytracking_slt.evaluation import get_dataset
    out = analyze(trackers_from_specs(['slt_transt:slt_transt']), get_dataset('lasot'), plot_dir='plots')
    print(out.table)
"""
from .api import AnalysisOutput, analyze, parse_run_ids, trackers_from_specs
from .attributes import load_attributes, per_attribute
from .conventions import CONVENTIONS, SCORE_COLUMNS, aggregate, convention_text, got10k_seq_stats, \
    pytracking_seq_stats, trackingnet_seq_stats
from .evaluate import Evaluation, TrackerResult, evaluate
from .metrics import InvalidResultsError, center_error, count_curves, curves_from_errors, iou_overlap, \
    scores_from_curves, seq_errors
from .packing import IncompleteResultsError, pack_got10k, pack_trackingnet
from .plots import plot_curves
from .report import format_table, table_rows

__all__ = [
    "AnalysisOutput", "analyze", "parse_run_ids", "trackers_from_specs", "load_attributes", "per_attribute",
    "CONVENTIONS", "SCORE_COLUMNS", "aggregate", "convention_text", "got10k_seq_stats", "pytracking_seq_stats",
    "trackingnet_seq_stats", "Evaluation", "TrackerResult", "evaluate", "InvalidResultsError", "center_error",
    "count_curves", "curves_from_errors", "iou_overlap", "scores_from_curves", "seq_errors",
    "IncompleteResultsError", "pack_got10k", "pack_trackingnet", "plot_curves", "format_table", "table_rows",
]
