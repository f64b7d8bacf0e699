"""``slt-demo``: SLT fine-tuning of a pretrained tracker on two CPU cores in about ten minutes.

    slt-demo [--out DIR] [--seed S] [--quick] [--baseline FILE]   (also: python -m ltr_slt.demo)
    slt-demo --train-baseline [--out DIR]                         (re-make the shipped baseline, ~1 h)

SLT always starts from a well-trained frame-level tracker (the paper: TransT at 64 AUC). The demo
starts from the project's shipped tiny TransT (``ltr_slt/demo_data/baseline_transt_tiny.pth``,
trained frame-level by ``slt-demo --train-baseline``, recipe and seeds in the JSON beside it; see
:mod:`ltr_slt.demo_baseline`). Stages (one progress bar each, artefacts under ``--out``):

1. **data**: the SLT training set (a prefix of the baseline's own training set: same generator
   seed and difficulty) and a *disjoint* held-out test set (other seed, sequence indices from 100000)
   with distractors, occlusion, out-of-view, scale change and fast motion
   (``ltr_slt.dataset.synthetic``), LaSOT layout + attribute JSON -> ``data/train``, ``data/test``;
2. **baseline (FLT)**: the shipped checkpoint -> ``models/flt.pth`` (``--quick``: a few frame-level
   updates from scratch, plumbing only);
3. **SLT**: sequence-level fine-tuning of the baseline with the real SLT trainer
   (``ltr_slt.train_settings.transt.transt_slt_demo``) -> ``models/slt.pth``;
4. **FLT-continued**: frame-level training continued from the baseline for the same number of
   optimiser updates (``models/flt_continued.pth``), and a second control for the same *wall time*
   as SLT (``models/flt_continued_time.pth``);
5. **evaluation** on the held-out set with the real runner (``pytracking_slt.evaluation``) and
   analysis (``pytracking_slt.analysis``): the pytracking table, per-attribute AUC, a success plot, a
   strip of frames (GT / FLT / SLT boxes) of the sequence SLT improves most, ``report.json`` and
   ``report.md``.

``--seed`` seeds SLT and the FLT-continued controls (the data and the baseline are fixed), so the
same seed gives the same table on the same machine (same torch version and thread count); the
wall-time control's number of updates depends on the machine. ``--quick`` shrinks every size so the
whole pipeline runs in seconds (the test suite uses it); its numbers mean nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
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

__all__ = ["DemoConfig", "FULL", "QUICK", "MODELS", "LABELS", "run_demo", "attach_progress", "train_for", "main"]

MARKER = ".slt_demo"


def _tiny_config() -> Dict[str, Any]:
    from ltr_slt.demo_baseline import DEMO_TINY_CONFIG
    return DEMO_TINY_CONFIG

MODELS = ("flt", "flt_continued", "flt_continued_time", "slt")
LABELS = {"flt": "FLT", "flt_continued": "FLT-continued", "flt_continued_time": "FLT-cont.(time)", "slt": "SLT"}
CONTROLS = ("flt", "flt_continued", "flt_continued_time")   # the rows SLT is compared with


@dataclass
class DemoConfig:
    """All sizes of one demo run (``FULL`` ~10 min on 2 cores, ``QUICK`` seconds)."""

    # data (LaSOT layout; difficulty: the baseline record's, else ltr_slt.demo_baseline.DEMO_DIFFICULTY)
    train_seqs: int = 60         # a prefix of the baseline's training set
    train_frames: int = 60
    test_seqs: int = 20
    test_frames: int = 100
    test_seed: int = 2           # held-out generator seed (the baseline trained on seed 1, validated on 3)
    test_start_index: int = 100000
    width: int = 320
    height: int = 240
    # baseline: the shipped checkpoint (None: train one from scratch with the flt_* sizes, quick mode)
    baseline: Optional[str] = "shipped"
    flt_epochs: int = 20
    flt_iters_per_epoch: int = 40
    flt_batch: int = 8
    flt_lr: float = 1e-3
    flt_lr_step: int = 15
    flt_lr_gamma: float = 0.3
    tiny_config: Dict[str, Any] = field(default_factory=lambda: dict(_tiny_config()))
    # sequence-level training (and the same number of continued FLT updates)
    slt_epochs: int = 6
    slt_iters_per_epoch: int = 10
    slt_num_seq: int = 6
    slt_num_frames: int = 10
    slt_num_seq_backward: int = 3
    slt_lr: float = 2e-4         # picked on the validation split (seed 3), never on the held-out set
    slt_backbone_lr: float = 2e-4
    slt_loss_weight: float = 15.0
    slt_temperature: float = 4.0
    flt_continued_lr: Optional[float] = None   # None: the baseline's final learning rate
    wall_time_control: bool = True             # also FLT continued for SLT's wall time
    # evaluation / machine
    threads: int = 1             # torch threads for training (2 threads collapse when the cores are shared)
    eval_workers: int = 2        # runner processes for evaluation (0 = in-process)
    strip_frames: int = 6        # frames in the FLT-vs-SLT picture

    @property
    def slt_updates(self) -> int:
        return self.slt_epochs * self.slt_iters_per_epoch


FULL = DemoConfig()
QUICK = DemoConfig(train_seqs=2, train_frames=12, test_seqs=3, test_frames=8, width=128, height=96, baseline=None,
                   flt_epochs=1, flt_iters_per_epoch=2, flt_batch=2, flt_lr=1e-3, flt_lr_step=10,
                   slt_epochs=1, slt_iters_per_epoch=1, slt_num_seq=2, slt_num_frames=3, slt_num_seq_backward=2,
                   slt_lr=1e-3, slt_backbone_lr=1e-3, threads=1, eval_workers=0, strip_frames=3)


# ----------------------------------------------------------------------------------------------
# helpers

@dataclass
class StageTimer:
    timings: Dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str, title: str) -> Iterator[None]:
        logger.info("%s", title)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 2)
        logger.info("%s: done in %.1f s", title, self.timings[name])


class _BarProgress:
    """Stands in for the trainer's ``ProgressLogger``: one tqdm bar over all updates of a stage."""

    def __init__(self, bar: Any, show: Sequence[str]) -> None:
        self.bar, self.show = bar, list(show)

    def start_epoch(self) -> None:
        pass

    def update(self, loader_name: str, epoch: int, it: int, num_it: Optional[int], n: int,
               stats: Any) -> None:
        self.bar.update(1)
        post = {}
        for name in self.show:
            meter = stats.get(name) if hasattr(stats, "get") else None
            value = getattr(meter, "avg", meter)
            if isinstance(value, (int, float)):
                post[name.split("/")[-1]] = f"{float(value):.3f}"
        if post:
            self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        self.bar.close()


def attach_progress(trainer: Any, total: int, desc: str, enabled: bool = True,
                    show: Sequence[str] = ("Loss/total", "mIoU")) -> _BarProgress:
    """Replace the trainer's periodic log lines by one progress bar of ``total`` updates."""
    from tqdm import tqdm
    bar = _BarProgress(tqdm(total=total, desc=desc, unit="upd", dynamic_ncols=True, disable=not enabled,
                            leave=True), show)
    trainer.progress = bar
    return bar


def train_for(trainer: Any, epochs: int, wall_time: Optional[float] = None, start: Optional[float] = None) -> None:
    """``epochs`` epochs, or with ``wall_time`` as many epochs as fit in that many seconds since ``start``
    (at least one): the wall-time control of the FLT-continued runs."""
    if wall_time is None:
        trainer.train(epochs)
        return
    start = time.perf_counter() if start is None else start
    epoch = 0
    while epoch == 0 or time.perf_counter() - start < wall_time:
        epoch += 1
        trainer.train(epoch)


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
    for sub in ("data", "workspace", "models", "results", "plots", "val"):
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


def _resolve_baseline(cfg: DemoConfig, override: Optional[str]) -> Optional[Path]:
    """The baseline checkpoint to start from (None: train one, quick mode); clear error when missing."""
    from ltr_slt.demo_baseline import SHIPPED_BASELINE
    choice = override or cfg.baseline
    if not choice:
        return None
    path = SHIPPED_BASELINE if choice == "shipped" else Path(choice)
    if not path.is_file():
        raise FileNotFoundError(f"baseline checkpoint {path} not found (re-make it with `slt-demo --train-baseline "
                                "--out DIR`, then pass --baseline DIR/baseline_transt_tiny.pth)")
    return path


# ----------------------------------------------------------------------------------------------
# stages

def stage_data(cfg: DemoConfig, out: Path, baseline_record: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Training set = prefix of the baseline's training data (same seed / difficulty); disjoint held-out set."""
    from ltr_slt.dataset.synthetic import generate_dataset
    from ltr_slt.demo_baseline import BASELINE_RECIPE, synthetic_config
    train_root, test_root = out / "data" / "train", out / "data" / "test"
    recipe = (baseline_record or {}).get("recipe") or {}
    train_seed = int(recipe.get("data_seed", BASELINE_RECIPE.data_seed))
    train_frames = int(recipe.get("train_frames", cfg.train_frames)) if baseline_record else cfg.train_frames
    if cfg.test_seed == train_seed or cfg.test_seed == int(recipe.get("val_seed", BASELINE_RECIPE.val_seed)):
        raise ValueError(f"DemoConfig.test_seed={cfg.test_seed} must differ from the baseline's data / validation seeds")
    difficulty = (baseline_record or {}).get("difficulty")   # the baseline's training distribution
    train_cfg = synthetic_config(train_frames, cfg.width, cfg.height, difficulty)
    test_cfg = synthetic_config(cfg.test_frames, cfg.width, cfg.height, difficulty)
    train_names = generate_dataset(str(train_root), "lasot", cfg.train_seqs, train_seed, train_cfg, test_every=0)
    test_names = generate_dataset(str(test_root), "lasot", cfg.test_seqs, cfg.test_seed, test_cfg,
                                  start_index=cfg.test_start_index, test_every=1)
    logger.info("  training set: %d sequences x %d frames (seed %d); held-out set: %d x %d frames (seed %d)",
                len(train_names), train_frames, train_seed, len(test_names), cfg.test_frames, cfg.test_seed)
    return {"train_root": str(train_root), "test_root": str(test_root), "train_seed": train_seed,
            "test_seed": cfg.test_seed, "test_start_index": cfg.test_start_index, "train_sequences": train_names,
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
    """Frame-level training from scratch (quick mode's stand-in for the shipped baseline)."""
    from ltr_slt.train_settings.transt import transt_tiny
    _seed(seed, 2)
    s = _flt_settings(cfg, out, "demo_flt", seed, device, train_root, cfg.flt_epochs, cfg.flt_iters_per_epoch,
                      cfg.flt_lr, cfg.flt_lr_step)
    net, trainer = transt_tiny.build(s)
    bar = attach_progress(trainer, cfg.flt_epochs * cfg.flt_iters_per_epoch, "FLT from scratch")
    try:
        trainer.train(cfg.flt_epochs)
    finally:
        bar.close()
    final_lr = float(trainer.optimizer.param_groups[0]["lr"])
    return {"model": _save_net(trainer.net, out / "models" / "flt.pth"), "source": "trained from scratch (quick)",
            "updates": cfg.flt_epochs * cfg.flt_iters_per_epoch, "final_lr": final_lr,
            "history": _history(trainer, ["Loss/total", "Loss/ce", "Loss/bbox", "Loss/giou", "mIoU"]),
            "settings": {k: getattr(s, k) for k in ("batch_size", "samples_per_epoch", "num_epochs", "lr", "lr_step",
                                                    "lr_gamma", "max_gap", "tiny_config")}}


def stage_baseline(out: Path, path: Path, record: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Copy the pretrained baseline to ``models/flt.pth`` (checking it against its record's hash)."""
    from ltr_slt.admin.loading import load_network
    from ltr_slt.demo_baseline import _sha256
    digest = _sha256(path)
    if record and record.get("sha256") and record["sha256"] != digest:
        raise ValueError(f"baseline {path}: sha256 {digest[:12]}.. differs from its record "
                         f"{path.with_suffix('.json')} ({record['sha256'][:12]}..)")
    dest = out / "models" / "flt.pth"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    load_network(dest)   # fail here, not in a worker, when it does not load
    recipe = (record or {}).get("recipe") or {}
    # the learning rate of the baseline's last epoch (StepLR: x lr_gamma every lr_step epochs)
    lr = float(recipe.get("lr", 1e-3)) * float(recipe.get("lr_gamma", 1.0)) ** (
        max(0, int(recipe.get("epochs", 1)) - 1) // max(1, int(recipe.get("lr_step", 10 ** 9))))
    val = ((record or {}).get("validation") or [{}])[-1]
    updates = int(recipe["epochs"]) * int(recipe["iters_per_epoch"]) if recipe else "?"
    logger.info("  baseline %s: %s updates, validation AUC %s", path, updates, val.get("val_AUC", "?"))
    return {"model": str(dest), "source": str(path), "sha256": digest, "final_lr": lr, "record": record,
            "settings": (record or {}).get("trainer_settings", {})}


def stage_slt(cfg: DemoConfig, out: Path, seed: int, device: str, train_root: str, start: str,
              name: str = "slt", overrides: Optional[Dict[str, Any]] = None, progress: bool = True) -> Dict[str, Any]:
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
    bars: List[_BarProgress] = []

    def hook(trainer: Any) -> None:
        bars.append(attach_progress(trainer, cfg.slt_updates, name.upper() if name == "slt" else name,
                                    enabled=progress, show=("reward", "mIoU")))

    start_time = time.perf_counter()
    try:
        trainer = transt_slt_demo.run(s, overwrite=False, before_training=hook)
    finally:
        for bar in bars:
            bar.close()
    keys = ("num_seq", "num_frames", "samples_per_epoch", "num_epochs", "num_seq_backward", "lr", "backbone_lr",
            "slt_loss_weight", "temperature", "sig_eps", "window_influence", "frame_sample_mode", "max_interval",
            "interval_prob", "max_gap", "slt_reward", "grad_clip_max_norm", "use_rl_objective", "ss_ce_weight",
            "spatial_augmentation")
    return {"model": _save_net(trainer.net, out / "models" / f"{name}.pth"), "updates": cfg.slt_updates,
            "train_seconds": round(time.perf_counter() - start_time, 2),
            "history": _history(trainer, ["Loss/total", "Loss/sl_clf", "Loss/bbox", "Loss/giou", "reward", "mIoU",
                                          "e_mIoU"]),
            "settings": {k: getattr(s, k, None) for k in keys}}


def stage_flt_continued(cfg: DemoConfig, out: Path, seed: int, device: str, train_root: str, start: str,
                        lr: float, update_factor: int = 1, name: str = "flt_continued",
                        wall_time: Optional[float] = None, progress: bool = True) -> Dict[str, Any]:
    """FLT continued from ``start`` (fresh AdamW, constant ``lr``, batch ``flt_batch``).

    Length: ``update_factor`` x SLT's number of updates (1 = the demo's control; larger factors give a
    compute-matched control, experiments/ablation.py --flt-continued-x), or with ``wall_time`` as
    many epochs of ``slt_iters_per_epoch`` updates as fit in that many seconds (at least one).
    """
    from ltr_slt.train_settings.transt import transt_tiny
    _seed(seed, 4)
    iters = cfg.slt_iters_per_epoch
    max_epochs = cfg.slt_epochs * int(update_factor) if wall_time is None else 10 ** 6
    s = _flt_settings(cfg, out, f"demo_{name}", seed, device, train_root, max_epochs, iters, lr,
                      lr_step=10 ** 7, start=start)
    net, trainer = transt_tiny.build(s)
    total = max_epochs * iters if wall_time is None else None
    desc = LABELS.get(name, name) + (f" ({wall_time:.0f} s)" if wall_time is not None else "")
    bar = attach_progress(trainer, total, desc, enabled=progress)
    start_time = time.perf_counter()
    try:
        train_for(trainer, max_epochs, wall_time, start_time)
    finally:
        bar.close()
    epochs_done = trainer.epoch
    return {"model": _save_net(trainer.net, out / "models" / f"{name}.pth"), "updates": epochs_done * iters,
            "lr": lr, "train_seconds": round(time.perf_counter() - start_time, 2),
            "history": _history(trainer, ["Loss/total", "Loss/ce", "Loss/bbox", "Loss/giou", "mIoU"])}


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
               labels: Optional[Dict[str, str]] = None, workers: int = 0, progress: bool = True,
               tracker: Sequence[str] = ("transt", "transt_tiny"), net_env: str = "SLT_TINY_NET",
               overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Run every model (key -> net-only checkpoint) on the held-out set; table, plots, scores (percent).

    ``tracker``: (tracker name, parameter name) of a tiny parameter file that reads its checkpoint from
    ``$<net_env>``; ``overrides``: extra tracker parameters (e.g. the sample size of a tiny DiMP).

    ``workers`` > 0: that many spawned runner processes (one torch thread each); 0: in this process with
    one torch thread (batch-1 tracking of a tiny net gains nothing from more threads and loses a lot
    when the cores are shared). Per-attribute tables come from the generator's ``attributes.json``.
    """
    from pytracking_slt.analysis import analyze
    from pytracking_slt.analysis.attributes import load_attributes
    from pytracking_slt.evaluation import Tracker, get_dataset, run_dataset
    from pytracking_slt.tracker.base import NetWithBackbone
    from ltr_slt.dataset.synthetic import ATTRIBUTE_FILE

    labels = labels or LABELS
    dataset = get_dataset("synthetic", root=test_root, split=os.environ.get("SLT_DEMO_EVAL_SPLIT", "test"))
    trackers = []
    for key, path in models.items():
        net = NetWithBackbone(net_path=path, use_gpu=False, device=device)  # lazy, picklable
        trackers.append(Tracker(tracker[0], tracker[1], display_name=labels.get(key, key), device=device,
                                results_path=str(out / "results" / key),
                                param_overrides={**(overrides or {}), "net": net, "net_path": path}))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _env(net_env, next(iter(models.values()))):  # parameters() needs one; overridden per tracker
            outcomes = run_dataset(dataset, trackers, threads=workers, on_error="fail", progress=progress)
    finally:
        torch.set_num_threads(threads)
    att_file = Path(test_root) / ATTRIBUTE_FILE
    attributes = load_attributes("synthetic", path=str(att_file)) if att_file.is_file() else None
    with _env("SLT_RESULT_PLOT_PATH", str(out / "plots")):
        res = analyze(trackers, dataset, convention="pytracking", plot_dir=str(out / "plots"), use_cache=False,
                      title="held-out synthetic set", attributes=attributes)
    from ltr_slt.demo_report import attribute_scores, per_sequence_auc
    scores = {}
    for key, r in zip(models, res.evaluation.results):  # pytracking reports percentages
        scores[key] = {k: float(v) for k, v in r.scores.items() if k != "FPS"}
        scores[key]["FPS"] = float(r.scores.get("FPS", float("nan")))
    return {"table": res.table, "plots": [str(p) for p in res.plots], "scores": scores,
            "num_sequences": len(dataset), "runs": len(outcomes),
            "per_sequence_auc": per_sequence_auc(res.evaluation, list(models)),
            "attributes": attribute_scores(res.evaluation, attributes, list(models)) if attributes else {},
            "attribute_tables": list(res.attribute_tables),
            "result_dirs": {k: str(out / "results" / k) for k in models}}


# ----------------------------------------------------------------------------------------------
# run

def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run_demo(cfg: DemoConfig, out: str | os.PathLike, seed: int = 0, device: str = "cpu",
             quick: bool = False, baseline: Optional[str] = None, progress: bool = True) -> Dict[str, Any]:
    """Run all stages; returns the report dict (also written to ``<out>/report.json`` / ``report.md``)."""
    from ltr_slt.demo_baseline import read_baseline_record
    from ltr_slt.demo_report import write_report

    out = Path(out).resolve()
    baseline_path = _resolve_baseline(cfg, baseline)
    record = read_baseline_record(baseline_path) if baseline_path else None
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
        report["data"] = stage_data(cfg, out, record)
    train_root = report["data"]["train_root"]
    with timer.stage("flt", "2/5 baseline (FLT)"):
        report["flt"] = (stage_baseline(out, baseline_path, record) if baseline_path is not None
                         else stage_flt(cfg, out, seed, device, train_root))
    flt_model = report["flt"]["model"]
    with timer.stage("slt", f"3/5 sequence-level training (SLT, {cfg.slt_updates} updates)"):
        report["slt"] = stage_slt(cfg, out, seed, device, train_root, flt_model, progress=progress)
    with timer.stage("flt_continued", "4/5 FLT continued: same updates, then same wall time as SLT"):
        lr = cfg.flt_continued_lr if cfg.flt_continued_lr is not None else report["flt"]["final_lr"]
        report["flt_continued"] = stage_flt_continued(cfg, out, seed, device, train_root, flt_model, lr,
                                                      progress=progress)
        if cfg.wall_time_control:
            report["flt_continued_time"] = stage_flt_continued(
                cfg, out, seed, device, train_root, flt_model, lr, name="flt_continued_time",
                wall_time=report["slt"]["train_seconds"], progress=progress)
    with timer.stage("eval", "5/5 evaluation on the held-out set"):
        models = {k: report[k]["model"] for k in MODELS if k in report}
        report["evaluation"] = stage_eval(out, report["data"]["test_root"], models, device,
                                          workers=cfg.eval_workers, progress=progress)
    timer.timings["total"] = round(time.perf_counter() - start, 2)
    report["timings"] = timer.timings
    report["machine"]["load_end"] = _load()
    write_report(report, out, cfg)
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slt-demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="slt_demo_out", help="output folder (default ./slt_demo_out)")
    p.add_argument("--seed", type=int, default=0, help="seed of SLT and the FLT-continued controls (default 0)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: the whole pipeline in seconds (for tests)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads for training (default 1: two threads collapse when the cores are shared)")
    p.add_argument("--baseline", default=None,
                   help="baseline checkpoint to fine-tune (default: the shipped ltr_slt/demo_data one)")
    p.add_argument("--train-baseline", action="store_true",
                   help="re-make the baseline (data + frame-level training + validation, ~1 h) into --out")
    p.add_argument("--resume", action="store_true", help="with --train-baseline: continue an interrupted run")
    p.add_argument("--verbose", action="store_true", help="log lines of every module (training, runner)")
    return p


def _setup_logging(verbose: bool) -> None:
    """Demo lines at INFO; other modules (trainers, runner workers, loaders) only warn unless ``verbose``."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    root.setLevel(logging.INFO if verbose else logging.WARNING)   # runner workers inherit this level
    logger.setLevel(logging.INFO)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    if args.train_baseline:
        from ltr_slt.demo_baseline import BASELINE_RECIPE, QUICK_BASELINE_RECIPE, train_baseline
        recipe = dataclasses.replace(QUICK_BASELINE_RECIPE if args.quick else BASELINE_RECIPE)
        if args.threads:
            recipe.threads = args.threads
        record = train_baseline(args.out, recipe, device=args.device, resume=args.resume)
        print(f"baseline: {Path(args.out).resolve() / 'baseline_transt_tiny.pth'} "
              f"(validation AUC {record['validation'][-1]['val_AUC']:.2f}; record beside it)")
        return 0
    cfg = dataclasses.replace(QUICK if args.quick else FULL)
    if args.threads:
        cfg.threads = args.threads
    try:
        report = run_demo(cfg, args.out, seed=args.seed, device=args.device, quick=args.quick, baseline=args.baseline)
    except (FileExistsError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ev = report["evaluation"]
    print()
    print(ev["table"])
    if ev.get("attribute_table"):
        print(ev["attribute_table"])
    print(f"plots: {', '.join(ev['plots'])}")
    print(f"report: {Path(report['out']) / 'report.md'}  ({report['timings']['total']:.0f} s in total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
