"""``slt-doctor`` / ``python -m ltr_slt.admin.doctor``: what is configured, what is missing, how to fix it.

Prints every path with the place it came from (argument / env var / config file / workspace
``local.py`` / default), checks that configured dataset roots look like the expected layouts,
looks for the pretrained weights (``transt.pth``) in ``pretrained_networks`` and ``network_path``,
and reports the image backend and torch / CUDA. Exit code 0 unless ``--strict`` and a problem
was found (a configured path that does not exist, a malformed layout, missing weights, a workspace
``local.py`` that could not be read).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence

from ltr_slt.admin import environment as envmod

def _has_subdirs(path: str) -> bool:
    try:
        return any(e.is_dir() for e in os.scandir(path))
    except OSError:
        return False


def _lasot_ok(path: str) -> Optional[str]:
    return None if _has_subdirs(path) else "expected <class>/<class>-<k>/ folders"


def _got10k_train_ok(path: str) -> Optional[str]:
    if os.path.isfile(os.path.join(path, "list.txt")) or _has_subdirs(path):
        return None
    return "expected list.txt and GOT-10k_Train_* folders (got10k_dir must be the train folder)"


def _got10k_root_ok(path: str) -> Optional[str]:
    if any(os.path.isdir(os.path.join(path, s)) for s in ("train", "val", "test")):
        return None
    return "expected train/, val/ or test/ inside"


def _trackingnet_ok(path: str) -> Optional[str]:
    try:
        names = os.listdir(path)
    except OSError:
        names = []
    if any(n.startswith("TRAIN_") or n == "TEST" for n in names):
        return None
    return "expected TRAIN_<k>/ (training) or TEST/ (evaluation) folders"


LAYOUT_CHECKS: Dict[str, Callable[[str], Optional[str]]] = {
    "lasot_dir": _lasot_ok, "lasot_path": _lasot_ok,
    "got10k_dir": _got10k_train_ok, "got10k_path": _got10k_root_ok,
    "trackingnet_dir": _trackingnet_ok, "trackingnet_path": _trackingnet_ok,
}
DATASET_FIELDS = ("lasot_dir", "got10k_dir", "trackingnet_dir", "coco_dir", "synthetic_dir",
                  "lasot_path", "got10k_path", "trackingnet_path", "otb_path", "uav_path", "nfs_path",
                  "synthetic_path", "dataspec_path")
OUTPUT_FIELDS = ("workspace_dir", "tensorboard_dir", "results_path", "result_plot_path",
                 "segmentation_path", "got_packed_results_path", "tn_packed_results_path")
WEIGHT_FILES = ("transt.pth",)
# ImageNet ResNet-50 (only needed to train TransT from scratch; names as torchvision/timm ship them)
OPTIONAL_WEIGHT_FILES = ("resnet50-19c8e357.pth", "resnet50-0676ba61.pth", "resnet50.pth")
# Baselines of the DiMP-family SLT settings (needed only by the settings named beside them)
DIMP_BASELINE_FILES = (("trdimp.pth", "trdimp_slt"), ("super_dimp.pth.tar", "super_dimp_slt"),
                       ("dimp50.pth", "dimp_slt"))


def _torch_info() -> Dict[str, Any]:
    try:
        import torch
    except Exception as err:  # noqa: BLE001
        return {"torch": f"not importable ({err})"}
    info: Dict[str, Any] = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
                            "cuda_build": torch.version.cuda or "none (CPU build)"}
    if info["cuda_available"]:
        info["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def _image_info() -> Dict[str, str]:
    from ltr_slt.data import image_loader
    return {"backend": image_loader.image_backend(), "reason": image_loader.image_backend_reason()}


def collect(**overrides: str) -> Dict[str, Any]:
    """Everything doctor prints, as a dict (fields, problems, hints, image, torch)."""
    problems: List[str] = []
    hints: List[str] = []
    try:
        fields = envmod.describe(**overrides)
    except RuntimeError as err:     # malformed user config file
        problems.append(str(err))
        fields = envmod.describe_without_config(**overrides)
    ws = envmod.workspace_report()
    for error in ws["errors"]:
        problems.append(f"workspace file not readable: {error} (fix the file; slt never modifies it)")

    for name in DATASET_FIELDS:
        info = fields.get(name)
        if info is None or not info.value:
            hints.append(f"{name} not configured ({envmod.FIELD_HELP.get(name, '')}): "
                         f"set {envmod.env_var_name(name)} or config key \"{name}\"")
            continue
        if info.source.startswith(("same as ", "parent of ", "got10k_path + ")):
            if not os.path.isdir(info.value):
                hints.append(f"{name} = {info.value} ({info.source}) does not exist")
            continue   # the field it was derived from is checked itself
        if not os.path.isdir(info.value):
            problems.append(f"{name} = {info.value} (from {info.source}) does not exist: fix it, or "
                            f"{envmod.how_to_set(name)}")
            continue
        check = LAYOUT_CHECKS.get(name)
        reason = check(info.value) if check else None
        if reason:
            problems.append(f"{name} = {info.value} (from {info.source}) does not look right: {reason}")

    for name in OUTPUT_FIELDS:
        info = fields.get(name)
        if info and info.value and not os.path.isdir(info.value):
            hints.append(f"{name} = {info.value} does not exist yet (created when first written)")

    weights: Dict[str, str] = {}
    for filename in WEIGHT_FILES:
        found = ""
        for name in ("pretrained_networks", "network_path"):
            folder = fields[name].value
            if folder and os.path.isfile(os.path.join(folder, filename)):
                found = os.path.join(folder, filename)
                break
        weights[filename] = found
        if not found:
            problems.append(
                f"{filename} not found in pretrained_networks ({fields['pretrained_networks'].value}) or "
                f"network_path ({fields['network_path'].value}): download the official TransT weights there, "
                f"or point {envmod.env_var_name('pretrained_networks')} / {envmod.env_var_name('network_path')} "
                f"at the folder holding it")
    backbone = ""
    for filename in OPTIONAL_WEIGHT_FILES:
        for name in ("pretrained_networks", "network_path"):
            folder = fields[name].value
            if not backbone and folder and os.path.isfile(os.path.join(folder, filename)):
                backbone = os.path.join(folder, filename)
    if not backbone:
        hints.append(f"no ImageNet ResNet-50 weights ({' / '.join(OPTIONAL_WEIGHT_FILES)}) in pretrained_networks: "
                     f"only needed to train TransT from scratch (backbone_pretrained=True)")
    weights["resnet50 (optional)"] = backbone
    for filename, settings_name in DIMP_BASELINE_FILES:
        found = next((os.path.join(fields[n].value, filename) for n in ("pretrained_networks", "network_path")
                      if fields[n].value and os.path.isfile(os.path.join(fields[n].value, filename))), "")
        weights[f"{filename} (for slt {settings_name}, optional)"] = found
        if not found:
            from pytracking_slt.workspace.weights import KNOWN_WEIGHTS
            hints.append(f"{filename} not in pretrained_networks / network_path: only needed by "
                         f"`slt-train slt {settings_name}` (download: {KNOWN_WEIGHTS.get(filename, 'see its README')})")
    return {
        "fields": {k: {"value": v.value, "source": v.source} for k, v in fields.items()},
        "workspace": ws["workspace"], "config_file": str(envmod.config_path()),
        "weights": weights, "image": _image_info(), "torch": _torch_info(),
        "problems": problems, "hints": hints,
    }


def _print_report(report: Dict[str, Any]) -> None:
    print("SLT doctor")
    print(f"  pytracking workspace: {report['workspace'] or 'none detected'}")
    print(f"  user config file    : {report['config_file']}"
          f"{'' if os.path.isfile(report['config_file']) else ' (absent)'}")
    print("\nPaths (value  <- source):")
    width = max(len(k) for k in report["fields"])
    for name, info in report["fields"].items():
        value = info["value"] or "-"
        print(f"  {name:<{width}}  {value}  <- {info['source']}")
    print("\nPretrained weights:")
    for filename, path in report["weights"].items():
        print(f"  {filename}: {path or ('not found' if 'optional' in filename else 'MISSING')}")
    img = report["image"]
    print(f"\nImage backend: {img['backend']} ({img['reason']})")
    if img["backend"] != "jpeg4py":
        print("  (optional speed-up: pip install jpeg4py and the system libturbojpeg)")
    t = report["torch"]
    print(f"Torch: {t.get('torch')}, CUDA build {t.get('cuda_build', '?')}, "
          f"CUDA available: {t.get('cuda_available', False)}"
          + (f", devices: {', '.join(t['devices'])}" if t.get("devices") else ""))
    if report["problems"]:
        print("\nProblems:")
        for p in report["problems"]:
            print(f"  - {p}")
    if report["hints"]:
        print("\nNot configured / notes:")
        for h in report["hints"]:
            print(f"  - {h}")
    if not report["problems"]:
        print("\nNo problems found.")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="slt-doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit with code 1 when a problem is found")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = collect()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 1 if (args.strict and report["problems"]) else 0


if __name__ == "__main__":
    sys.exit(main())
