"""Per-sequence statistics under the three scoring conventions users compare against.

Every convention turns (prediction, GT, visibility, times) of ONE sequence into a small record of
*additive* statistics, so that sequences can be cached one by one and combined later:

``pytracking``  (default) pytracking's extract_results/plot_results, see :mod:`.metrics`:
                sequence-averaged 21-point success curve (AUC = mean of the points, strict ``>``),
                OP50/OP75, precision at 20 px, normalised precision at 0.20, frame 0 = GT.
``got10k``      the GOT-10k toolkit (``ExperimentGOT10k.report``): frame 0 excluded, both boxes
                clipped to the image bounds, only frames with ``cover > 0`` (visible frames when the
                dataset has no cover labels), IoUs pooled over all frames of all sequences (and runs):
                AO = mean, SR0.50 / SR0.75 = fraction > 0.5 / 0.75, 101-point success curve;
                speed = mean of 1/time over positive times.
``trackingnet`` the TrackingNet devkit (``metrics.py``): every box rounded to integers (half to
                even, as numpy), frame 0 = GT, inclusive ``+1`` corners, 21-point curves on
                linspace(0,1)/(0,50 px)/(0,0.5), sequence-averaged, reported as trapezoid areas
                over x = linspace(0, 1, 21). NaN IoU/distances count as failures, as in the devkit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .metrics import (CENTER_THRESHOLDS, NORM_CENTER_THRESHOLDS, PRECISION_INDEX, InvalidResultsError,
                      as_boxes, count_curves, overlap_thresholds, seq_errors)

CONVENTIONS = ("pytracking", "got10k", "trackingnet")

CONVENTION_TEXT = {
    "pytracking": ("pytracking convention (extract_results/plot_results): per-sequence 21-point success curve "
                   "(IoU > t, t = 0:0.05:1), AUC = mean of the 21 points, sequences weighted equally, frame 0 = GT, "
                   "invalid GT = failure{lasot}; Precision @ 20 px, Norm. Precision @ 0.20; FPS = tracked frames "
                   "(frame 0 excluded) / their total time"),
    "got10k": ("GOT-10k toolkit convention: frame 0 excluded, boxes clipped to the image, frames with cover > 0 "
               "(or visible) only, IoUs pooled over all frames of all sequences; AO = mean IoU, SR = fraction of "
               "IoU > 0.50 / 0.75; FPS = mean(1/time)"),
    "trackingnet": ("TrackingNet devkit convention: integer-rounded boxes, frame 0 = GT, 21-point curves "
                    "sequence-averaged, scores = trapezoid area of each curve over x = linspace(0, 1, 21); "
                    "Precision curve on 0..50 px, Norm. Precision on 0..0.5"),
}


def convention_text(convention: str, dataset_tags: Sequence[str] = ()) -> str:
    """The one-paragraph description printed with every table."""
    if convention not in CONVENTION_TEXT:
        raise ValueError(f"unknown convention {convention!r}; choose one of {CONVENTIONS}")
    lasot = "; LaSOT: invisible frames = failures, denominator = all frames" if "lasot" in dataset_tags else ""
    return CONVENTION_TEXT[convention].format(lasot=lasot)


# --------------------------------------------------------------------------------------------------
# per-sequence records
# --------------------------------------------------------------------------------------------------
@dataclass
class SeqStats:
    """Additive statistics of one (tracker run, sequence) pair under one convention.

    ``curves``: name -> [T] per-sequence curve (pytracking / trackingnet) or pooled counts (got10k).
    ``sums``: name -> scalar sum (IoU sum, frame counts, times).
    """
    convention: str
    curves: Dict[str, np.ndarray] = field(default_factory=dict)
    sums: Dict[str, float] = field(default_factory=dict)


def _time_sums(times: Optional[np.ndarray], sums: Dict[str, float]) -> None:
    if times is None:
        return
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    sums["time_frames"] = float(max(t.shape[0] - 1, 0))
    sums["time_total"] = float(np.nansum(t[1:])) if t.shape[0] > 1 else 0.0
    pos = t[np.isfinite(t) & (t > 0)]
    sums["inv_time_sum"] = float((1.0 / pos).sum())
    sums["inv_time_count"] = float(pos.shape[0])


def pytracking_seq_stats(pred: np.ndarray, gt: np.ndarray, dataset: str,
                         target_visible: Optional[np.ndarray] = None, times: Optional[np.ndarray] = None,
                         exclude_invalid_frames: bool = False, name: str = "") -> SeqStats:
    """One sequence under the pytracking convention (curves as fractions, like eval_data.pkl)."""
    err = seq_errors(pred, gt, dataset, target_visible, name=name)
    n = err.overlap.shape[0]
    num_valid = int(err.valid.sum())
    denom = num_valid if exclude_invalid_frames else n
    if denom <= 0:
        raise InvalidResultsError(f"sequence {name}: length zero (no valid frames)")
    idx = np.zeros(n, dtype=np.int64)
    succ = count_curves(err.overlap, idx, 1, overlap_thresholds(), greater=True)[0] / denom
    prec = count_curves(err.center, idx, 1, CENTER_THRESHOLDS, greater=False)[0] / denom
    nprec = count_curves(err.center_norm, idx, 1, NORM_CENTER_THRESHOLDS, greater=False)[0] / denom
    ao = float(err.overlap[err.valid].mean()) if num_valid else float("nan")
    sums = {"avg_overlap": ao, "num_frames": float(n), "num_valid": float(num_valid)}
    _time_sums(times, sums)
    return SeqStats("pytracking", {"success": succ, "precision": prec, "norm_precision": nprec}, sums)


GOT10K_THRESHOLDS = np.linspace(0, 1, 101)


def got10k_rect_iou(pred: np.ndarray, gt: np.ndarray, bound: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """The toolkit's ``rect_iou``: optional clipping to (width, height), continuous IoU, eps, clip [0, 1]."""
    pred = pred.copy()
    gt = gt.copy()
    if bound is not None:
        for r in (pred, gt):
            r[:, 0] = np.clip(r[:, 0], 0, bound[0])
            r[:, 1] = np.clip(r[:, 1], 0, bound[1])
            r[:, 2] = np.clip(r[:, 2], 0, bound[0] - r[:, 0])
            r[:, 3] = np.clip(r[:, 3], 0, bound[1] - r[:, 1])
    x1 = np.maximum(pred[:, 0], gt[:, 0])
    y1 = np.maximum(pred[:, 1], gt[:, 1])
    x2 = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2])
    y2 = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def got10k_seq_stats(pred: np.ndarray, gt: np.ndarray, cover: Optional[np.ndarray] = None,
                     bound: Optional[Tuple[float, float]] = None, times: Optional[np.ndarray] = None,
                     name: str = "") -> SeqStats:
    """One sequence under the GOT-10k toolkit convention (pooled counts, frame 0 excluded)."""
    pred = as_boxes(pred, f"prediction of {name}")
    gt = as_boxes(gt, f"ground truth of {name}")
    if pred.shape != gt.shape:
        raise InvalidResultsError(f"sequence {name}: prediction shape {list(pred.shape)} != annotation shape "
                                  f"{list(gt.shape)} (the GOT-10k toolkit requires equal lengths)")
    if np.isnan(pred).any():
        raise InvalidResultsError(f"sequence {name}: NaN in the prediction")
    ious = got10k_rect_iou(pred[1:], gt[1:], bound)
    if cover is not None:
        keep = np.asarray(cover).reshape(-1)[1:] > 0
        if keep.shape[0] != ious.shape[0]:
            raise InvalidResultsError(f"sequence {name}: cover has {keep.shape[0] + 1} entries, annotation "
                                      f"{gt.shape[0]}")
        ious = ious[keep]
    ious = ious[~np.isnan(ious)] if np.isnan(ious).any() else ious
    counts = count_curves(ious, np.zeros(ious.shape[0], dtype=np.int64), 1, GOT10K_THRESHOLDS, greater=True)[0]
    sums = {"iou_sum": float(ious.sum()), "iou_count": float(ious.shape[0]),
            "sr50": float((ious > 0.5).sum()), "sr75": float((ious > 0.75).sum())}
    _time_sums(times, sums)
    return SeqStats("got10k", {"success_counts": counts.astype(np.float64)}, sums)


TN_SUCCESS_X = np.linspace(0, 1, 21)
TN_PRECISION_X = np.linspace(0, 50, 21)
TN_NPRECISION_X = np.linspace(0, 0.5, 21)


def trackingnet_seq_stats(pred: np.ndarray, gt: np.ndarray, times: Optional[np.ndarray] = None,
                          name: str = "") -> SeqStats:
    """One sequence under the TrackingNet devkit convention (per-sequence 21-point curves)."""
    gt = np.round(as_boxes(gt, f"ground truth of {name}"))
    pred = as_boxes(pred, f"prediction of {name}")
    n = gt.shape[0]
    if pred.shape[0] < n:   # the devkit aligns by row; missing rows are NaN -> failures
        pred = np.concatenate([pred, np.full((n - pred.shape[0], 4), np.nan)], axis=0)
    pred = np.round(pred[:n])
    pred[0] = gt[0]
    g2 = gt[:, :2] + gt[:, 2:] - 1.0
    p2 = pred[:, :2] + pred[:, 2:] - 1.0
    gc = gt[:, :2] + (gt[:, 2:] + 1.0) / 2.0
    pc = pred[:, :2] + (pred[:, 2:] + 1.0) / 2.0
    i1 = np.maximum(gt[:, :2], pred[:, :2])
    i2 = np.minimum(g2, p2)
    inter_wh = np.clip(np.round(i2 - i1 + 1), 0, None)
    inter = inter_wh[:, 0] * inter_wh[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (gt[:, 2] * gt[:, 3] + pred[:, 2] * pred[:, 3] - inter)
        d = gc - pc
        dist = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
        dn = d / gt[:, 2:]
        ndist = np.sqrt(dn[:, 0] * dn[:, 0] + dn[:, 1] * dn[:, 1])
    with np.errstate(invalid="ignore"):
        succ = (iou[:, None] > TN_SUCCESS_X[None, :]).sum(0) / n
        prec = (dist[:, None] <= TN_PRECISION_X[None, :]).sum(0) / n
        nprec = (ndist[:, None] <= TN_NPRECISION_X[None, :]).sum(0) / n
    sums = {"num_frames": float(n)}
    _time_sums(times, sums)
    return SeqStats("trackingnet", {"success": succ, "precision": prec, "norm_precision": nprec}, sums)


def trapz(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoid rule (numpy >= 2.4 dropped ``np.trapz``)."""
    return float(np.sum((y[1:] + y[:-1]) * 0.5 * np.diff(x)))


# --------------------------------------------------------------------------------------------------
# aggregation over sequences (one tracker run)
# --------------------------------------------------------------------------------------------------
def _fps_tracked(stats: Sequence[SeqStats]) -> float:
    frames = sum(s.sums.get("time_frames", 0.0) for s in stats)
    total = sum(s.sums.get("time_total", 0.0) for s in stats)
    if not all("time_frames" in s.sums for s in stats) or total <= 0:
        return float("nan")
    return frames / total


def aggregate(stats: Sequence[SeqStats], convention: str) -> Dict[str, object]:
    """Scores (percent) and curves of one tracker run over its sequences.

    Returns a dict with the convention's score columns and a ``curves`` entry used by the plots.
    """
    if not stats:
        raise ValueError("no sequences to aggregate")
    if convention == "pytracking":
        succ = np.mean([s.curves["success"] for s in stats], axis=0) * 100.0
        prec = np.mean([s.curves["precision"] for s in stats], axis=0) * 100.0
        nprec = np.mean([s.curves["norm_precision"] for s in stats], axis=0) * 100.0
        thr = overlap_thresholds()
        return {"AUC": float(succ.mean()), "OP50": float(succ[np.isclose(thr, 0.5)][0]),
                "OP75": float(succ[np.isclose(thr, 0.75)][0]), "Precision": float(prec[PRECISION_INDEX]),
                "Norm Precision": float(nprec[PRECISION_INDEX]), "FPS": _fps_tracked(stats),
                "curves": {"success": (thr, succ), "precision": (CENTER_THRESHOLDS, prec),
                           "norm_precision": (NORM_CENTER_THRESHOLDS, nprec)}}
    if convention == "got10k":
        count = sum(s.sums["iou_count"] for s in stats)
        if count <= 0:
            raise InvalidResultsError("GOT-10k convention: no frame with cover > 0 after frame 0")
        curve = np.sum([s.curves["success_counts"] for s in stats], axis=0) / count * 100.0
        inv_n = sum(s.sums.get("inv_time_count", 0.0) for s in stats)
        fps = sum(s.sums.get("inv_time_sum", 0.0) for s in stats) / inv_n if inv_n > 0 else float("nan")
        return {"AO": sum(s.sums["iou_sum"] for s in stats) / count * 100.0,
                "SR0.50": sum(s.sums["sr50"] for s in stats) / count * 100.0,
                "SR0.75": sum(s.sums["sr75"] for s in stats) / count * 100.0, "FPS": fps,
                "curves": {"success": (GOT10K_THRESHOLDS, curve)}}
    if convention == "trackingnet":
        succ = np.mean([s.curves["success"] for s in stats], axis=0)
        prec = np.mean([s.curves["precision"] for s in stats], axis=0)
        nprec = np.mean([s.curves["norm_precision"] for s in stats], axis=0)
        return {"Success": trapz(succ, TN_SUCCESS_X) * 100.0, "Precision": trapz(prec, TN_SUCCESS_X) * 100.0,
                "Norm Precision": trapz(nprec, TN_SUCCESS_X) * 100.0, "FPS": _fps_tracked(stats),
                "curves": {"success": (TN_SUCCESS_X, succ * 100.0), "precision": (TN_PRECISION_X, prec * 100.0),
                           "norm_precision": (TN_NPRECISION_X, nprec * 100.0)}}
    raise ValueError(f"unknown convention {convention!r}; choose one of {CONVENTIONS}")


SCORE_COLUMNS = {
    "pytracking": ("AUC", "OP50", "OP75", "Precision", "Norm Precision", "FPS"),
    "got10k": ("AO", "SR0.50", "SR0.75", "FPS"),
    "trackingnet": ("Success", "Precision", "Norm Precision", "FPS"),
}
