"""Success / precision / normalised-precision plots as PNG (matplotlib, imported lazily, Agg backend).

One line per table row (runs merged: the mean curve over run ids), legend ``name [score]`` sorted by
score as pytracking does (AUC for success, the 20 px / 0.20 value for precision curves; AO for the
GOT-10k convention, trapezoid areas for TrackingNet).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import List, Tuple

import numpy as np

from .evaluate import Evaluation
from .report import _group_key, _row_label

_PLOT_INFO = {
    "success": ("Success plot", "Overlap threshold", "Overlap Precision [%]", "lower left"),
    "precision": ("Precision plot", "Location error threshold [pixels]", "Distance Precision [%]", "lower right"),
    "norm_precision": ("Normalized Precision plot", "Location error threshold", "Distance Precision [%]",
                       "lower right"),
}
_SCORE_FOR = {
    "pytracking": {"success": "AUC", "precision": "Precision", "norm_precision": "Norm Precision"},
    "got10k": {"success": "AO"},
    "trackingnet": {"success": "Success", "precision": "Precision", "norm_precision": "Norm Precision"},
}


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise RuntimeError("plots need matplotlib (pip install matplotlib, or the 'plot' extra)") from err
    return plt


def plot_curves(evaluation: Evaluation, out_dir: str, prefix: str = "") -> List[str]:
    """Write ``<prefix>success_plot.png`` (and precision / norm_precision when defined); returns paths."""
    plt = _pyplot()
    os.makedirs(out_dir, exist_ok=True)
    groups: "OrderedDict[object, list]" = OrderedDict()
    for res in evaluation.results:
        groups.setdefault(_group_key(res), []).append(res)
    paths = []
    for kind, score_name in _SCORE_FOR[evaluation.convention].items():
        lines: List[Tuple[str, np.ndarray, np.ndarray, float]] = []
        for members in groups.values():
            if kind not in members[0].curves:
                continue
            x = members[0].curves[kind][0]
            y = np.mean([m.curves[kind][1] for m in members], axis=0)
            score = float(np.nanmean([m.scores[score_name] for m in members]))
            lines.append((_row_label(members[0], len(members) > 1), np.asarray(x), y, score))
        if not lines:
            continue
        title, xlabel, ylabel, loc = _PLOT_INFO[kind]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for label, x, y, score in sorted(lines, key=lambda l: -l[3]):
            ax.plot(x, y, linewidth=2, label=f"{label} [{score:.1f}]")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{title} ({evaluation.convention})",
               xlim=(float(lines[0][1][0]), float(lines[0][1][-1])), ylim=(0, 100))
        ax.grid(True, linestyle="-.")
        ax.legend(loc=loc, fancybox=False, edgecolor="black")
        fig.tight_layout()
        path = os.path.join(out_dir, f"{prefix}{kind}_plot.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
