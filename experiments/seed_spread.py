"""Seed-to-seed spread of the demo: run the whole ``slt-demo`` pipeline for several seeds.

    python experiments/seed_spread.py [--seeds 0 1 2] [--out runs/seed_spread] [--quick]

Each seed changes everything (training data, held-out data, initialisation, sampling), so the
spread of a row is what one demo run's number is worth. Prints, per model, AUC / Precision mean and
sample standard deviation, and the paired differences SLT - FLT and SLT - FLT-continued (mean, std,
and for how many seeds SLT won). Writes ``<out>/seed_spread.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, Sequence

try:
    import ltr_slt  # noqa: F401
except ImportError:  # running from a source checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ltr_slt.demo import FULL, LABELS, MODELS, QUICK, run_demo


def _mean_std(values: Sequence[float]) -> str:
    m = statistics.fmean(values)
    s = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{m:6.2f} ± {s:5.2f}"


def summarise(per_seed: Dict[int, Dict[str, Dict[str, float]]]) -> str:
    seeds = sorted(per_seed)
    lines = [f"Seeds: {seeds} (mean ± sample std over seeds; metrics in percent)", "",
             f"{'model':<14} | {'AUC':^15} | {'Precision':^15} | per-seed AUC", "-" * 72]
    for key in MODELS:
        auc = [per_seed[s][key]["AUC"] for s in seeds]
        prec = [per_seed[s][key]["Precision"] for s in seeds]
        lines.append(f"{LABELS[key]:<14} | {_mean_std(auc)} | {_mean_std(prec)} | "
                     + " ".join(f"{a:.2f}" for a in auc))
    lines.append("")
    for other in ("flt", "flt_continued"):
        diff = [per_seed[s]["slt"]["AUC"] - per_seed[s][other]["AUC"] for s in seeds]
        wins = sum(d > 0 for d in diff)
        lines.append(f"SLT - {LABELS[other]:<13} AUC: {_mean_std(diff)}  (SLT ahead on {wins}/{len(seeds)} seeds; "
                     f"per seed: {' '.join(f'{d:+.2f}' for d in diff)})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="runs/seed_spread")
    p.add_argument("--quick", action="store_true", help="tiny sizes (plumbing check; numbers mean nothing)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    per_seed: Dict[int, Dict[str, Dict[str, float]]] = {}
    timings: Dict[int, float] = {}
    for seed in args.seeds:
        start = time.perf_counter()
        cfg = dataclasses.replace(QUICK if args.quick else FULL)
        report = run_demo(cfg, out / f"seed_{seed}", seed=seed, quick=args.quick)
        per_seed[seed] = report["evaluation"]["scores"]
        timings[seed] = round(time.perf_counter() - start, 1)
        print(report["evaluation"]["table"], flush=True)
    text = summarise(per_seed)
    print()
    print(text)
    (out / "seed_spread.json").write_text(json.dumps({"scores": per_seed, "seconds": timings,
                                                      "quick": args.quick, "summary": text}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
