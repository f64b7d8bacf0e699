"""The demo's pretrained baseline: a tiny TransT trained frame-level on the demo's synthetic data.

Why: SLT fine-tunes a *well-trained* tracker (the paper starts from TransT at 64 AUC). Training the
tiny TransT until it tracks takes thousands of frame-level updates, more than a short demo can
afford, so the project ships the checkpoint (``ltr_slt/demo_data/baseline_transt_tiny.pth``, a few
hundred kB) with the recipe, data seeds and validation scores that made it
(``baseline_transt_tiny.json`` beside it), and ``slt-demo`` starts from it like a user starts from
the official ``transt.pth``. Re-make it with

    slt-demo --train-baseline --out runs/baseline        (6-15 min on 2 shared CPU cores)

which writes ``runs/baseline/baseline_transt_tiny.{pth,json}``; ``slt-demo --baseline
runs/baseline/baseline_transt_tiny.pth`` runs the demo from it.

Data: the demo's difficulty (:data:`DEMO_DIFFICULTY`). The baseline trains on sequences
``0 .. train_seqs-1`` of generator seed ``data_seed``; the demo's SLT / FLT-continued training set is
a prefix of that same set (the generator's sequence ``k`` depends only on ``(seed, k)``), the
validation split (used only to report the baseline's tracking quality) and the demo's held-out
test set use other seeds and disjoint sequence indices.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import torch

logger = logging.getLogger("ltr_slt.demo")

__all__ = ["DEMO_DIFFICULTY", "DEMO_TINY_CONFIG", "BaselineRecipe", "BASELINE_RECIPE", "QUICK_BASELINE_RECIPE", "SHIPPED_BASELINE",
           "synthetic_config", "train_baseline", "read_baseline_record"]

# Difficulty of every synthetic set of the demo (SyntheticConfig overrides), and why:
# * no teleport jumps (jump_prob 0): a jump moves the target outside any local tracker's search
#   region, a failure no training fixes; fast-motion bursts (x3 speed) stay;
# * look-alikes tinted more (0.3 instead of 0.08) and present with probability 0.5 each: they still
#   attract a tracker that has drifted, but a trained one can tell them apart, and some sequences
#   have none (so the per-attribute table has a contrast);
# * full occlusion in 40 % and out-of-view trips in 15 % of the sequences (generator: 50 % / 30 %):
#   a target re-entering the image elsewhere is lost for good by any local tracker, so at the
#   generator's rate they alone would cap the AUC of a tiny tracker near its failure floor.
# The baseline's record keeps the difficulty it was trained with; the demo generates its data with
# the record's values (the held-out set must come from the baseline's training distribution).
DEMO_DIFFICULTY: Dict[str, Any] = {"jump_prob": 0.0, "distractor_tint": 0.3, "distractor_prob": 0.5,
                                   "occlusion_prob": 0.4, "out_of_view_prob": 0.15, "use_photos": False}

# The tiny TransT at half the paper's crop sizes (template 64, search 128 -> a 16x16 grid): ~3x less
# compute per update, and the tiny backbone's receptive field covers a larger part of the search crop,
# so its box regression learns where it is much sooner (pilot: pair IoU 0.35 after 600 updates at
# 64/128 against 0.20 after 720 at 128/256). Everything downstream reads the sizes from the net.
DEMO_TINY_CONFIG: Dict[str, Any] = {"dropout": 0.0, "template_size": 64, "search_size": 128}

_DATA_DIR = Path(__file__).resolve().parent / "demo_data"
SHIPPED_BASELINE = _DATA_DIR / "baseline_transt_tiny.pth"


def synthetic_config(num_frames: int, width: int, height: int, difficulty: Optional[Dict[str, Any]] = None):
    """The demo's :class:`SyntheticConfig`: sizes plus ``difficulty`` (default :data:`DEMO_DIFFICULTY`)."""
    from ltr_slt.dataset.synthetic import SyntheticConfig
    values = dict(DEMO_DIFFICULTY if difficulty is None else difficulty)
    try:
        return SyntheticConfig(num_frames=num_frames, width=width, height=height, **values).validate()
    except TypeError as err:
        raise ValueError(f"difficulty {values}: not SyntheticConfig fields ({err})") from None


@dataclass
class BaselineRecipe:
    """Everything that determines the shipped baseline (recorded in its JSON)."""
    # data
    data_seed: int = 1                 # training sequences 0 .. train_seqs-1 of this generator seed
    train_seqs: int = 200
    train_frames: int = 60
    val_seed: int = 3                  # validation split: reported, never used by the demo's held-out test
    val_start_index: int = 50000
    val_seqs: int = 10
    val_frames: int = 100
    width: int = 320
    height: int = 240
    # frame-level training (the transt_tiny recipe, longer)
    init_seed: int = 0
    epochs: int = 100
    iters_per_epoch: int = 40
    batch: int = 8
    lr: float = 1e-3
    lr_step: int = 20                  # epochs: x lr_gamma every 800 updates (1e-3 ... 6.25e-5)
    lr_gamma: float = 0.5
    max_gap: int = 30
    tiny_config: Dict[str, Any] = field(default_factory=lambda: dict(DEMO_TINY_CONFIG))
    difficulty: Dict[str, Any] = field(default_factory=lambda: dict(DEMO_DIFFICULTY))
    val_every: int = 20                # epochs between validation runs (learning curve in the JSON)
    threads: int = 1

    @property
    def updates(self) -> int:
        return self.epochs * self.iters_per_epoch


BASELINE_RECIPE = BaselineRecipe()
QUICK_BASELINE_RECIPE = BaselineRecipe(train_seqs=2, train_frames=12, val_seqs=1, val_frames=8, width=128,
                                       height=96, epochs=2, iters_per_epoch=2, batch=2, lr_step=10, val_every=1)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_baseline_record(checkpoint: str | os.PathLike) -> Optional[Dict[str, Any]]:
    """The JSON written beside a baseline checkpoint (``<name>.json``), or None when there is none."""
    path = Path(checkpoint).with_suffix(".json")
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"baseline record {path} is not valid JSON: {err}") from None


def train_baseline(out: str | os.PathLike, recipe: BaselineRecipe = BASELINE_RECIPE, device: str = "cpu",
                   progress: bool = True, resume: bool = False) -> Dict[str, Any]:
    """Generate the data, train, validate; writes ``<out>/baseline_transt_tiny.{pth,json}`` and returns the record.

    ``resume``: continue an interrupted run in ``out`` from its latest epoch checkpoint (the data are
    regenerated identically; the recipe's learning-rate schedule replaces the checkpoint's).
    """
    from ltr_slt import demo
    from ltr_slt.dataset.synthetic import generate_dataset
    from ltr_slt.train_settings.transt import transt_tiny

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("data", "results", "plots", "val") if resume else ("data", "workspace", "results", "plots", "val"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    torch.set_num_threads(max(1, int(recipe.threads)))
    start = time.perf_counter()
    train_root, val_root = out / "data" / "train", out / "data" / "val"
    train_cfg = synthetic_config(recipe.train_frames, recipe.width, recipe.height, recipe.difficulty)
    val_cfg = synthetic_config(recipe.val_frames, recipe.width, recipe.height, recipe.difficulty)
    generate_dataset(str(train_root), "lasot", recipe.train_seqs, recipe.data_seed, train_cfg, test_every=0)
    generate_dataset(str(val_root), "lasot", recipe.val_seqs, recipe.val_seed, val_cfg,
                     start_index=recipe.val_start_index, test_every=1)
    logger.info("baseline data: %d training sequences (seed %d), %d validation sequences (seed %d)",
                recipe.train_seqs, recipe.data_seed, recipe.val_seqs, recipe.val_seed)

    cfg = dataclasses.replace(demo.FULL, flt_batch=recipe.batch, flt_lr_gamma=recipe.lr_gamma,
                              tiny_config=dict(recipe.tiny_config))
    demo._seed(recipe.init_seed, 2)
    s = demo._flt_settings(cfg, out, "demo_baseline", recipe.init_seed, device, str(train_root), recipe.epochs,
                           recipe.iters_per_epoch, recipe.lr, recipe.lr_step)
    s.max_gap = recipe.max_gap
    net, trainer = transt_tiny.build(s)
    bar = demo.attach_progress(trainer, recipe.updates, "baseline FLT", enabled=progress)
    curve_file = out / "validation_curve.json"
    curve = []
    epoch = 0
    if resume and trainer.load_checkpoint():
        trainer.lr_scheduler.step_size, trainer.lr_scheduler.gamma = recipe.lr_step, recipe.lr_gamma
        epoch = trainer.epoch
        bar.bar.update(epoch * recipe.iters_per_epoch)
        if curve_file.is_file():
            curve = [c for c in json.loads(curve_file.read_text()) if c["epoch"] <= epoch]
        logger.info("resuming the baseline at epoch %d", epoch)
    ckpt = out / "baseline_transt_tiny.pth"
    try:
        while epoch < recipe.epochs:
            epoch = min(recipe.epochs, (epoch // max(1, recipe.val_every) + 1) * max(1, recipe.val_every))
            trainer.train(epoch)
            demo._save_net(trainer.net, ckpt)
            ev = demo.stage_eval(out / "val" / f"ep{epoch:04d}", str(val_root), {"flt": str(ckpt)}, device,
                                 workers=0, progress=False)
            curve.append({"epoch": epoch, "updates": epoch * recipe.iters_per_epoch,
                          "val_AUC": round(ev["scores"]["flt"]["AUC"], 2),
                          "val_OP50": round(ev["scores"]["flt"]["OP50"], 2)})
            curve_file.write_text(json.dumps(curve))
            logger.info("baseline after %d updates: validation AUC %.2f", curve[-1]["updates"], curve[-1]["val_AUC"])
    finally:
        bar.close()
    hist = demo._history(trainer, ["Loss/total", "Loss/ce", "Loss/bbox", "Loss/giou", "mIoU"])
    record = {
        "what": "tiny TransT (ltr_slt.models.tracking.transt.transt_tiny) trained frame-level on synthetic data; "
                "the starting point of slt-demo",
        "command": "slt-demo --train-baseline --out DIR" + (" (interrupted once, continued with --resume)"
                                                            if resume else ""),
        "recipe": dataclasses.asdict(recipe),
        "difficulty": dict(recipe.difficulty),
        "train_data": {"seed": recipe.data_seed, "indices": [0, recipe.train_seqs - 1],
                       "config": dataclasses.asdict(train_cfg)},
        "val_data": {"seed": recipe.val_seed, "indices": [recipe.val_start_index,
                                                          recipe.val_start_index + recipe.val_seqs - 1],
                     "config": dataclasses.asdict(val_cfg)},
        "trainer_settings": {k: getattr(s, k) for k in ("batch_size", "samples_per_epoch", "num_epochs", "lr",
                                                        "backbone_lr", "lr_step", "lr_gamma", "max_gap",
                                                        "weight_dict", "eos_coef", "search_area_factor",
                                                        "template_area_factor", "center_jitter_factor",
                                                        "scale_jitter_factor", "tiny_config")},
        "parameters": sum(p.numel() for p in trainer.net.parameters()),
        "validation": curve,
        "train_history": hist,
        "machine": {"torch": torch.__version__, "python": platform.python_version(),
                    "platform": platform.platform(), "threads": torch.get_num_threads(), "device": device},
        "wall_time_s": round(time.perf_counter() - start, 1),
        "sha256": _sha256(ckpt),
    }
    (out / "baseline_transt_tiny.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
    logger.info("baseline written: %s (+ .json); validation AUC %.2f after %d updates, %.0f s",
                ckpt, curve[-1]["val_AUC"], recipe.updates, record["wall_time_s"])
    return record
