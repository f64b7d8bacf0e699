"""``slt-demo``: the whole method on two CPU cores in about ten minutes, no GPU, no downloads.

    slt-demo [--out DIR] [--seed S] [--quick]          (also: python -m ltr_slt.demo)

Stages (each prints its progress and leaves an artefact under ``--out``):

1. **data**: a synthetic training set and a *disjoint* held-out test set (different generator seed
   and sequence indices) with distractors, occlusion, out-of-view and scale change
   (``ltr_slt.dataset.synthetic``), LaSOT layout -> ``data/train``, ``data/test``;
2. **FLT**: frame-level (pair-wise) training of the tiny TransT with the ordinary TransT recipe
   (``ltr_slt.train_settings.transt.transt_tiny``) -> ``models/flt.pth``;
3. **SLT**: sequence-level fine-tuning of that checkpoint with the real SLT trainer
   (``ltr_slt.train_settings.transt.transt_slt_demo``) -> ``models/slt.pth``;
4. **FLT-continued**: the fair ablation, frame-level training continued from the same checkpoint
   for the same number of optimiser updates -> ``models/flt_continued.pth``;
5. **evaluation** of the three models on the held-out set with the real runner
   (``pytracking_slt.evaluation``) and analysis (``pytracking_slt.analysis``): the pytracking-style
   table, a success plot PNG, ``report.json`` and ``report.md`` (seeds, settings, timings).

Everything is seeded (each stage re-seeds from ``--seed``), so the same seed gives the same table on
the same machine (same torch version and thread count). ``--quick`` shrinks every size so the whole
pipeline runs in seconds (the test suite uses it); its numbers mean nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch

logger = logging.getLogger("ltr_slt.demo")

__all__ = ["DemoConfig", "FULL", "QUICK", "run_demo", "main"]

MARKER = ".slt_demo"
MODELS = ("flt", "flt_continued", "slt")
LABELS = {"flt": "FLT", "flt_continued": "FLT-continued", "slt": "SLT"}


@dataclass
class DemoConfig:
    """All sizes of one demo run (``FULL`` ~10 min on 2 cores, ``QUICK`` seconds)."""

    # data (LaSOT layout, 320x240 unless said otherwise)
    train_seqs: int = 40
    train_frames: int = 60
    test_seqs: int = 10
    test_frames: int = 100
    width: int = 320
    height: int = 240
    # frame-level training (~800 updates: the tiny net's box regression only "clicks" after ~300)
    flt_epochs: int = 20
    flt_iters_per_epoch: int = 40
    flt_batch: int = 8
    flt_lr: float = 1e-3
    flt_lr_step: int = 15
    flt_lr_gamma: float = 0.3
    tiny_config: Dict[str, Any] = field(default_factory=lambda: {"dropout": 0.0})
    # sequence-level training (and the same number of continued FLT updates)
    slt_epochs: int = 4
    slt_iters_per_epoch: int = 10
    slt_num_seq: int = 6
    slt_num_frames: int = 10
    slt_num_seq_backward: int = 3
    slt_lr: float = 1e-4
    slt_backbone_lr: float = 1e-4
    slt_loss_weight: float = 15.0
    slt_temperature: float = 4.0
    flt_continued_lr: Optional[float] = None   # None: the learning rate FLT ended with
    # evaluation / machine
    threads: int = 1             # torch threads for training (2 threads collapse when the cores are shared)
    eval_workers: int = 2        # runner processes for evaluation (0 = in-process)

    @property
    def slt_updates(self) -> int:
        return self.slt_epochs * self.slt_iters_per_epoch


FULL = DemoConfig()
QUICK = DemoConfig(train_seqs=2, train_frames=12, test_seqs=2, test_frames=8, width=128, height=96,
                   flt_epochs=1, flt_iters_per_epoch=2, flt_batch=2, flt_lr=1e-3, flt_lr_step=10,
                   slt_epochs=1, slt_iters_per_epoch=1, slt_num_seq=2, slt_num_frames=3, slt_num_seq_backward=2,
                   slt_lr=1e-3, slt_backbone_lr=1e-3, threads=1, eval_workers=0)


# ----------------------------------------------------------------------------------------------
# helpers

@dataclass
class StageTimer:
    timings: Dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str, title: str) -> Iterator[None]:
        logger.info("=" * 20 + " %s " + "=" * 20, title)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 2)
        logger.info("%s done in %.1f s", title, self.timings[name])


def _seed(seed: int, offset: int) -> None:
    from ltr_slt.admin.seeding import seed_everything
    seed_everything(int(seed) * 1000 + offset)


def _prepare_out(out: Path) -> None:
    """Create ``out``; reuse it only when an earlier demo made it (never wipe a foreign folder)."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise FileExistsError(f"--out {out} exists and was not made by slt-demo (no {MARKER} file); "
                              "choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by slt-demo; its sub-folders are replaced on every run\n")
    for sub in ("data", "workspace", "models", "results", "plots"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)


def _settings(out: Path, name: str, seed: int, device: str) -> Any:
    from ltr_slt.admin.environment import env_settings
    from ltr_slt.admin.settings import Settings
    s = Settings(env_settings(workspace_dir=str(out / "workspace"), tensorboard_dir=""))
    s.update(module_name="transt", script_name=name, project_path=f"ltr/transt/{name}", seed=seed, device=device,
             rank=0, world_size=1, local_rank=0)
    return s


def _save_net(net: torch.nn.Module, path: Path) -> str:
    """Net-only checkpoint (weights + constructor) that ``load_network`` reads without trusting pickles."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"net": net.state_dict(), "constructor": getattr(net, "constructor", None),
                "net_type": type(net).__name__}, str(path))
    return str(path)


def _history(trainer: Any, names: Sequence[str]) -> Dict[str, List[float]]:
    stats = (trainer.stats or {}).get("train") or {}
    return {n: [round(float(v), 5) for v in getattr(stats.get(n), "history", [])] for n in names if n in stats}


def _log_epochs(title: str, hist: Dict[str, List[float]]) -> None:
    if not hist:
        return
    n = max(len(v) for v in hist.values())
    for e in range(n):
        parts = [f"{k}={v[e]:.4f}" for k, v in hist.items() if e < len(v)]
        logger.info("%s epoch %d: %s", title, e + 1, "  ".join(parts))


# ----------------------------------------------------------------------------------------------
# stages

def stage_data(cfg: DemoConfig, out: Path, seed: int) -> Dict[str, Any]:
    from ltr_slt.dataset.synthetic import SyntheticConfig, generate_dataset
    train_root, test_root = out / "data" / "train", out / "data" / "test"
    train_seed, test_seed = seed * 2 + 1, seed * 2 + 2   # different generator streams
    test_start = 100000                                  # and disjoint sequence indices
    train_cfg = SyntheticConfig(num_frames=cfg.train_frames, width=cfg.width, height=cfg.height)
    test_cfg = SyntheticConfig(num_frames=cfg.test_frames, width=cfg.width, height=cfg.height)
    train_names = generate_dataset(str(train_root), "lasot", cfg.train_seqs, train_seed, train_cfg, test_every=0)
    logger.info("training set: %d sequences x %d frames -> %s", len(train_names), cfg.train_frames, train_root)
    test_names = generate_dataset(str(test_root), "lasot", cfg.test_seqs, test_seed, test_cfg,
                                  start_index=test_start, test_every=1)
    logger.info("held-out test set: %d sequences x %d frames -> %s", len(test_names), cfg.test_frames, test_root)
    return {"train_root": str(train_root), "test_root": str(test_root), "train_seed": train_seed,
            "test_seed": test_seed, "test_start_index": test_start, "train_sequences": train_names,
            "test_sequences": test_names, "train_config": dataclasses.asdict(train_cfg),
            "test_config": dataclasses.asdict(test_cfg)}


def _flt_settings(cfg: DemoConfig, out: Path, name: str, seed: int, device: str, train_root: str,
                  epochs: int, iters: int, lr: float, lr_step: int, start: Optional[str] = None) -> Any:
    from ltr_slt.train_settings.transt import transt_tiny
    s = _settings(out, name, seed, device)
    transt_tiny.configure(s)
    s.update(batch_size=cfg.flt_batch, samples_per_epoch=cfg.flt_batch * iters, num_epochs=epochs, lr=lr,
             backbone_lr=lr, lr_step=lr_step, lr_gamma=cfg.flt_lr_gamma, tiny_config=dict(cfg.tiny_config),
             synthetic_train_root=train_root, pretrained_net_path=start, trusted_checkpoint=False,
             print_interval=max(1, iters // 2))
    return s


def stage_flt(cfg: DemoConfig, out: Path, seed: int, device: str, train_root: str) -> Dict[str, Any]:
    from ltr_slt.train_settings.transt import transt_tiny
    _seed(seed, 2)
    s = _flt_settings(cfg, out, "demo_flt", seed, device, train_root, cfg.flt_epochs, cfg.flt_iters_per_epoch,
                      cfg.flt_lr, cfg.flt_lr_step)
    net, trainer = transt_tiny.build(s)
    trainer.train(cfg.flt_epochs)
    hist = _history(trainer, ["Loss/total", "Loss/ce", "Loss/bbox", "Loss/giou", "mIoU"])
    _log_epochs("FLT", hist)
    final_lr = float(trainer.optimizer.param_groups[0]["lr"])
    return {"model": _save_net(trainer.net, out / "models" / "flt.pth"), "updates": cfg.flt_epochs *
            cfg.flt_iters_per_epoch, "final_lr": final_lr, "history": hist,
            "settings": {k: getattr(s, k) for k in ("batch_size", "samples_per_epoch", "num_epochs", "lr", "lr_step",
                                                    "lr_gamma", "max_gap", "tiny_config")}}


def stage_slt(cfg: DemoConfig, out: Path, seed: int, device: str, train_root: str, start: str,
              name: str = "slt", overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """SLT fine-tuning from ``start``; ``overrides`` (settings values) serve the ablation variants."""
    from ltr_slt.train_settings.transt import transt_slt_demo
    _seed(seed, 3)
    s = _settings(out, f"demo_{name}", seed, device)
    transt_slt_demo.configure(s)
    s.update(num_seq=cfg.slt_num_seq, num_frames=cfg.slt_num_frames, min_visible_frames=cfg.slt_num_frames,
             samples_per_epoch=cfg.slt_num_seq * cfg.slt_iters_per_epoch, num_epochs=cfg.slt_epochs,
             num_seq_backward=cfg.slt_num_seq_backward, lr=cfg.slt_lr, backbone_lr=cfg.slt_backbone_lr,
             slt_loss_weight=cfg.slt_loss_weight, temperature=cfg.slt_temperature,
             print_interval=max(1, cfg.slt_iters_per_epoch // 2), synthetic_train_root=train_root,
             pretrained_net_path=start, trusted_checkpoint=False)
    s.update(overrides or {})
    trainer = transt_slt_demo.run(s, overwrite=False)
    hist = _history(trainer, ["Loss/total", "Loss/sl_clf", "Loss/bbox", "Loss/giou", "reward", "mIoU", "e_mIoU"])
    _log_epochs("SLT", hist)
    keys = ("num_seq", "num_frames", "samples_per_epoch", "num_epochs", "num_seq_backward", "lr", "backbone_lr",
            "slt_loss_weight", "temperature", "sig_eps", "window_influence", "frame_sample_mode", "max_interval",
            "interval_prob", "max_gap", "slt_reward", "grad_clip_max_norm", "use_rl_objective", "ss_ce_weight",
            "spatial_augmentation")
    return {"model": _save_net(trainer.net, out / "models" / f"{name}.pth"), "updates": cfg.slt_updates,
            "history": hist, "settings": {k: getattr(s, k, None) for k in keys}}


def stage_flt_continued(cfg: DemoConfig, out: Path, seed: int, device: str, train_root: str, start: str,
                        lr: float, update_factor: int = 1, name: str = "flt_continued") -> Dict[str, Any]:
    """FLT continued from ``start`` for ``update_factor`` x SLT's number of updates (1 = the demo's control;
    larger factors give a compute-matched control, see experiments/ablation.py --flt-continued-x)."""
    from ltr_slt.train_settings.transt import transt_tiny
    _seed(seed, 4)
    # fresh optimiser like SLT, constant lr
    iters, epochs = cfg.slt_iters_per_epoch, cfg.slt_epochs * int(update_factor)
    s = _flt_settings(cfg, out, f"demo_{name}", seed, device, train_root, epochs, iters, lr,
                      lr_step=10 ** 6, start=start)
    net, trainer = transt_tiny.build(s)
    trainer.train(epochs)
    hist = _history(trainer, ["Loss/total", "Loss/ce", "Loss/bbox", "Loss/giou", "mIoU"])
    _log_epochs(name, hist)
    return {"model": _save_net(trainer.net, out / "models" / f"{name}.pth"),
            "updates": cfg.slt_updates * int(update_factor), "lr": lr, "history": hist}


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def stage_eval(out: Path, test_root: str, models: Dict[str, str], device: str,
               labels: Optional[Dict[str, str]] = None, workers: int = 0) -> Dict[str, Any]:
    """Run every model (key -> net-only checkpoint) on the held-out set; table, plots, scores (percent).

    ``workers`` > 0: that many spawned runner processes (one torch thread each); 0: in this process with
    one torch thread (batch-1 tracking of a tiny net gains nothing from more threads and loses a lot
    when the cores are shared).
    """
    from pytracking_slt.analysis import analyze
    from pytracking_slt.evaluation import Tracker, get_dataset, run_dataset
    from pytracking_slt.tracker.base import NetWithBackbone

    labels = labels or LABELS
    dataset = get_dataset("synthetic", root=test_root, split=os.environ.get("SLT_DEMO_EVAL_SPLIT", "test"))
    trackers = []
    for key, path in models.items():
        net = NetWithBackbone(net_path=path, use_gpu=False, device=device)  # lazy, picklable
        trackers.append(Tracker("transt", "transt_tiny", display_name=labels[key], device=device,
                                results_path=str(out / "results" / key), param_overrides={"net": net, "net_path": path}))
    logger.info("evaluating %s on %d held-out sequences (%s)", ", ".join(labels[k] for k in models), len(dataset),
                f"{workers} worker processes" if workers else "in-process")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _env("SLT_TINY_NET", next(iter(models.values()))):  # parameters() needs one; overridden per tracker
            outcomes = run_dataset(dataset, trackers, threads=workers, on_error="fail", progress=True)
    finally:
        torch.set_num_threads(threads)
    logger.info("%d (sequence, model) runs evaluated", len(outcomes))
    with _env("SLT_RESULT_PLOT_PATH", str(out / "plots")):
        res = analyze(trackers, dataset, convention="pytracking", plot_dir=str(out / "plots"), use_cache=False,
                      title="held-out synthetic set")
    scores = {}
    for key, r in zip(models, res.evaluation.results):  # pytracking reports percentages
        scores[key] = {k: float(v) for k, v in r.scores.items() if k != "FPS"}
        scores[key]["FPS"] = float(r.scores.get("FPS", float("nan")))
    return {"table": res.table, "plots": [str(p) for p in res.plots], "scores": scores,
            "num_sequences": len(dataset), "result_dirs": {k: str(out / "results" / k) for k in models}}


# ----------------------------------------------------------------------------------------------
# report

def _markdown(report: Dict[str, Any]) -> str:
    ev = report["evaluation"]
    lines = ["# slt-demo report", "",
             f"Seed {report['seed']}, {'quick' if report['quick'] else 'full'} sizes, device {report['device']}, "
             f"{report['machine']['torch_threads']} torch threads, {report['machine']['cpu_count']} CPUs, "
             f"load average at start {report['machine']['load_start']}, at end {report['machine']['load_end']}.", "",
             "## Held-out results", "", "```", ev["table"].rstrip(), "```", ""]
    for p in ev["plots"]:
        lines.append(f"![success plot]({os.path.relpath(p, report['out'])})")
    slt, flt, cont = (ev["scores"][k]["AUC"] for k in ("slt", "flt", "flt_continued"))
    lines += ["", f"SLT - FLT: {slt - flt:+.2f} AUC points; SLT - FLT-continued: {slt - cont:+.2f} AUC points "
              "(one seed: see experiments/seed_spread.py for the seed-to-seed spread).", "",
              "## Timings (s)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in report["timings"].items()]
    lines += ["", "## Settings", "", "```json", json.dumps({"demo": report["config"], "flt": report["flt"]["settings"],
                                                           "slt": report["slt"]["settings"]}, indent=1), "```", ""]
    return "\n".join(lines)


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run_demo(cfg: DemoConfig, out: str | os.PathLike, seed: int = 0, device: str = "cpu",
             quick: bool = False) -> Dict[str, Any]:
    """Run all stages; returns the report dict (also written to ``<out>/report.json`` / ``report.md``)."""
    out = Path(out).resolve()
    _prepare_out(out)
    torch.set_num_threads(max(1, int(cfg.threads)))
    timer = StageTimer()
    report: Dict[str, Any] = {"seed": seed, "quick": quick, "device": device, "out": str(out),
                              "config": dataclasses.asdict(cfg),
                              "machine": {"torch": torch.__version__, "python": platform.python_version(),
                                          "platform": platform.platform(), "cpu_count": os.cpu_count(),
                                          "torch_threads": torch.get_num_threads(), "load_start": _load()}}
    start = time.perf_counter()
    with timer.stage("data", "1/5 synthetic data"):
        _seed(seed, 1)
        report["data"] = stage_data(cfg, out, seed)
    with timer.stage("flt", "2/5 frame-level training (FLT)"):
        report["flt"] = stage_flt(cfg, out, seed, device, report["data"]["train_root"])
    flt_model = report["flt"]["model"]
    with timer.stage("slt", "3/5 sequence-level training (SLT)"):
        report["slt"] = stage_slt(cfg, out, seed, device, report["data"]["train_root"], flt_model)
    with timer.stage("flt_continued", "4/5 FLT continued for the same number of updates"):
        lr = cfg.flt_continued_lr if cfg.flt_continued_lr is not None else report["flt"]["final_lr"]
        report["flt_continued"] = stage_flt_continued(cfg, out, seed, device, report["data"]["train_root"],
                                                      flt_model, lr)
    with timer.stage("eval", "5/5 evaluation on the held-out set"):
        models = {k: report[k]["model"] for k in MODELS}
        report["evaluation"] = stage_eval(out, report["data"]["test_root"], models, device,
                                          workers=cfg.eval_workers)
    timer.timings["total"] = round(time.perf_counter() - start, 2)
    report["timings"] = timer.timings
    report["machine"]["load_end"] = _load()
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "report.md").write_text(_markdown(report))
    (out / "table.txt").write_text(report["evaluation"]["table"])
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slt-demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="slt_demo_out", help="output folder (default ./slt_demo_out)")
    p.add_argument("--seed", type=int, default=0, help="seed of every stage (default 0)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: the whole pipeline in seconds (for tests)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads for training (default 1: two threads collapse when the cores are shared)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    cfg = dataclasses.replace(QUICK if args.quick else FULL)
    if args.threads:
        cfg.threads = args.threads
    try:
        report = run_demo(cfg, args.out, seed=args.seed, device=args.device, quick=args.quick)
    except FileExistsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print()
    print(report["evaluation"]["table"])
    print(f"success plot: {', '.join(report['evaluation']['plots'])}")
    print(f"report: {Path(report['out']) / 'report.md'}  ({report['timings']['total']:.0f} s in total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
