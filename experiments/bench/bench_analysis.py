"""Analysis speed: 280 sequences x 2500 frames x 5 trackers (generated numbers, LaSOT rules).

Times (1) our vectorised pytracking-convention scoring from in-memory arrays, (2) the same from
result files on disk through ``evaluate`` (cold cache, then warm cache), and (3) a straightforward
per-frame Python loop (the rules of pytracking's extract_results written frame by frame). The loop
runs on a subset of sequences and is extrapolated linearly (it is said in the output); its numbers
are checked against the vectorised ones on that subset.

    python experiments/bench/bench_analysis.py [--sequences 280 --frames 2500 --trackers 5 --loop_sequences 6]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from pytracking_slt.analysis import (aggregate, curves_from_errors, evaluate, pytracking_seq_stats,  # noqa: E402
                                     scores_from_curves, seq_errors)
from pytracking_slt.analysis.metrics import overlap_thresholds  # noqa: E402
from pytracking_slt.evaluation import Sequence, Tracker, save_tracker_output  # noqa: E402


def generate(num_seq: int, num_frames: int, num_trackers: int, seed: int = 0):
    """GT random walks, visibility with occlusion bursts, predictions = GT + tracker-specific noise/drift."""
    rng = np.random.default_rng(seed)
    gts, vis, preds = [], [], []
    for s in range(num_seq):
        xy = np.cumsum(rng.normal(0, 2, (num_frames, 2)), axis=0) + 300
        wh = np.clip(60 + np.cumsum(rng.normal(0, 0.5, (num_frames, 2)), axis=0), 8, None)
        gt = np.round(np.concatenate([xy, wh], axis=1))
        v = np.ones(num_frames, dtype=bool)
        start = rng.integers(0, num_frames - 50)
        v[start:start + rng.integers(0, 50)] = False
        gts.append(gt)
        vis.append(v)
        preds.append([np.clip(gt + rng.normal(0, 3 + 4 * t, gt.shape), [-50, -50, 0, 0], None).astype(int)
                      .astype(np.float64) for t in range(num_trackers)])
    return gts, vis, preds


def loop_scores(pred, gt, visible):
    """Per-frame Python transcription of extract_results (LaSOT rules) -> success[21], prec[51], nprec[51]."""
    pred = [list(r) for r in pred]
    n = len(gt)
    for i in range(1, len(pred)):
        if pred[i][2] == 0 or pred[i][3] == 0:
            pred[i] = list(pred[i - 1])
    pred[0] = list(gt[0])
    thr_o = overlap_thresholds().tolist()
    succ, prec, nprec = [0] * 21, [0] * 51, [0] * 51
    for i in range(n):
        p, g = pred[i], gt[i]
        valid = all(v > 0 for v in g) and visible[i]
        x1, y1 = max(p[0], g[0]), max(p[1], g[1])
        x2, y2 = min(p[0] + p[2] - 1, g[0] + g[2] - 1), min(p[1] + p[3] - 1, g[1] + g[3] - 1)
        inter = max(x2 - x1 + 1, 0) * max(y2 - y1 + 1, 0)
        ov = inter / (p[2] * p[3] + g[2] * g[3] - inter)
        pcx, pcy = p[0] + 0.5 * (p[2] - 1), p[1] + 0.5 * (p[3] - 1)
        gcx, gcy = g[0] + 0.5 * (g[2] - 1), g[1] + 0.5 * (g[3] - 1)
        ce = math.sqrt((pcx - gcx) ** 2 + (pcy - gcy) ** 2)
        cn = math.sqrt((pcx / g[2] - gcx / g[2]) ** 2 + (pcy / g[3] - gcy / g[3]) ** 2)
        if not valid:
            ov, cn, ce = -1.0, -1.0, math.inf
        if not visible[i]:
            ce, cn = math.inf, math.inf
        for j, t in enumerate(thr_o):
            succ[j] += ov > t
        for j in range(51):
            prec[j] += ce <= j
            nprec[j] += cn <= j / 100.0
    return [c / n for c in succ], [c / n for c in prec], [c / n for c in nprec]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sequences", type=int, default=280)
    ap.add_argument("--frames", type=int, default=2500)
    ap.add_argument("--trackers", type=int, default=5)
    ap.add_argument("--loop_sequences", type=int, default=6, help="subset for the per-frame loop (extrapolated)")
    ap.add_argument("--skip_files", action="store_true", help="skip the result-file part")
    args = ap.parse_args(argv)
    S, N, T = args.sequences, args.frames, args.trackers
    print(f"generating {S} sequences x {N} frames x {T} trackers ...")
    gts, vis, preds = generate(S, N, T)

    overlap_thresholds()   # one-time torch import / threshold creation, outside the timings
    t0 = time.perf_counter()
    aucs = []
    for t in range(T):   # batched: per-sequence errors, then all curves of a tracker in one pass
        curves = curves_from_errors([seq_errors(preds[s][t], gts[s], "lasot", vis[s]) for s in range(S)])
        aucs.append(scores_from_curves(curves).auc)
    t_vec = time.perf_counter() - t0
    print(f"vectorised (numpy, in memory, batched curves): {t_vec:.2f} s  -> AUCs {[round(a, 2) for a in aucs]}")
    t0 = time.perf_counter()
    for t in range(T):   # the per-sequence records used by evaluate() / the cache
        stats = [pytracking_seq_stats(preds[s][t], gts[s], "lasot", vis[s]) for s in range(S)]
        assert abs(aggregate(stats, "pytracking")["AUC"] - aucs[t]) < 1e-9
    print(f"vectorised, per-sequence records (what evaluate() caches): {time.perf_counter() - t0:.2f} s")

    k = min(args.loop_sequences, S)
    t0 = time.perf_counter()
    for s in range(k):
        ref = loop_scores(preds[s][0].tolist(), gts[s].tolist(), vis[s].tolist())
        ours = pytracking_seq_stats(preds[s][0], gts[s], "lasot", vis[s])
        assert np.allclose(ref[0], ours.curves["success"]) and np.allclose(ref[1], ours.curves["precision"]) \
            and np.allclose(ref[2], ours.curves["norm_precision"]), f"loop and vectorised disagree on sequence {s}"
    t_loop_subset = time.perf_counter() - t0
    t_loop = t_loop_subset / k * S * T
    print(f"per-frame Python loop: {t_loop_subset:.2f} s for {k} sequence(s) of 1 tracker; extrapolated to "
          f"{S * T} (sequence, tracker) pairs: {t_loop:.1f} s (= {t_loop / 60:.1f} min)  [same curves: checked]")
    print(f"speed-up (loop / vectorised): {t_loop / t_vec:.0f}x")

    if not args.skip_files:
        with tempfile.TemporaryDirectory() as tmp:
            seqs = [Sequence(f"seq-{s}", [""] * N, "lasot", gts[s], target_visible=vis[s]) for s in range(S)]
            trackers = [Tracker(f"trk{t}", "p", results_path=tmp) for t in range(T)]
            t0 = time.perf_counter()
            for t, trk in enumerate(trackers):
                for s in range(S):
                    save_tracker_output(trk.results_dir, seqs[s].name, {"target_bbox": preds[s][t],
                                                                         "time": [0.01] * N})
            print(f"(writing {S * T} result files: {time.perf_counter() - t0:.1f} s)")
            cache = os.path.join(tmp, "cache.pkl")
            t0 = time.perf_counter()
            ev = evaluate(trackers, seqs, "pytracking", cache_path=cache)
            t_cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            evaluate(trackers, seqs, "pytracking", cache_path=cache)
            t_warm = time.perf_counter() - t0
            assert np.allclose([r.scores["AUC"] for r in ev.results], aucs)
            print(f"from result files via evaluate(): cold cache {t_cold:.2f} s (reading + scoring), "
                  f"warm cache {t_warm:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
