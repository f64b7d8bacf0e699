"""Where datasets, networks, checkpoints and results live.

Resolution order for every path (first non-empty wins):
explicit keyword argument > environment variable ``SLT_<NAME>`` > user config file
(``$SLT_CONFIG`` or ``~/.config/slt/config.json``) > the enclosing pytracking workspace's
``ltr/admin/local.py`` / ``pytracking/evaluation/local.py`` (read only) > built-in default.

PROVISIONAL minimal version: the workspace bridge and ``doctor`` are added by the environment work.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict

# ltr names (ltr/admin/local.py) and pytracking names (pytracking/evaluation/local.py) side by side.
PATH_FIELDS = (
    "workspace_dir", "tensorboard_dir", "pretrained_networks",
    "lasot_dir", "got10k_dir", "trackingnet_dir", "coco_dir", "synthetic_dir",
    "results_path", "network_path", "result_plot_path", "segmentation_path",
    "lasot_path", "got10k_path", "trackingnet_path", "otb_path", "uav_path", "nfs_path",
    "synthetic_path", "got_packed_results_path", "tn_packed_results_path", "dataspec_path",
)


class EnvSettings:
    """Plain attribute bag; every field in PATH_FIELDS exists and is a str ('' when unknown)."""

    def __init__(self, **values: str) -> None:
        for name in PATH_FIELDS:
            setattr(self, name, "")
        for name, value in values.items():
            setattr(self, name, value)

    def as_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def _config_file_values() -> Dict[str, str]:
    path = Path(os.environ.get("SLT_CONFIG", Path.home() / ".config" / "slt" / "config.json"))
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise RuntimeError(f"cannot read SLT config file {path}: {err}") from err
    if not isinstance(data, dict):
        raise RuntimeError(f"SLT config file {path} must hold a JSON object of path names")
    return {k: str(v) for k, v in data.items()}


def env_settings(**overrides: str) -> EnvSettings:
    """Resolve all paths once (cheap: no dataset is touched)."""
    config = _config_file_values()
    values: Dict[str, str] = {}
    for name in PATH_FIELDS:
        for candidate in (overrides.get(name), os.environ.get("SLT_" + name.upper()), config.get(name)):
            if candidate:
                values[name] = str(candidate)
                break
    workspace = values.setdefault("workspace_dir", str(Path.cwd() / "slt_workspace"))
    values.setdefault("tensorboard_dir", str(Path(workspace) / "tensorboard"))
    values.setdefault("pretrained_networks", str(Path(workspace) / "pretrained_networks"))
    values.setdefault("results_path", str(Path(workspace) / "tracking_results"))
    values.setdefault("result_plot_path", str(Path(workspace) / "result_plots"))
    values.setdefault("network_path", str(Path(workspace) / "networks"))
    return EnvSettings(**values)
