"""SS / SO / SA ablation of SLT on the synthetic benchmark (paper Table 1 style), one table.

    python experiments/ablation.py [--seed 0] [--out runs/ablation] [--quick]

From the demo's pretrained tiny TransT (the shipped baseline, or `--baseline FILE`), four fine-tunings with the same
number of updates, evaluated on the same held-out set (``slt_algorithm.md`` section 12):

* **SS**: sequence-level sampling only: the tracker runs on sampled clips (search crops follow its
  own predictions) and learns with the frame-level TransT loss (CE x8.334 + L1 x5 + GIoU x2) on
  those crops, no RL objective, sequential clips;
* **SS+SO**: + the sequence-level objective (REINFORCE with the greedy baseline, CE dropped, x15);
* **SS+SO+SA**: + temporal augmentation (random-interval clips, prob 0.3, max interval 5);
* **SS+SO+SA+spatial**: + spatial sequence augmentation consistent across each clip.

Plus the FLT starting point and FLT continued for the same number of updates. Writes
``<out>/ablation.json`` and the table.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, Sequence

try:
    import ltr_slt  # noqa: F401
except ImportError:  # running from a source checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ltr_slt import demo

VARIANTS: Dict[str, Dict[str, Any]] = {
    "ss": {"use_rl_objective": False, "ss_ce_weight": 8.334, "frame_sample_mode": "sequential"},
    "ss_so": {"use_rl_objective": True, "ss_ce_weight": 0.0, "frame_sample_mode": "sequential"},
    "ss_so_sa": {"use_rl_objective": True, "ss_ce_weight": 0.0, "frame_sample_mode": "random_interval"},
    "ss_so_sa_spatial": {"use_rl_objective": True, "ss_ce_weight": 0.0, "frame_sample_mode": "random_interval",
                         "spatial_augmentation": True},
}
LABELS = {"flt": "FLT", "flt_continued": "FLT-continued", "ss": "SS", "ss_so": "SS+SO", "ss_so_sa": "SS+SO+SA",
          "ss_so_sa_spatial": "SS+SO+SA+spatial"}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/ablation")
    p.add_argument("--quick", action="store_true", help="tiny sizes (plumbing check; numbers mean nothing)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--reuse-demo", default=None, metavar="DIR",
                   help="take data/ and models/flt.pth, flt_continued.pth from an earlier slt-demo run with the "
                        "same --seed and sizes (e.g. a seed_spread.py run) instead of redoing stages 1, 2 and 4")
    p.add_argument("--baseline", default=None, help="baseline checkpoint (default: the shipped one)")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS),
                   help="SLT variants to train (default: all)")
    p.add_argument("--flt-continued-x", type=int, default=0, metavar="K",
                   help="also continue FLT for K x SLT's number of updates (a compute-matched control)")
    args = p.parse_args(argv)
    demo._setup_logging(verbose=False)   # stage lines and progress bars, no per-step log lines
    cfg = dataclasses.replace(demo.QUICK if args.quick else demo.FULL)
    out = Path(args.out).resolve()
    demo._prepare_out(out)
    import torch
    torch.set_num_threads(cfg.threads)
    timings: Dict[str, float] = {}
    t0 = time.perf_counter()
    if args.reuse_demo:
        src = Path(args.reuse_demo).resolve()
        report = json.loads((src / "report.json").read_text())
        if report["seed"] != args.seed or report["config"] != dataclasses.asdict(cfg):
            raise SystemExit(f"--reuse-demo {src}: seed/config differ from this run (seed {report['seed']})")
        data = {"train_root": report["data"]["train_root"], "test_root": report["data"]["test_root"]}
        flt_model, cont_model, flt_lr = report["flt"]["model"], report["flt_continued"]["model"], report["flt"]["final_lr"]
        demo.logger.info("reusing data and FLT / FLT-continued models of %s", src)
    else:
        baseline = demo._resolve_baseline(cfg, args.baseline)
        from ltr_slt.demo_baseline import read_baseline_record
        record = read_baseline_record(baseline) if baseline else None
        data = demo.stage_data(cfg, out, record)
        flt = (demo.stage_baseline(out, baseline, record) if baseline is not None
               else demo.stage_flt(cfg, out, args.seed, args.device, data["train_root"]))
        flt_model, flt_lr = flt["model"], flt["final_lr"]
        timings["data+flt"] = round(time.perf_counter() - t0, 1)
        t = time.perf_counter()
        cont_model = demo.stage_flt_continued(cfg, out, args.seed, args.device, data["train_root"], flt_model,
                                              flt_lr)["model"]
        timings["flt_continued"] = round(time.perf_counter() - t, 1)
    models = {"flt": flt_model, "flt_continued": cont_model}
    histories = {}
    if args.flt_continued_x > 1:
        t = time.perf_counter()
        name = f"flt_continued_x{args.flt_continued_x}"
        LABELS[name] = f"FLT-continued x{args.flt_continued_x}"
        models[name] = demo.stage_flt_continued(cfg, out, args.seed, args.device, data["train_root"], flt_model,
                                                flt_lr, update_factor=args.flt_continued_x, name=name)["model"]
        timings[name] = round(time.perf_counter() - t, 1)
    for name in args.variants:
        overrides = VARIANTS[name]
        t = time.perf_counter()
        res = demo.stage_slt(cfg, out, args.seed, args.device, data["train_root"], flt_model, name=name,
                             overrides=overrides)
        models[name] = res["model"]
        histories[name] = res["history"]
        timings[name] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    ev = demo.stage_eval(out, data["test_root"], models, args.device, labels=LABELS, workers=cfg.eval_workers)
    timings["eval"] = round(time.perf_counter() - t, 1)
    print()
    print(ev["table"])
    (out / "ablation.json").write_text(json.dumps({"seed": args.seed, "quick": args.quick, "variants": VARIANTS,
                                                   "scores": ev["scores"], "table": ev["table"], "timings": timings,
                                                   "histories": histories, "config": dataclasses.asdict(cfg)},
                                                  indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
