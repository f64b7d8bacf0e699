"""The result-reading part of pytracking/analysis/extract_results.py (contract 9.1)."""
import os

import numpy as np

from pytracking.utils.load_text import load_text


def load_tracker_boxes(tracker, seq):
    """Predicted [x, y, w, h] per frame as the analysis code reads them (tab or comma delimited)."""
    path = '{}/{}.txt'.format(tracker.results_dir, seq.name)
    if not os.path.isfile(path):
        raise Exception('Result not found. {}'.format(path))
    return load_text(str(path), delimiter=('\t', ','), dtype=np.float64).reshape(-1, 4)


def average_overlap(pred, gt):
    """Mean IoU over frames, boxes [x, y, w, h]."""
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:], gt[:, :2] + gt[:, 2:])
    inter = np.clip(br - tl, 0, None).prod(axis=1)
    union = pred[:, 2:].prod(axis=1) + gt[:, 2:].prod(axis=1) - inter
    return float(np.mean(inter / np.maximum(union, 1e-12)))
