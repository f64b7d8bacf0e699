"""Metrics: hand-computed fixtures for every rule of the three conventions, plus a per-frame reference.

The reference (`_reference_pytracking`) is a direct, loop-based transcription of the rules in
pytracking's extract_results (torch, one frame at a time), written for this test; the vectorised
code must agree with it exactly on random data containing every edge case.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
import torch

from pytracking_slt.analysis import (InvalidResultsError, aggregate, analyze, center_error, count_curves,
                                     curves_from_errors, evaluate, format_table, got10k_seq_stats, iou_overlap,
                                     pytracking_seq_stats, scores_from_curves, seq_errors, table_rows,
                                     trackers_from_specs, trackingnet_seq_stats)
from pytracking_slt.analysis.conventions import got10k_rect_iou, trapz
from pytracking_slt.analysis.metrics import NORM_CENTER_THRESHOLDS, overlap_thresholds
from pytracking_slt.evaluation import Sequence, save_tracker_output
from pytracking_slt.evaluation.results_io import results_dir_for

A = np.array


# ------------------------------------------------------------------------------------------------ IoU / centre
def test_iou_hand_values():
    gt = A([[5, 5, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    pred = A([[0, 0, 10, 10], [0, 0, 10, 20], [20, 20, 5, 5], [0, 0, 0, 10]], float)
    np.testing.assert_allclose(iou_overlap(pred, gt), [25 / 175, 0.5, 0.0, 0.0])


def test_center_errors_hand_values():
    gt = A([[3, 4, 10, 10]], float)
    pred = A([[0, 0, 10, 10]], float)
    assert center_error(pred, gt)[0] == pytest.approx(5.0)
    assert center_error(pred, gt, normalized=True)[0] == pytest.approx(0.5)
    # the "-1" of the centre cancels: different sizes, same corner -> half the size difference
    assert center_error(A([[0, 0, 20, 10]], float), A([[0, 0, 10, 10]], float))[0] == pytest.approx(5.0)


def test_thresholds_equal_torch_arange():
    t = torch.arange(0.0, 1.0 + 0.05, 0.05, dtype=torch.float64).numpy()
    assert np.array_equal(overlap_thresholds(), t) and t.shape == (21,)
    assert np.array_equal(NORM_CENTER_THRESHOLDS, torch.arange(0, 51, dtype=torch.float64).numpy() / 100.0)


# ------------------------------------------------------------------------------------------------ seq_errors rules
GT4 = A([[0.5, 0.5, 10, 10], [1, 1, 10, 10], [5, 5, 10, 10], [1, 1, 0, 10]], float)   # last frame invalid (w=0)
PRED4 = A([[50, 50, 3, 3], [1, 1, 10, 20], [0, 0, 10, 10], [7, 7, 10, 10]], float)


def test_first_frame_is_gt_and_invalid_frames_get_sentinels():
    e = seq_errors(PRED4, GT4, "otb")
    assert e.overlap[0] == 1.0 and e.center[0] == 0.0                      # row 0 := GT
    assert e.overlap[1] == pytest.approx(0.5) and e.overlap[2] == pytest.approx(25 / 175)
    assert e.valid.tolist() == [True, True, True, False]
    assert e.overlap[3] == -1.0 and e.center_norm[3] == -1.0 and math.isinf(e.center[3])
    e_uav = seq_errors(PRED4, GT4, "uav")
    assert e_uav.center[3] == -1.0                                           # UAV: centre error -1 too


def test_gt_with_zero_x_or_y_is_invalid_as_in_pytracking_head():
    gt = A([[1, 1, 10, 10], [0, 3, 10, 10], [3, 0, 10, 10]], float)
    e = seq_errors(gt, gt, "otb")
    assert e.valid.tolist() == [True, False, False] and e.overlap.tolist() == [1.0, -1.0, -1.0]


def test_lasot_invisible_frames_fail_every_measure():
    gt = A([[1, 1, 10, 10]] * 3, float)
    e = seq_errors(gt, gt, "lasot", target_visible=A([1, 1, 0]))
    assert e.overlap.tolist() == [1.0, 1.0, -1.0]
    assert math.isinf(e.center[2]) and math.isinf(e.center_norm[2])          # not -1: counted as failure
    e_other = seq_errors(gt, gt, "synthetic", target_visible=A([1, 1, 0]))
    assert e_other.center_norm[2] == -1.0                                    # generic rule (sentinel)


def test_zero_size_predictions_copy_previous_row_chained():
    gt = A([[1, 1, 10, 10]] * 5, float)
    pred = A([[1, 1, 10, 10], [4, 4, 10, 10], [9, 9, 0, 5], [9, 9, 5, 0], [2, 2, 10, 10]], float)
    e = seq_errors(pred, gt, "otb")
    expected = iou_overlap(A([[4, 4, 10, 10]], float), gt[:1])[0]
    np.testing.assert_allclose(e.overlap, [1.0, expected, expected, expected, iou_overlap(pred[4:], gt[4:])[0]])


def test_zero_size_with_nan_gt_is_not_repaired_uav():
    gt = A([[1, 1, 10, 10], [1, 1, 10, 10], [np.nan] * 4, [1, 1, 10, 10]], float)
    pred = A([[1, 1, 10, 10], [3, 3, 10, 10], [0, 0, 0, 0], [5, 5, 0, 0]], float)
    e = seq_errors(pred, gt, "uav")
    # frame 2 (NaN GT) keeps its zero box, frame 3 copies frame 2's zero box -> IoU 0
    assert e.overlap[2] == -1.0 and e.overlap[3] == 0.0


@pytest.mark.parametrize("bad", [[1, 1, np.nan, 4], [1, 1, -2, 4]])
def test_nan_or_negative_prediction_raises(bad):
    gt = A([[1, 1, 10, 10]] * 2, float)
    with pytest.raises(InvalidResultsError, match="invalid results"):
        seq_errors(A([[1, 1, 10, 10], bad], float), gt, "otb", name="seqX")


def test_nan_in_gt_only_allowed_for_uav():
    gt = A([[1, 1, 10, 10], [np.nan] * 4], float)
    with pytest.raises(InvalidResultsError, match="NaN in the annotation"):
        seq_errors(np.nan_to_num(gt), gt, "otb")
    e = seq_errors(np.nan_to_num(gt), gt, "uav")
    assert e.overlap[1] == -1.0


def test_length_mismatch_rules():
    gt = A([[1, 1, 10, 10]] * 3, float)
    with pytest.raises(InvalidResultsError, match="LaSOT"):
        seq_errors(gt[:2], gt, "lasot", target_visible=A([1, 1, 1]))
    assert seq_errors(np.vstack([gt, gt]), gt, "lasot", target_visible=A([1, 1, 1])).overlap.shape == (3,)
    e = seq_errors(gt[:2], gt, "otb")                                        # padded with zero rows
    assert e.overlap.tolist() == [1.0, 1.0, 0.0]


def test_predictions_outside_the_image_are_not_clipped_by_pytracking():
    gt = A([[1, 1, 10, 10], [1, 1, 10, 10]], float)
    pred = A([[1, 1, 10, 10], [-8, 1, 10, 10]], float)                     # half outside on the left
    e = seq_errors(pred, gt, "otb")
    assert e.overlap[1] == pytest.approx(1 / 19)                            # 1 column overlaps: 10/(200-10)


# ------------------------------------------------------------------------------------------------ curves / scores
def test_hand_computed_curves_and_auc():
    s = pytracking_seq_stats(PRED4, GT4, "otb")
    # overlaps [1, .5, 1/7, -1]; counts over 21 thresholds: 3 (t<=.10, 3 values), 2 (t=.15..45, 7), 1 (t=.5..95, 10), 0
    expected = np.array([3] * 3 + [2] * 7 + [1] * 10 + [0]) / 4
    np.testing.assert_allclose(s.curves["success"], expected)
    agg = aggregate([s], "pytracking")
    assert agg["AUC"] == pytest.approx(33 / 84 * 100)
    assert agg["OP50"] == pytest.approx(25.0)                               # 0.5 is not > 0.5 (strict)
    assert agg["OP75"] == pytest.approx(25.0)
    assert agg["Precision"] == pytest.approx(75.0)                          # errors 0, 5, 7.07, inf
    assert agg["Norm Precision"] == pytest.approx(50.0)                     # 0 and the invalid frame's -1
    assert s.sums["avg_overlap"] == pytest.approx((1 + 0.5 + 25 / 175) / 3)
    excl = pytracking_seq_stats(PRED4, GT4, "otb", exclude_invalid_frames=True)
    assert aggregate([excl], "pytracking")["AUC"] == pytest.approx(33 / 63 * 100)


def test_precision_threshold_is_inclusive_at_20px():
    gt = A([[1, 1, 10, 10]] * 2, float)
    pred = A([[1, 1, 10, 10], [21, 1, 10, 10]], float)                     # exactly 20 px away
    assert aggregate([pytracking_seq_stats(pred, gt, "otb")], "pytracking")["Precision"] == pytest.approx(100.0)
    pred[1, 0] = 21.001
    assert aggregate([pytracking_seq_stats(pred, gt, "otb")], "pytracking")["Precision"] == pytest.approx(50.0)


def test_sequences_weighted_equally():
    gt_long = A([[1, 1, 10, 10]] * 10, float)
    pred_long = gt_long.copy(); pred_long[1:, 0] += 100                     # only frame 0 correct
    gt_short = A([[1, 1, 10, 10]] * 2, float)
    agg = aggregate([pytracking_seq_stats(pred_long, gt_long, "otb"),
                     pytracking_seq_stats(gt_short.copy(), gt_short, "otb")], "pytracking")
    assert agg["OP50"] == pytest.approx((10 + 100) / 2)


def _reference_pytracking(pred, gt, dataset, visible=None):
    """Loop transcription of extract_results' rules for one sequence (torch, float64)."""
    pred = torch.tensor(pred, dtype=torch.float64).clone()
    gt = torch.tensor(gt, dtype=torch.float64)
    for i in range(1, pred.shape[0]):
        if (pred[i, 2:] == 0).any() and not torch.isnan(gt[i]).any():
            pred[i] = pred[i - 1]
    if pred.shape[0] < gt.shape[0]:
        pred = torch.cat([pred, torch.zeros(gt.shape[0] - pred.shape[0], 4, dtype=torch.float64)])
    pred = pred[:gt.shape[0]]
    pred[0] = gt[0]
    n = gt.shape[0]
    ov, ce, cn = torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
    for i in range(n):
        p, g = pred[i], gt[i]
        valid = bool((g > 0).all()) and (visible is None or bool(visible[i]))
        tl = torch.max(p[:2], g[:2]); br = torch.min(p[:2] + p[2:] - 1, g[:2] + g[2:] - 1)
        sz = (br - tl + 1).clamp(0)
        inter = sz.prod()
        ov[i] = inter / (p[2:].prod() + g[2:].prod() - inter)
        pc, gc = p[:2] + 0.5 * (p[2:] - 1), g[:2] + 0.5 * (g[2:] - 1)
        ce[i] = ((pc - gc) ** 2).sum().sqrt()
        cn[i] = ((pc / g[2:] - gc / g[2:]) ** 2).sum().sqrt()
        if not valid:
            ov[i], cn[i] = -1.0, -1.0
            ce[i] = -1.0 if dataset == "uav" else math.inf
        if dataset == "lasot" and not visible[i]:
            ce[i], cn[i] = math.inf, math.inf
    thr_o = torch.arange(0.0, 1.05, 0.05, dtype=torch.float64)
    thr_c = torch.arange(0, 51, dtype=torch.float64)
    return ((ov.view(-1, 1) > thr_o.view(1, -1)).sum(0).double() / n,
            (ce.view(-1, 1) <= thr_c.view(1, -1)).sum(0).double() / n,
            (cn.view(-1, 1) <= (thr_c / 100).view(1, -1)).sum(0).double() / n)


@pytest.mark.parametrize("dataset", ["otb", "lasot", "uav"])
def test_vectorised_equals_per_frame_reference(dataset):
    rng = np.random.default_rng(0)
    for trial in range(6):
        n = int(rng.integers(2, 60))
        gt = np.round(rng.uniform(0, 50, (n, 4)) + [0, 0, 5, 5])
        gt[rng.random(n) < 0.1, 2] = 0                                   # invalid GT
        gt[rng.random(n) < 0.1, 0] = 0                                   # x == 0 -> invalid
        if dataset == "uav":
            gt[rng.random(n) < 0.1] = np.nan
            gt[0] = [3, 3, 10, 10]
        pred = gt + np.round(rng.normal(0, 6, (n, 4)))
        pred = np.nan_to_num(pred, nan=7.0)
        pred[:, 2:] = np.abs(pred[:, 2:])
        pred[rng.random(n) < 0.15, 3] = 0                                # zero-size predictions
        pred = pred[: n - int(rng.integers(0, 3))] if dataset != "lasot" else pred
        vis = (rng.random(n) > 0.2).astype(np.uint8) if dataset == "lasot" else None
        s = pytracking_seq_stats(pred, gt, dataset, vis)
        ref = _reference_pytracking(pred, gt, dataset, vis)
        np.testing.assert_array_equal(s.curves["success"], ref[0].numpy())
        np.testing.assert_array_equal(s.curves["precision"], ref[1].numpy())
        np.testing.assert_array_equal(s.curves["norm_precision"], ref[2].numpy())


def test_count_curves_matches_broadcast_with_special_values():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.uniform(-1, 1.2, 500), [0.5, 0.05, 1.0, 0.0, -1.0, np.inf, np.nan]])
    seq = rng.integers(0, 5, values.shape[0])
    thr = overlap_thresholds()
    for greater in (True, False):
        got = count_curves(values, seq, 5, thr, greater)
        with np.errstate(invalid="ignore"):
            cmp = values[:, None] > thr[None] if greater else values[:, None] <= thr[None]
        want = np.stack([cmp[seq == s].sum(0) for s in range(5)])
        np.testing.assert_array_equal(got, want)


def test_batch_curves_equal_per_sequence_stats():
    seqs = [(PRED4, GT4), (GT4[:3] + 1, GT4[:3])]
    errs = [seq_errors(p, g, "otb") for p, g in seqs]
    sc = scores_from_curves(curves_from_errors(errs))
    agg = aggregate([pytracking_seq_stats(p, g, "otb") for p, g in seqs], "pytracking")
    assert sc.auc == pytest.approx(agg["AUC"]) and sc.norm_precision == pytest.approx(agg["Norm Precision"])


# ------------------------------------------------------------------------------------------------ GOT-10k convention
def test_got10k_convention_hand_values():
    gt_a = A([[1, 1, 10, 10], [1, 1, 10, 10], [1, 1, 10, 10]], float)
    pred_a = A([[90, 90, 5, 5], [1, 1, 10, 20], [1, 1, 10, 10]], float)   # frame 0 ignored; f1 IoU .5; f2 1
    gt_b = A([[5, 5, 10, 10], [5, 5, 10, 10]], float)
    pred_b = A([[5, 5, 10, 10], [0, 0, 10, 10]], float)                   # f1 IoU 25/175
    a = got10k_seq_stats(pred_a, gt_a, cover=A([8, 8, 0]), times=A([0.5, 0.1, 0.2]))
    b = got10k_seq_stats(pred_b, gt_b, cover=A([8, 3]), times=A([0.5, 0.1]))
    agg = aggregate([a, b], "got10k")
    assert agg["AO"] == pytest.approx((0.5 + 25 / 175) / 2 * 100)          # pooled frames, f2 of A (cover 0) out
    assert agg["SR0.50"] == 0.0                                             # 0.5 is not > 0.5
    assert agg["FPS"] == pytest.approx(np.mean(1 / A([0.5, 0.1, 0.2, 0.5, 0.1])))
    assert agg["curves"]["success"][1].shape == (101,)


def test_got10k_clips_to_image_like_the_toolkit():
    # x < 0 is clipped to 0 WITHOUT shrinking w (toolkit behaviour); beyond the right edge w shrinks
    gt = A([[0, 10, 20, 20], [90, 10, 10, 20]], float)
    pred = A([[-5, 10, 20, 20], [90, 10, 20, 20]], float)
    np.testing.assert_allclose(got10k_rect_iou(pred, gt, bound=(100, 100)), [1.0, 1.0])
    np.testing.assert_allclose(got10k_rect_iou(pred, gt), [15 / 25, 0.5], rtol=1e-12)


def test_got10k_rejects_nan_and_length_mismatch():
    gt = A([[1, 1, 10, 10]] * 2, float)
    with pytest.raises(InvalidResultsError, match="NaN"):
        got10k_seq_stats(A([[1, 1, 10, 10], [np.nan] * 4]), gt)
    with pytest.raises(InvalidResultsError, match="equal lengths"):
        got10k_seq_stats(gt[:1], gt)


# ------------------------------------------------------------------------------------------------ TrackingNet
def test_trackingnet_rounding_and_trapezoid():
    gt = A([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    s = trackingnet_seq_stats(A([[99, 99, 1, 1], [5.4, 0, 10, 10]], float), gt)   # rounds to x=5 -> IoU 1/3
    agg = aggregate([s], "trackingnet")
    assert agg["Success"] == pytest.approx(65.0)                            # hand-computed trapezoid
    half_even = trackingnet_seq_stats(A([[0, 0, 10, 10], [0.5, 0, 10, 10]], float), gt)
    assert half_even.curves["success"][-2] == 1.0                           # 0.5 rounds to 0 -> IoU 1
    assert trapz(np.ones(21), np.linspace(0, 1, 21)) == pytest.approx(1.0)


def test_trackingnet_nan_and_missing_rows_are_failures():
    gt = A([[0, 0, 10, 10]] * 4, float)
    s = trackingnet_seq_stats(A([[0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], float), gt)
    assert s.curves["success"][0] == pytest.approx(0.5)                     # frames 1 (NaN) and 3 (missing) fail


# ------------------------------------------------------------------------------------------------ evaluate / cache / table
def _write_run(root, name, param, run_id, seq_name, boxes, times=None):
    rdir = results_dir_for(str(root), name, param, run_id)
    save_tracker_output(rdir, seq_name, {"target_bbox": boxes, "time": list(times if times is not None
                                                                                 else [0.1] * len(boxes))})


def test_evaluate_table_runs_spread_and_cache_invalidation(tmp_path):
    gt = A([[1, 1, 10, 10]] * 4, float)
    seqs = [Sequence("s1", ["f"] * 4, "otb", gt), Sequence("s2", ["f"] * 4, "otb", gt)]
    for run, shift in ((0, 0), (1, 5)):
        for s in seqs:
            _write_run(tmp_path, "trk", "p", run, s.name, gt + [shift, 0, 0, 0])
    trackers = trackers_from_specs(["trk:p:0-1"], results_path=str(tmp_path))
    cache = str(tmp_path / "cache.pkl")
    ev = evaluate(trackers, seqs, cache_path=cache)
    auc0 = ev.results[0].scores["AUC"]
    auc1 = ev.results[1].scores["AUC"]
    assert auc0 == pytest.approx(20 / 21 * 100) and auc1 < auc0
    rows = table_rows(ev)
    assert len(rows) == 1 and rows[0]["runs"] == 2
    assert rows[0]["AUC"][0] == pytest.approx((auc0 + auc1) / 2)
    assert rows[0]["AUC"][1] == pytest.approx(np.std([auc0, auc1], ddof=1))
    text = format_table(ev)
    assert text.startswith("Convention: pytracking") and "±" in text and "trk_p" in text
    assert evaluate(trackers, seqs, cache_path=cache).cache_hits == 4
    # rewrite one result file: that entry (only) is recomputed and the score follows the file
    time.sleep(0.01)
    _write_run(tmp_path, "trk", "p", 1, "s1", gt)
    ev2 = evaluate(trackers, seqs, cache_path=cache)
    assert ev2.cache_hits == 3 and ev2.cache_misses == 1
    assert ev2.results[1].scores["AUC"] > auc1


def test_missing_results_error_or_skip(tmp_path):
    gt = A([[1, 1, 10, 10]] * 3, float)
    seqs = [Sequence("a", ["f"] * 3, "otb", gt), Sequence("b", ["f"] * 3, "otb", gt)]
    _write_run(tmp_path, "t", "p", None, "a", gt)
    trackers = trackers_from_specs(["t:p"], results_path=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="Result not found.*b.txt"):
        evaluate(trackers, seqs)
    ev = evaluate(trackers, seqs, skip_missing_seq=True)
    assert ev.sequences == ["a"] and "over 1 / 2 sequences" in format_table(ev)


def test_tracker_spec_parsing(tmp_path):
    ts = trackers_from_specs(["a:b", "c:d:3", "e:f:0,2=Mine"], results_path=str(tmp_path))
    assert [(t.name, t.parameter_name, t.run_id) for t in ts] == [("a", "b", None), ("c", "d", 3), ("e", "f", 0),
                                                                 ("e", "f", 2)]
    assert ts[-1].display_name == "Mine" and ts[1].results_dir.endswith(os.path.join("c", "d_003"))
    with pytest.raises(ValueError, match="tracker spec"):
        trackers_from_specs(["onlyname"])


def test_analyze_writes_png_plots(tmp_path):
    pytest.importorskip("matplotlib")
    gt = A([[1, 1, 10, 10]] * 5, float)
    seqs = [Sequence("s", ["f"] * 5, "otb", gt)]
    _write_run(tmp_path, "t", "p", None, "s", gt + [2, 0, 0, 0])
    out = analyze(trackers_from_specs(["t:p"], results_path=str(tmp_path)), seqs, plot_dir=str(tmp_path / "plots"),
                  use_cache=False)
    assert [os.path.basename(p) for p in out.plots] == ["success_plot.png", "precision_plot.png",
                                                        "norm_precision_plot.png"]
    with open(out.plots[0], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_per_attribute_breakdown_from_pytracking_json_and_flag_folder(tmp_path):
    from pytracking_slt.analysis import load_attributes
    from pytracking_slt.analysis.attributes import LASOT_SHORT
    gt = A([[1, 1, 10, 10]] * 3, float)
    seqs = [Sequence(n, ["f"] * 3, "lasot", gt, target_visible=A([1, 1, 1])) for n in ("a-1", "b-1")]
    _write_run(tmp_path, "t", "p", None, "a-1", gt)                        # perfect
    _write_run(tmp_path, "t", "p", None, "b-1", gt + [50, 0, 0, 0])        # lost after frame 0
    spec = tmp_path / "LaSOT_attributes.json"
    spec.write_text('{"att_name_short": ["IV", "FM"], "att_name_long": ["Illumination Variation", "Fast Motion"],'
                    ' "a-1": ["IV"], "b-1": ["IV", "FM"]}')
    att = load_attributes("lasot", str(spec))
    out = analyze(trackers_from_specs(["t:p"], results_path=str(tmp_path)), seqs, attributes=att, use_cache=False)
    assert len(out.attribute_tables) == 2
    assert "attribute FM: Fast Motion" in out.attribute_tables[1] and "over 1 / 1 sequences" in out.attribute_tables[1]
    folder = tmp_path / "att"
    folder.mkdir()
    (folder / "a-1.txt").write_text(",".join(["1"] + ["0"] * 13))
    flags = load_attributes("lasot", str(folder))
    assert flags["a-1"] == ["IV"] and flags["att_name_short"] == LASOT_SHORT


def test_got10k_convention_through_evaluate_uses_cover_and_resolution(tmp_path):
    gt = A([[30, 1, 10, 10]] * 3, float)
    seq = Sequence("g", ["f"] * 3, "got10k", gt, cover=A([8, 8, 0]), image_size=(35, 20))
    _write_run(tmp_path, "t", "p", None, "g", gt + [0, 0, 10, 0])          # unclipped IoU 0.5; clipped to W=35: 1
    ev = evaluate(trackers_from_specs(["t:p"], results_path=str(tmp_path)), [seq], "got10k")
    assert ev.results[0].scores["AO"] == pytest.approx(100.0) and ev.results[0].scores["SR0.75"] == 100.0
    assert format_table(ev).startswith("Convention: GOT-10k toolkit")
