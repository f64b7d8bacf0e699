"""Seed-to-seed spread of the demo: run the whole ``slt-demo`` pipeline for several SLT seeds.

    python experiments/seed_spread.py [--seeds 0 1 2] [--out runs/seed_spread] [--quick]
                                      [--reuse-demo DIR [DIR ...]]   # seeds already run by slt-demo

The data and the pretrained baseline are fixed (as in the real workflow: one pretrained tracker, one
training set); each seed changes SLT's and the FLT-continued controls' sampling and clip order, so
the spread of a row is what one demo run's number is worth. Prints, per model, AUC / Precision mean
and sample standard deviation, and the paired differences SLT - each control (mean, std, and for
how many seeds SLT won). Writes ``<out>/seed_spread.json``.
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
from ltr_slt.demo import CONTROLS, FULL, LABELS, MODELS, QUICK, run_demo


def _mean_std(values: Sequence[float]) -> str:
    m = statistics.fmean(values)
    s = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{m:6.2f} ± {s:5.2f}"


def summarise(per_seed: Dict[int, Dict[str, Dict[str, float]]]) -> str:
    seeds = sorted(per_seed)
    keys = [k for k in MODELS if all(k in per_seed[s] for s in seeds)]
    lines = [f"Seeds: {seeds} (mean ± sample std over seeds; metrics in percent)", "",
             f"{'model':<16} | {'AUC':^15} | {'Precision':^15} | per-seed AUC", "-" * 74]
    for key in keys:
        auc = [per_seed[s][key]["AUC"] for s in seeds]
        prec = [per_seed[s][key]["Precision"] for s in seeds]
        lines.append(f"{LABELS[key]:<16} | {_mean_std(auc)} | {_mean_std(prec)} | "
                     + " ".join(f"{a:.2f}" for a in auc))
    lines.append("")
    slt_std = statistics.stdev([per_seed[s]["slt"]["AUC"] for s in seeds]) if len(seeds) > 1 else float("nan")
    for other in (k for k in CONTROLS if k in keys):
        diff = [per_seed[s]["slt"]["AUC"] - per_seed[s][other]["AUC"] for s in seeds]
        wins = sum(d > 0 for d in diff)
        if len(diff) < 2:
            verdict = "one seed: no spread"
        elif statistics.fmean(diff) > max(slt_std, statistics.stdev(diff)):
            verdict = "gain > seed spread"
        else:
            verdict = "gain NOT larger than the seed spread"
        lines.append(f"SLT - {LABELS[other]:<15} AUC: {_mean_std(diff)}  (SLT ahead on {wins}/{len(seeds)} seeds; "
                     f"per seed: {' '.join(f'{d:+.2f}' for d in diff)}; {verdict})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="runs/seed_spread")
    p.add_argument("--quick", action="store_true", help="tiny sizes (plumbing check; numbers mean nothing)")
    p.add_argument("--reuse-demo", nargs="+", default=[], metavar="DIR",
                   help="earlier slt-demo output folders (same sizes and baseline): their seeds are not re-run")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("ltr_slt.demo").setLevel(logging.INFO)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = dataclasses.replace(QUICK if args.quick else FULL)
    per_seed: Dict[int, Dict[str, Dict[str, float]]] = {}
    timings: Dict[int, float] = {}
    baseline_hash = None
    for folder in args.reuse_demo:
        report = json.loads((Path(folder) / "report.json").read_text())
        if report["config"] != json.loads(json.dumps(dataclasses.asdict(cfg))) or report["seed"] not in args.seeds:
            raise SystemExit(f"--reuse-demo {folder}: sizes differ from this run or its seed "
                             f"{report['seed']} is not among --seeds")
        if baseline_hash and report["flt"].get("sha256") != baseline_hash:
            raise SystemExit(f"--reuse-demo {folder}: ran from another baseline checkpoint")
        per_seed[report["seed"]] = report["evaluation"]["scores"]
        timings[report["seed"]] = report["timings"]["total"]
        baseline_hash = report["flt"].get("sha256")
    for seed in args.seeds:
        if seed in per_seed:
            continue
        start = time.perf_counter()
        report = run_demo(cfg, out / f"seed_{seed}", seed=seed, quick=args.quick)
        if baseline_hash and report["flt"].get("sha256") != baseline_hash:
            raise SystemExit("the reused demo ran from another baseline checkpoint")
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
