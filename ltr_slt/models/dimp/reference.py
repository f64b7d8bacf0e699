"""Recompute the recorded stages of ``arch/{dimp50,trdimp}_reference_numbers.json`` (architectures.md 9).

``reference_stages(net, ref)`` runs the reference inputs (section 9.2) through ``net`` once, with
forward hooks capturing the intermediate tensors of the training forward, then the extra tracking
calls the JSON records (10-iteration ``get_filter``, IoU modulation / features / prediction and its
box gradient). ``compare_stages`` gives, per stage, the largest relative error of the recorded
statistics (sum, abs-sum, mean, std, first values; the IoU values element-wise). Used by the tests
(CPU) and by the device check.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Tuple

import numpy as np
import torch

from ltr_slt.models.tracking.dimpnet import DiMPnet, TrDiMPnet, transformer_train_label

__all__ = ["reference_inputs", "reference_stages", "compare_stages", "stats"]


def reference_inputs(ref: Mapping[str, Any], device: str = "cpu") -> Tuple[torch.Tensor, ...]:
    """train [2,1,3,S,S] (seed 11), test [1,1,3,S,S] (seed 12), train_bb [2,1,4], proposals [1,1,8,4]."""
    bb = torch.tensor(ref["inputs"]["train_bb_xywh"], dtype=torch.float32)
    size = int(round(2 * (bb[0, 0, 0].item() + 40)))  # train_bb[0] = [c-40, c-30, 80, 60], c = S/2
    train = np.random.RandomState(11).standard_normal((2, 1, 3, size, size)).astype(np.float32)
    test = np.random.RandomState(12).standard_normal((1, 1, 3, size, size)).astype(np.float32)
    props = torch.tensor(ref["inputs"]["test_proposals_xywh"], dtype=torch.float32)
    return tuple(t.to(device) for t in (torch.from_numpy(train), torch.from_numpy(test), bb, props))


def reference_stages(net: DiMPnet, ref: Mapping[str, Any], device: str = "cpu") -> Dict[str, Any]:
    """All stages the JSON records, as tensors (or lists of tensors), computed by ``net`` in eval mode."""
    net = net.eval().to(device)
    train, test, bb, props = reference_inputs(ref, device)
    captured: Dict[str, List[torch.Tensor]] = {"backbone": [], "clf": [], "init": [], "encoder": []}
    hooks = [net.feature_extractor.register_forward_hook(lambda m, i, o: captured["backbone"].append(o)),
             net.classifier.feature_extractor.register_forward_hook(lambda m, i, o: captured["clf"].append(o)),
             net.classifier.filter_initializer.register_forward_hook(lambda m, i, o: captured["init"].append(o))]
    transformer = getattr(net.classifier, "transformer", None)
    if transformer is not None:
        hooks.append(transformer.register_forward_hook(lambda m, i, o: captured["encoder"].extend(o)))
        hooks.append(transformer.encoder.register_forward_hook(lambda m, i, o: captured["encoder"].insert(0, o[0])))
    try:
        with torch.no_grad():
            scores, iou = net(train, test, bb, props)
    finally:
        for h in hooks:
            h.remove()
    bb_train, bb_test = captured["backbone"]
    clf_train = captured["clf"][0].reshape(2, 1, *captured["clf"][0].shape[-3:])  # [2, 1, C, h, w]
    clf_test = captured["clf"][1].reshape(1, 1, *captured["clf"][1].shape[-3:])
    out: Dict[str, Any] = {
        "backbone_layer2_train": bb_train["layer2"], "backbone_layer3_train": bb_train["layer3"],
        "clf_feat_train": clf_train.flatten(0, 1), "clf_feat_test": clf_test.flatten(0, 1),
        "init_filter": captured["init"][0],
        "train_forward_scores_per_iter": list(scores), "train_forward_iou_pred": iou,
        "train_forward_iou_pred_values": iou.flatten(),
    }
    with torch.no_grad():
        if isinstance(net, TrDiMPnet):
            out["train_label_transformer"] = transformer_train_label(bb, net.classifier.filter_size,
                                                                     clf_train.shape[-1], train.shape[-1])
            memory, encoded, decoded = captured["encoder"]
            out.update(transformer_encoder_memory=memory, transformer_encoded_train_feat=encoded,
                       transformer_decoded_test_feat=decoded)
        else:
            w, _, losses = net.classifier.get_filter(clf_train, bb, num_iter=10)
            s = net.classifier.classify(w, clf_test)
            out.update(get_filter_10iter_filter=w, get_filter_10iter_losses=torch.stack(losses).flatten(),
                       scores_after_10iter=s)
        train_iou_feat = [f.reshape(2, -1, *f.shape[-3:])[0] for f in net.get_backbone_bbreg_feat(bb_train)]
        modulation = net.bb_regressor.get_modulation(train_iou_feat, bb[0])  # 2 x [1, 256, 1, 1]
        iou_feat = net.bb_regressor.get_iou_feat(net.get_backbone_bbreg_feat(bb_test))  # [1,256,2h,2w], [1,256,h,w]
    boxes = props[0].clone().requires_grad_(True)  # [1, 8, 4]
    with torch.enable_grad():
        pred = net.bb_regressor.predict_iou(modulation, iou_feat, boxes)  # [1, 8]
        grad, = torch.autograd.grad(pred.sum(), boxes)
    out.update(iou_modulation=list(modulation), iou_feat=list(iou_feat), predict_iou=pred.detach().flatten(),
               predict_iou_grad_wrt_boxes=grad)
    return out


def stats(t: torch.Tensor) -> Dict[str, Any]:
    """The statistics the JSON records for one tensor (float64 reductions)."""
    a = t.detach().double().cpu()
    return {"shape": list(a.shape), "sum": a.sum().item(), "mean": a.mean().item(), "abs_sum": a.abs().sum().item(),
            "std": a.std().item() if a.numel() > 1 else 0.0, "first5": a.flatten()[:5].tolist()}


def _stat_error(ours: Dict[str, Any], rec: Mapping[str, Any]) -> float:
    if list(ours["shape"]) != list(rec["shape"]):
        return math.inf
    scale = max(abs(rec["abs_sum"]), 1e-12)  # errors of sums relative to the tensor's magnitude
    errs = [abs(ours["sum"] - rec["sum"]) / scale, abs(ours["abs_sum"] - rec["abs_sum"]) / scale,
            abs(ours["std"] - rec["std"]) / max(abs(rec["std"]), 1e-12)]
    numel = max(math.prod(rec["shape"]), 1)
    mag = max(max(abs(v) for v in rec["first5"]), abs(rec["abs_sum"]) / numel, 1e-12)
    errs += [abs(a - b) / mag for a, b in zip(ours["first5"], rec["first5"])]
    return max(errs)


def compare_stages(stages: Mapping[str, Any], recorded: Mapping[str, Any]) -> Dict[str, float]:
    """Per recorded stage: the largest relative error (inf when a shape differs, KeyError when not computed)."""
    errors: Dict[str, float] = {}
    for name, rec in recorded.items():
        if name.endswith("argmax_yx"):
            continue  # checked through the score map it comes from
        ours = stages[name]
        if isinstance(rec, dict):
            errors[name] = _stat_error(stats(ours), rec)
        elif isinstance(rec, list) and rec and isinstance(rec[0], dict):
            if len(ours) != len(rec):
                errors[name] = math.inf
            else:
                errors[name] = max(_stat_error(stats(o), r) for o, r in zip(ours, rec))
        else:
            a = np.asarray(rec, dtype=np.float64).flatten()
            b = ours.detach().double().cpu().numpy().flatten()
            errors[name] = math.inf if a.shape != b.shape else float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12)))
    return errors


def main(argv=None) -> int:
    """Print the per-stage relative errors of our networks against reference JSON files.

    ``python -m ltr_slt.models.dimp.reference tests/data/dimp50_reference_numbers.json
    tests/data/trdimp_reference_numbers.json [--device cuda] [--setting keyseeded seed0]``
    """
    import argparse
    import json

    from ltr_slt.models.keyseed import apply_keyseeded_weights_
    from ltr_slt.models.tracking.dimpnet import dimpnet50, trdimpnet50

    parser = argparse.ArgumentParser(description="DiMP-family reference-stage check (architectures.md 9)")
    parser.add_argument("references", nargs="+", help="dimp50_/trdimp_reference_numbers.json files")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--setting", nargs="+", default=["keyseeded", "seed0"], choices=["keyseeded", "seed0"])
    parser.add_argument("--rtol", type=float, default=1e-4)
    args = parser.parse_args(argv)
    worst = 0.0
    for path in args.references:
        with open(path) as f:
            ref = json.load(f)
        factory = {"dimp50": dimpnet50, "trdimp": trdimpnet50}.get(ref.get("net"))
        if factory is None:
            raise SystemExit(f"{path}: field 'net' is {ref.get('net')!r}, expected 'dimp50' or 'trdimp'")
        for setting in args.setting:
            torch.manual_seed(0)
            net = factory(**{k: v for k, v in ref["kwargs"].items() if k != "backbone_pretrained"})
            if setting == "keyseeded":
                apply_keyseeded_weights_(net, keep=lambda k: k.startswith("classifier.filter_optimizer."))
            errors = compare_stages(reference_stages(net, ref, args.device), ref[setting])
            for stage, err in errors.items():
                print(f"{ref['net']:7s} {setting:9s} {args.device:5s} {stage:32s} {err:.1e}")
            worst = max(worst, max(errors.values()))
    print(f"worst relative error {worst:.1e} (tolerance {args.rtol:g})")
    return 0 if worst <= args.rtol else 1


if __name__ == "__main__":
    raise SystemExit(main())
