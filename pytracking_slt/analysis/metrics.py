"""Per-frame errors and per-sequence curves, numerically identical to pytracking's analysis.

Mirrors ``pytracking/analysis/extract_results.py`` (``calc_seq_err_robust`` and the curve loop of
``extract_results``) at pytracking HEAD, but vectorised with numpy:

* centre ``x + 0.5 * (w - 1)`` (cancels in the difference), normalised centre error divides both
  centres by the *GT* size; IoU with inclusive corners (``x + w - 1`` and ``+ 1``), which equals the
  continuous IoU;
* predictions with NaN or negative size -> :class:`InvalidResultsError`; NaN GT -> error except for
  UAV123 (``dataset == 'uav'``);
* a prediction with zero width or height is replaced by the previous (already repaired) row when that
  GT row has no NaN; row 0 is never replaced (then overwritten by the GT anyway);
* length mismatch: LaSOT truncates longer predictions and rejects shorter ones; other datasets
  truncate or pad with zero rows;
* row 0 := GT row 0 (the first frame always counts as perfect when valid);
* ``valid`` = all four GT values > 0 (x == 0 or y == 0 counts as invalid, as in pytracking HEAD),
  and ``target_visible`` when given;
* invalid frames: overlap -1, normalised centre error -1, centre error +inf (UAV: -1);
  LaSOT: invisible frames get centre and normalised centre error +inf.

Curves: success(t) = #(overlap > t) / L (strict), precision(t) = #(err <= t) / L; L = number of GT
frames, or the number of valid frames with ``exclude_invalid_frames``. The counting uses one
``searchsorted`` + ``bincount`` over all sequences at once (see :func:`count_curves`), so thousands
of sequences cost milliseconds; comparisons are exact float64 comparisons, as in pytracking.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

PLOT_BIN_GAP = 0.05


def overlap_thresholds(plot_bin_gap: float = PLOT_BIN_GAP) -> np.ndarray:
    """pytracking's ``torch.arange(0, 1 + gap, gap, float64)`` (21 values for the default gap).

    torch's values differ from ``np.arange`` in the last bit (0.65, 0.75 are 1 ulp larger), so the
    thresholds are taken from torch itself to keep every strict comparison identical.
    """
    thr = _THRESHOLDS.get(plot_bin_gap)
    if thr is None:
        import torch
        thr = torch.arange(0.0, 1.0 + plot_bin_gap, plot_bin_gap, dtype=torch.float64).numpy()
        thr.setflags(write=False)
        _THRESHOLDS[plot_bin_gap] = thr
    return thr


_THRESHOLDS: dict = {}


CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64)            # 0..50 px
NORM_CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0  # 0.00..0.50
PRECISION_INDEX = 20        # 20 px / 0.20


class InvalidResultsError(ValueError):
    """A result or annotation array cannot be scored (NaN, negative size, too short)."""


@dataclass
class SeqErrors:
    """Per-frame errors of one sequence (all float64 [N]) and the valid-frame mask (bool [N])."""
    overlap: np.ndarray
    center: np.ndarray
    center_norm: np.ndarray
    valid: np.ndarray


def as_boxes(array: np.ndarray, what: str = "boxes") -> np.ndarray:
    """[N, 4] float64 view of an array of ``[x, y, w, h]`` rows (a single row becomes [1, 4])."""
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim == 1:
        if arr.size % 4 != 0:
            raise InvalidResultsError(f"{what}: expected rows of 4 values [x, y, w, h], got {arr.size} values")
        arr = arr.reshape(-1, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InvalidResultsError(f"{what}: expected shape [N, 4], got {list(arr.shape)}")
    return arr


def center_error(pred: np.ndarray, gt: np.ndarray, normalized: bool = False) -> np.ndarray:
    """Euclidean centre distance [N]; ``normalized`` divides both centres by the GT size first."""
    pred_c = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0)
    gt_c = gt[:, :2] + 0.5 * (gt[:, 2:] - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):   # zero-size GT: overwritten by the caller
        if normalized:
            pred_c = pred_c / gt[:, 2:]
            gt_c = gt_c / gt[:, 2:]
        d = pred_c - gt_c
        return np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])


def iou_overlap(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU [N] with pytracking's inclusive-corner arithmetic (same float64 operations)."""
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
    sz = np.clip(br - tl + 1.0, 0.0, None)
    inter = sz[:, 0] * sz[:, 1]
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def repair_zero_size(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Replace zero-size rows by the previous row (pytracking's sequential loop, vectorised).

    Row i (i >= 1) is replaced when its w or h is 0 and GT row i has no NaN; the replacement chains,
    so row i takes the value of the nearest earlier row that was *not* replaced.
    """
    n = pred.shape[0]
    zero = (pred[:, 2] == 0.0) | (pred[:, 3] == 0.0)
    if not zero[1:].any():
        return pred
    gt_ok = np.ones(n, dtype=bool)
    m = min(n, gt.shape[0])
    gt_ok[:m] = ~np.isnan(gt[:m]).any(axis=1)
    replace = zero & gt_ok
    replace[0] = False
    src = np.where(replace, 0, np.arange(n))
    np.maximum.accumulate(src, out=src)
    return pred[src]


def seq_errors(pred: np.ndarray, gt: np.ndarray, dataset: str,
               target_visible: Optional[np.ndarray] = None, name: str = "") -> SeqErrors:
    """pytracking's ``calc_seq_err_robust`` (see the module docstring for every rule)."""
    where = f" (sequence {name})" if name else ""
    pred = as_boxes(pred, "prediction" + where).copy()
    gt = as_boxes(gt, "ground truth" + where)
    if gt.shape[0] == 0:
        raise InvalidResultsError(f"empty ground truth{where}")
    if np.isnan(pred).any() or (pred[:, 2:] < 0.0).any():
        raise InvalidResultsError(f"invalid results{where}: NaN or negative width/height in the prediction "
                                  f"(pytracking rejects such files too)")
    if dataset != "uav" and np.isnan(gt).any():
        raise InvalidResultsError(f"NaN in the annotation{where} (only allowed for dataset 'uav')")
    if pred.shape[0] == 0:
        raise InvalidResultsError(f"empty prediction{where}")

    pred = repair_zero_size(pred, gt)
    n = gt.shape[0]
    if pred.shape[0] != n:
        if pred.shape[0] > n:
            pred = pred[:n]
        elif dataset == "lasot":
            raise InvalidResultsError(f"prediction has {pred.shape[0]} rows but the LaSOT annotation has {n}"
                                      f"{where} (pytracking: 'Mis-match in tracker prediction and GT lengths')")
        else:
            pred = np.concatenate([pred, np.zeros((n - pred.shape[0], 4))], axis=0)
    pred[0] = gt[0]

    with np.errstate(invalid="ignore"):
        valid = (gt > 0.0).all(axis=1)
    visible = None
    if target_visible is not None:
        visible = np.asarray(target_visible).astype(bool).reshape(-1)
        if visible.shape[0] != n:
            raise InvalidResultsError(f"target_visible has {visible.shape[0]} entries, annotation {n}{where}")
        valid &= visible

    center = center_error(pred, gt)
    center_norm = center_error(pred, gt, normalized=True)
    overlap = iou_overlap(pred, gt)

    center[~valid] = -1.0 if dataset == "uav" else np.inf
    center_norm[~valid] = -1.0
    overlap[~valid] = -1.0
    if dataset == "lasot":
        if visible is None:
            raise InvalidResultsError(f"LaSOT sequence{where} needs target_visible (full_occlusion/out_of_view)")
        center_norm[~visible] = np.inf
        center[~visible] = np.inf
    if np.isnan(overlap).any():
        raise InvalidResultsError(f"NaN in the computed overlap{where}")
    return SeqErrors(overlap, center, center_norm, valid)


def count_curves(values: np.ndarray, seq_index: np.ndarray, num_seq: int, thresholds: np.ndarray,
                 greater: bool) -> np.ndarray:
    """Counts per sequence [S, T]: #(v > t) when ``greater`` else #(v <= t), exact comparisons.

    ``searchsorted(thresholds, v, 'left')`` = k = number of thresholds strictly below v, so v > t_j
    for j < k and v <= t_j for j >= k; NaN is never counted (NaN comparisons are False).
    """
    t = thresholds.shape[0]
    k = np.searchsorted(thresholds, values, side="left")              # [F] in 0..T
    nan = np.isnan(values)
    if nan.any():                                                      # NaN compares False both ways
        k[nan] = 0 if greater else t
    hist = np.bincount(seq_index * (t + 1) + k, minlength=num_seq * (t + 1)).reshape(num_seq, t + 1)
    if greater:   # frames with k > j
        return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return np.cumsum(hist, axis=1)[:, :t]                              # frames with k <= j


@dataclass
class SeqCurves:
    """Per-sequence curves (fractions in [0, 1]) and average overlap, arrays over S sequences."""
    success: np.ndarray        # [S, 21]
    precision: np.ndarray      # [S, 51]
    norm_precision: np.ndarray  # [S, 51]
    avg_overlap: np.ndarray    # [S] mean overlap over valid frames (NaN when none)
    num_frames: np.ndarray     # [S] GT frames
    num_valid: np.ndarray      # [S]


def curves_from_errors(errors: Sequence[SeqErrors], exclude_invalid_frames: bool = False,
                       plot_bin_gap: float = PLOT_BIN_GAP) -> SeqCurves:
    """Curves of many sequences in one vectorised pass (extract_results' inner loop)."""
    s = len(errors)
    lengths = np.array([e.overlap.shape[0] for e in errors], dtype=np.int64)
    seq_index = np.repeat(np.arange(s), lengths)
    overlap = np.concatenate([e.overlap for e in errors]) if s else np.zeros(0)
    center = np.concatenate([e.center for e in errors]) if s else np.zeros(0)
    center_norm = np.concatenate([e.center_norm for e in errors]) if s else np.zeros(0)
    valid = np.concatenate([e.valid for e in errors]) if s else np.zeros(0, dtype=bool)

    num_valid = np.bincount(seq_index, weights=valid, minlength=s).astype(np.int64)
    denom = num_valid if exclude_invalid_frames else lengths
    if (denom <= 0).any():
        raise InvalidResultsError("sequence length zero (no valid frames)")
    denom_f = denom.astype(np.float64)[:, None]
    succ = count_curves(overlap, seq_index, s, overlap_thresholds(plot_bin_gap), greater=True) / denom_f
    prec = count_curves(center, seq_index, s, CENTER_THRESHOLDS, greater=False) / denom_f
    nprec = count_curves(center_norm, seq_index, s, NORM_CENTER_THRESHOLDS, greater=False) / denom_f
    ov_sum = np.bincount(seq_index, weights=np.where(valid, overlap, 0.0), minlength=s)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_overlap = ov_sum / num_valid
    return SeqCurves(succ, prec, nprec, avg_overlap, lengths, num_valid)


@dataclass
class Scores:
    """pytracking's table numbers (percent) for one tracker over a set of sequences."""
    auc: float
    op50: float
    op75: float
    precision: float
    norm_precision: float
    success_curve: np.ndarray     # [21] percent
    precision_curve: np.ndarray   # [51] percent
    norm_precision_curve: np.ndarray  # [51] percent


def scores_from_curves(curves: SeqCurves, plot_bin_gap: float = PLOT_BIN_GAP) -> Scores:
    """``get_auc_curve`` / ``get_prec_curve``: mean over sequences x 100; AUC = mean of the 21 points."""
    thr = overlap_thresholds(plot_bin_gap)
    succ = curves.success.mean(axis=0) * 100.0
    prec = curves.precision.mean(axis=0) * 100.0
    nprec = curves.norm_precision.mean(axis=0) * 100.0

    def at(value: float) -> float:
        idx = np.nonzero(np.isclose(thr, value, rtol=0, atol=1e-9))[0]
        return float(succ[idx[0]]) if idx.size else float("nan")

    return Scores(auc=float(succ.mean()), op50=at(0.50), op75=at(0.75),
                  precision=float(prec[PRECISION_INDEX]), norm_precision=float(nprec[PRECISION_INDEX]),
                  success_curve=succ, precision_curve=prec, norm_precision_curve=nprec)
