"""What ``slt-demo`` shows a person: per-attribute AUC, the frames where SLT helps, report files.

Kept apart from the stages (:mod:`ltr_slt.demo`) because none of it trains or tracks: it reads the
evaluation (``pytracking_slt.analysis``), the result files and the held-out frames.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

logger = logging.getLogger("ltr_slt.demo")

__all__ = ["per_sequence_auc", "attribute_scores", "format_attribute_table", "best_gain_sequence",
           "plot_strip", "write_report"]

_BOX_STYLE = {"gt": ("GT", "#00c000"), "flt": ("FLT", "#1f77b4"), "slt": ("SLT", "#d62728")}


def per_sequence_auc(evaluation: Any, keys: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """``{sequence: {model key: AUC in percent}}`` (mean of the sequence's success curve, pytracking's AUC)."""
    out: Dict[str, Dict[str, float]] = {}
    for key, res in zip(keys, evaluation.results):
        for name, stats in res.per_sequence.items():
            out.setdefault(name, {})[key] = round(float(np.mean(stats.curves["success"])) * 100.0, 3)
    return out


def attribute_scores(evaluation: Any, attributes: Dict[str, Any], keys: Sequence[str]) -> Dict[str, Any]:
    """``{short: {"name", "num_sequences", "sequences", "AUC": {key: percent}}}`` plus ``ALL`` and ``NONE``.

    ``NONE`` = sequences with none of the attributes (what the tracker does when nothing goes wrong).
    """
    from pytracking_slt.analysis.attributes import per_attribute
    from pytracking_slt.analysis.conventions import aggregate

    def row(name: str, seqs: List[str], results: Sequence[Any]) -> Dict[str, Any]:
        return {"name": name, "num_sequences": len(seqs), "sequences": list(seqs),
                "AUC": {k: round(float(r.scores["AUC"]), 3) for k, r in zip(keys, results)}}

    table: Dict[str, Any] = {"ALL": row("all sequences", list(evaluation.sequences), evaluation.results)}
    long_names = dict(zip(attributes["att_name_short"], attributes["att_name_long"]))
    for short, sub in per_attribute(evaluation, attributes).items():
        table[short] = row(long_names.get(short, short), list(sub.sequences), sub.results)
    plain = [n for n in evaluation.sequences if not attributes.get(n)]
    if plain:
        aucs = {k: round(float(aggregate([r.per_sequence[n] for n in plain], evaluation.convention)["AUC"]), 3)
                for k, r in zip(keys, evaluation.results)}
        table["NONE"] = {"name": "none of them", "num_sequences": len(plain), "sequences": plain, "AUC": aucs}
    return table


def format_attribute_table(table: Dict[str, Any], labels: Dict[str, str], keys: Sequence[str],
                           delta: Sequence[str] = ("slt", "flt")) -> str:
    """Plain-text table: one row per attribute, AUC per model and the SLT gain over ``delta[1]``."""
    head = f"{'attribute':<22} | {'seqs':>4} | " + " | ".join(f"{labels[k]:>15}" for k in keys)
    gain_label = f"{labels[delta[0]]}-{labels[delta[1]]}"
    head += f" | {gain_label:>8}"
    lines = ["Per-attribute AUC on the held-out set (a sequence counts for every attribute it has)", head,
             "-" * len(head)]
    for short, row in table.items():
        label = f"{short} {row['name']}" if short not in ("ALL", "NONE") else row["name"]
        a = row["AUC"]
        lines.append(f"{label:<22} | {row['num_sequences']:>4} | " + " | ".join(f"{a[k]:>15.2f}" for k in keys)
                     + f" | {a[delta[0]] - a[delta[1]]:>+8.2f}")
    return "\n".join(lines)


def best_gain_sequence(per_seq: Dict[str, Dict[str, float]], better: str = "slt", than: str = "flt") -> str:
    """The sequence where ``better`` gains most AUC over ``than`` (ties: first by name)."""
    if not per_seq:
        raise ValueError("no per-sequence results to choose from")
    return max(sorted(per_seq), key=lambda n: per_seq[n][better] - per_seq[n][than])


def _frame_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N] IoU of xywh boxes (0 where either is empty)."""
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y1 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _strip_frames(iou_gain: np.ndarray, k: int) -> List[int]:
    """``k`` frame indices spread over the sequence, one of them where the gain is largest."""
    n = iou_gain.shape[0]
    picks = [int(round(x)) for x in np.linspace(0, n - 1, max(2, k))]
    best = int(np.argmax(iou_gain))
    nearest = int(np.argmin([abs(p - best) for p in picks[1:]])) + 1   # keep frame 0 (the initial box)
    picks[nearest] = best
    return sorted(set(picks))


def plot_strip(frames_dir: str, gt: np.ndarray, boxes: Dict[str, np.ndarray], out_path: str, title: str,
               k: int = 6) -> Optional[str]:
    """PNG strip of ``k`` frames with the GT and each model's box (None when matplotlib is missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError:
        logger.warning("matplotlib is not installed: no frame strip (pip install matplotlib)")
        return None
    import cv2
    files = sorted(f for f in os.listdir(frames_dir) if f.endswith(".jpg"))
    if len(files) != gt.shape[0]:
        raise ValueError(f"{frames_dir}: {len(files)} frames for {gt.shape[0]} ground-truth boxes")
    gain = _frame_iou(boxes["slt"], gt) - _frame_iou(boxes["flt"], gt)
    picks = _strip_frames(gain, k)
    fig, axes = plt.subplots(1, len(picks), figsize=(2.6 * len(picks), 2.6), squeeze=False)
    for ax, t in zip(axes[0], picks):
        img = cv2.cvtColor(cv2.imread(os.path.join(frames_dir, files[t])), cv2.COLOR_BGR2RGB)
        ax.imshow(img)
        for key, box in (("gt", gt[t]), *((k2, b[t]) for k2, b in boxes.items())):
            label, colour = _BOX_STYLE.get(key, (key, "k"))
            if box[2] > 0 and box[3] > 0:
                ax.add_patch(Rectangle((box[0], box[1]), box[2], box[3], fill=False, lw=1.8, ec=colour,
                                       ls="--" if key == "gt" else "-"))
        ax.set_title(f"frame {t + 1}", fontsize=8)
        ax.axis("off")
    handles = [Rectangle((0, 0), 1, 1, fill=False, ec=_BOX_STYLE[key][1], ls="--" if key == "gt" else "-",
                         label=_BOX_STYLE[key][0]) for key in ("gt", *boxes)]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 0.92))
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path


def _strip_for(report: Dict[str, Any], out: Path, k: int) -> Optional[Dict[str, Any]]:
    from pytracking_slt.evaluation.results_io import load_boxes
    ev = report["evaluation"]
    name = best_gain_sequence(ev["per_sequence_auc"])
    cls = name.rsplit("-", 1)[0]
    seq_dir = Path(report["data"]["test_root"]) / cls / name
    gt = load_boxes(str(seq_dir / "groundtruth.txt"))
    boxes = {key: load_boxes(os.path.join(ev["result_dirs"][key], "transt", "transt_tiny", f"{name}.txt"))
             for key in ("flt", "slt")}
    aucs = ev["per_sequence_auc"][name]
    title = f"{name}: AUC FLT {aucs['flt']:.1f} -> SLT {aucs['slt']:.1f} (sequence where SLT gains most)"
    path = plot_strip(str(seq_dir / "img"), gt, boxes, str(out / "plots" / f"strip_{name}.png"), title, k)
    return {"sequence": name, "path": path, "AUC": aucs} if path else None


def _markdown(report: Dict[str, Any]) -> str:
    ev = report["evaluation"]
    base = report["flt"]
    lines = ["# slt-demo report", "",
             f"Seed {report['seed']}, {'quick' if report['quick'] else 'full'} sizes, device {report['device']}, "
             f"{report['machine']['torch_threads']} torch threads, {report['machine']['cpu_count']} CPUs, "
             f"load average at start {report['machine']['load_start']}, at end {report['machine']['load_end']}.", "",
             f"Baseline (FLT): {base.get('source')}.", "",
             "## Held-out results", "", "```", ev["table"].rstrip(), "```", ""]
    for p in ev["plots"]:
        lines.append(f"![{Path(p).stem}]({os.path.relpath(p, report['out'])})")
    scores = ev["scores"]
    from ltr_slt.demo import LABELS
    gains = [f"SLT - {LABELS[k]}: {scores['slt']['AUC'] - scores[k]['AUC']:+.2f}"
             for k in ("flt", "flt_continued", "flt_continued_time") if k in scores]
    lines += ["", "AUC points: " + "; ".join(gains) + " (one seed: experiments/seed_spread.py gives the spread).", ""]
    updates = {k: report[k]["updates"] for k in ("slt", "flt_continued", "flt_continued_time") if k in report}
    lines += ["Updates: " + ", ".join(f"{k} {v}" for k, v in updates.items()) + ".", ""]
    if ev.get("attribute_table"):
        lines += ["## Per attribute", "", "```", ev["attribute_table"], "```", ""]
    if ev.get("strip"):
        lines += ["## Where SLT helps most", "", f"![strip]({os.path.relpath(ev['strip']['path'], report['out'])})", ""]
    lines += ["## Timings (s)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in report["timings"].items()]
    lines += ["", "## Settings", "", "```json", json.dumps({"demo": report["config"], "flt": base.get("settings"),
                                                           "slt": report["slt"]["settings"]}, indent=1,
                                                          default=str), "```", ""]
    return "\n".join(lines)


def write_report(report: Dict[str, Any], out: Path, cfg: Any) -> None:
    """Attribute table + strip into ``report['evaluation']``; then report.json / report.md / table.txt."""
    from ltr_slt.demo import LABELS
    ev = report["evaluation"]
    keys = list(ev["scores"])
    if ev.get("attributes"):
        ev["attribute_table"] = format_attribute_table(ev["attributes"], LABELS, keys)
    try:
        ev["strip"] = _strip_for(report, out, int(cfg.strip_frames))
    except (OSError, ValueError) as err:   # a missing frame must not lose the whole report
        logger.warning("no frame strip: %s", err)
        ev["strip"] = None
    if ev.get("strip"):
        ev["plots"].append(ev["strip"]["path"])
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "report.md").write_text(_markdown(report))
    (out / "table.txt").write_text(ev["table"] + ("\n\n" + ev["attribute_table"] + "\n"
                                                  if ev.get("attribute_table") else ""))
