"""Where datasets, networks, checkpoints and results live.

Resolution order for every field (first non-empty wins):

1. explicit keyword argument of :func:`env_settings` (``env_settings(lasot_dir=...)``);
2. environment variable ``SLT_<FIELD>`` (``SLT_LASOT_DIR``, ``SLT_NETWORK_PATH``, ...);
3. the user config file: ``$SLT_CONFIG`` or ``~/.config/slt/config.json``, a JSON object
   ``{"lasot_dir": "/data/lasot", ...}`` (keys are the field names below);
4. the enclosing pytracking workspace, when there is one: ``ltr/admin/local.py``
   (``EnvironmentSettings()``) and ``pytracking/evaluation/local.py`` (``local_env_settings()``);
5. a counterpart field with the same meaning (``lasot_dir`` <-> ``lasot_path``, ``trackingnet_dir``
   <-> ``trackingnet_path``, ``synthetic_dir`` <-> ``synthetic_path``; GOT-10k differs:
   ``got10k_dir`` is the *train* folder, ``got10k_path`` the root holding train/val/test);
6. a built-in default (outputs under ``workspace_dir``; ``dataspec_path`` = the workspace's
   ``ltr/data_specs``); dataset roots default to ``''`` (unknown). Exception: a workspace's
   ``tensorboard_dir`` is dropped when ``workspace_dir`` itself was overridden by a higher source,
   so the logs follow ``--workspace`` / ``SLT_WORKSPACE_DIR``.

The workspace is ``$SLT_PYTRACKING_WORKSPACE`` if set (``none`` disables the search), else the
first folder containing ``ltr/admin`` and ``pytracking/evaluation`` found walking up from the
current directory (or the root of an already imported ``ltr`` package).

The workspace's ``local.py`` files are *read only*: never written, never imported under their real
module names (that would trigger ltr's "overwrite local.py on failure" logic elsewhere), loaded with
importlib from their file path under a private module name, every exception caught and reported
as one warning. pytracking's ``local.py`` imports ``pytracking.evaluation.environment``; unless the
real module is already imported, a private stand-in ``EnvSettings`` with pytracking's defaults is
provided while the file runs (so the workspace's heavy ``pytracking/__init__`` is never executed).

Cost: one JSON read and, inside a workspace, executing two small files (cached by mtime).
:func:`describe` reports, per field, the value and where it came from.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

logger = logging.getLogger(__name__)

# ltr names (ltr/admin/local.py) and pytracking names (pytracking/evaluation/local.py) side by side.
PATH_FIELDS = (
    "workspace_dir", "tensorboard_dir", "pretrained_networks",
    "lasot_dir", "got10k_dir", "trackingnet_dir", "coco_dir", "synthetic_dir",
    "results_path", "network_path", "result_plot_path", "segmentation_path",
    "lasot_path", "got10k_path", "trackingnet_path", "otb_path", "uav_path", "nfs_path",
    "synthetic_path", "got_packed_results_path", "tn_packed_results_path", "dataspec_path",
)

# Fields that name the same folder under the ltr and the pytracking convention.
SAME_FOLDER = {
    "lasot_dir": "lasot_path", "lasot_path": "lasot_dir",
    "trackingnet_dir": "trackingnet_path", "trackingnet_path": "trackingnet_dir",
    "synthetic_dir": "synthetic_path", "synthetic_path": "synthetic_dir",
}

# What each field is for (used by doctor / error messages).
FIELD_HELP = {
    "workspace_dir": "base folder for checkpoints (<workspace_dir>/checkpoints/ltr/...)",
    "tensorboard_dir": "tensorboard logs",
    "pretrained_networks": "pretrained weights used to start training (e.g. transt.pth)",
    "lasot_dir": "LaSOT root for training (<root>/<class>/<class>-<k>/img)",
    "got10k_dir": "GOT-10k *train* folder (holds list.txt and GOT-10k_Train_*)",
    "trackingnet_dir": "TrackingNet root (holds TRAIN_0 ... TRAIN_11)",
    "coco_dir": "COCO root",
    "synthetic_dir": "synthetic data written by slt-synthetic (training side)",
    "results_path": "tracking result files (pytracking format)",
    "network_path": "networks used by trackers (e.g. transt.pth, slt_transt.pth)",
    "result_plot_path": "analysis plots and cached evaluation data",
    "segmentation_path": "segmentation results (unused by SLT)",
    "lasot_path": "LaSOT root for evaluation",
    "got10k_path": "GOT-10k root for evaluation (holds train/ val/ test/)",
    "trackingnet_path": "TrackingNet root for evaluation (holds TEST/)",
    "otb_path": "OTB-100 root", "uav_path": "UAV123 root", "nfs_path": "NfS root",
    "synthetic_path": "synthetic data (evaluation side)",
    "got_packed_results_path": "packed GOT-10k results for the server",
    "tn_packed_results_path": "packed TrackingNet results for the server",
    "dataspec_path": "pytracking's ltr/data_specs folder (split files)",
}

SOURCE_ARG = "argument"
SOURCE_DEFAULT = "default"
SOURCE_UNSET = "unset"


def env_var_name(field: str) -> str:
    """The environment variable that sets ``field`` (e.g. ``lasot_dir`` -> ``SLT_LASOT_DIR``)."""
    return "SLT_" + field.upper()


def config_path() -> Path:
    """The user config file consulted (it need not exist)."""
    return Path(os.environ.get("SLT_CONFIG") or Path.home() / ".config" / "slt" / "config.json").expanduser()


def how_to_set(field: str) -> str:
    """One line telling a user how to configure ``field``."""
    return (f"set the environment variable {env_var_name(field)}, or add \"{field}\" to {config_path()}, "
            f"or pass {field}=... to env_settings()")


class EnvSettings:
    """Plain attribute bag; every field in PATH_FIELDS exists and is a str ('' when unknown).

    Extra str attributes found in a config file or workspace ``local.py`` (``lvis_dir``, ...) are
    kept too. ``source_of(name)`` says where a value came from.
    """

    def __init__(self, _sources: Optional[Dict[str, str]] = None, **values: str) -> None:
        for name in PATH_FIELDS:
            setattr(self, name, "")
        for name, value in values.items():
            setattr(self, name, value)
        self._sources: Dict[str, str] = dict(_sources or {})

    def as_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def source_of(self, name: str) -> str:
        return self._sources.get(name, SOURCE_UNSET)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items() if v)
        return f"EnvSettings({items})"


@dataclass
class FieldInfo:
    """One resolved field: its value and where it came from (see :func:`describe`)."""
    value: str
    source: str


# --------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------
def _to_str(value: Any) -> Optional[str]:
    """Path-like values as str; pytracking allows a list of network folders: keep the first."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        entries = [str(v) for v in value if v]
        existing = [e for e in entries if os.path.isdir(e)]
        return (existing or entries or [""])[0]
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    return None


def _config_file_values() -> Tuple[Dict[str, str], Path]:
    path = config_path()
    if not path.is_file():
        return {}, path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RuntimeError(f"cannot read SLT config file {path}: {err} "
                           f"(fix it, or point SLT_CONFIG elsewhere)") from err
    if not isinstance(data, dict):
        raise RuntimeError(f"SLT config file {path} must hold a JSON object of path names, "
                           f"got {type(data).__name__}")
    values = {}
    for key, value in data.items():
        text = _to_str(value)
        if text is None:
            logger.warning("SLT config file %s: key %r has a non-path value %r; ignored", path, key, value)
        else:
            values[str(key)] = text
    return values, path


def _is_workspace(path: Path) -> bool:
    return (path / "ltr" / "admin").is_dir() and (path / "pytracking" / "evaluation").is_dir()


def find_pytracking_workspace(start: Optional[os.PathLike] = None) -> Optional[Path]:
    """The pytracking workspace root in use, or None (see the module docstring for the rules)."""
    explicit = os.environ.get("SLT_PYTRACKING_WORKSPACE", "").strip()
    if explicit:
        if explicit.lower() in ("none", "0", "off", "false"):
            return None
        root = Path(explicit).expanduser()
        if _is_workspace(root):
            return root.resolve()
        _warn_once(f"SLT_PYTRACKING_WORKSPACE={explicit} is not a pytracking workspace "
                   f"(needs ltr/admin and pytracking/evaluation); ignored")
        return None
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if _is_workspace(folder):
            return folder
    ltr = sys.modules.get("ltr")
    ltr_file = getattr(ltr, "__file__", None)
    if ltr_file:
        root = Path(ltr_file).resolve().parent.parent
        if _is_workspace(root):
            return root
    return None


_warned: set = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


def _pytracking_env_stub(workspace: Path) -> types.ModuleType:
    """Private stand-in for ``pytracking.evaluation.environment`` with pytracking's defaults."""
    mod = types.ModuleType("pytracking.evaluation.environment")
    pytracking_dir = str(workspace / "pytracking")

    class EnvSettings:  # noqa: D401 - mirrors pytracking's class of the same name
        def __init__(self) -> None:
            self.results_path = f"{pytracking_dir}/tracking_results/"
            self.segmentation_path = f"{pytracking_dir}/segmentation_results/"
            self.network_path = f"{pytracking_dir}/networks/"
            self.result_plot_path = f"{pytracking_dir}/result_plots/"
            for name in ("otb_path", "nfs_path", "uav_path", "tpl_path", "vot_path", "got10k_path",
                         "lasot_path", "lasot_extension_subset_path", "trackingnet_path", "oxuva_path",
                         "davis_dir", "youtubevos_dir", "got_packed_results_path", "got_reports_path",
                         "tn_packed_results_path"):
                setattr(self, name, "")

    mod.EnvSettings = EnvSettings
    return mod


def _exec_local_file(path: Path, private_name: str, workspace: Path) -> types.ModuleType:
    """Execute a workspace local.py under a private name; the caller catches every exception."""
    spec = importlib.util.spec_from_file_location(private_name, str(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot create an import spec for {path}")
    module = importlib.util.module_from_spec(spec)
    stub_names: List[str] = []
    if "pytracking.evaluation.environment" not in sys.modules:
        # Only for the duration of this exec; the real package (if any) is never shadowed.
        stubs = {
            "pytracking": types.ModuleType("pytracking"),
            "pytracking.evaluation": types.ModuleType("pytracking.evaluation"),
            "pytracking.evaluation.environment": _pytracking_env_stub(workspace),
        }
        stubs["pytracking"].__path__ = []          # type: ignore[attr-defined]
        stubs["pytracking.evaluation"].__path__ = []  # type: ignore[attr-defined]
        stubs["pytracking"].evaluation = stubs["pytracking.evaluation"]  # type: ignore[attr-defined]
        stubs["pytracking.evaluation"].environment = stubs["pytracking.evaluation.environment"]  # type: ignore
        for name, stub in stubs.items():
            if name not in sys.modules:
                sys.modules[name] = stub
                stub_names.append(name)
    try:
        spec.loader.exec_module(module)
    finally:
        for name in stub_names:
            sys.modules.pop(name, None)
    return module


def _list_attrs(obj: Any) -> Dict[str, List[str]]:
    """Attributes holding a list/tuple of paths (pytracking allows several network folders)."""
    return {k: [os.fspath(v) for v in value if v] for k, value in vars(obj).items()
            if not k.startswith("_") and isinstance(value, (list, tuple))}


def _public_str_attrs(obj: Any) -> Dict[str, str]:
    values = {}
    for key, value in vars(obj).items():
        if key.startswith("_"):
            continue
        text = _to_str(value)
        if text:
            values[key] = text
    return values


_workspace_cache: Dict[Tuple[str, int, int], Tuple[Dict[str, str], Optional[str]]] = {}
_workspace_lists: Dict[str, Dict[str, List[str]]] = {}


def _load_workspace_file(path: Path, kind: str, workspace: Path) -> Tuple[Dict[str, str], Optional[str]]:
    """Values from one local.py ({} when absent/broken) and an error string (None when fine)."""
    if not path.is_file():
        return {}, None
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError as err:
        return {}, f"{path}: {err}"
    if key in _workspace_cache:
        return _workspace_cache[key]
    values: Dict[str, str] = {}
    error: Optional[str] = None
    try:
        module = _exec_local_file(path, f"_slt_workspace_{kind}_local", workspace)
        if kind == "ltr":
            obj = module.EnvironmentSettings()
        else:
            obj = module.local_env_settings()
        values = _public_str_attrs(obj)
        _workspace_lists[str(path)] = _list_attrs(obj)
    except BaseException as err:  # noqa: BLE001 - a workspace file must never break us
        if isinstance(err, KeyboardInterrupt):
            raise
        error = f"{path}: {type(err).__name__}: {err}"
        _warn_once(f"could not read the pytracking workspace file {error}; its paths are ignored "
                   f"(the file was not modified)")
    _workspace_cache[key] = (values, error)
    return values, error


def workspace_values(workspace: Optional[Path]) -> Tuple[Dict[str, str], Dict[str, str], List[str]]:
    """(ltr local.py values, pytracking local.py values, errors) of a workspace (read only)."""
    if workspace is None:
        return {}, {}, []
    ltr_vals, ltr_err = _load_workspace_file(workspace / "ltr" / "admin" / "local.py", "ltr", workspace)
    pyt_vals, pyt_err = _load_workspace_file(
        workspace / "pytracking" / "evaluation" / "local.py", "pytracking", workspace)
    return ltr_vals, pyt_vals, [e for e in (ltr_err, pyt_err) if e]


# --------------------------------------------------------------------------------------------
# resolution
# --------------------------------------------------------------------------------------------
def workspace_path_lists(workspace: Optional[Path]) -> Dict[str, List[str]]:
    """List-valued paths of a workspace's local.py files in full (e.g. every ``network_path`` folder;
    :func:`env_settings` keeps only the first existing one, since its fields are str)."""
    if workspace is None:
        return {}
    workspace_values(workspace)
    out: Dict[str, List[str]] = {}
    for path in (workspace / "ltr" / "admin" / "local.py", workspace / "pytracking" / "evaluation" / "local.py"):
        for key, items in _workspace_lists.get(str(path), {}).items():
            out.setdefault(key, []).extend(items)
    return out


def _resolve(overrides: Dict[str, Any], use_config: bool = True
             ) -> Tuple[Dict[str, FieldInfo], Optional[Path], List[str]]:
    config, cfg_path = _config_file_values() if use_config else ({}, config_path())
    workspace = find_pytracking_workspace()
    ltr_vals, pyt_vals, errors = workspace_values(workspace)

    layers: List[Tuple[str, Dict[str, str]]] = [
        (SOURCE_ARG, {k: t for k, v in overrides.items() if (t := _to_str(v))}),
        ("env", {}),
        (f"config {cfg_path}", config),
        (f"workspace {workspace}/ltr/admin/local.py" if workspace else "", ltr_vals),
        (f"workspace {workspace}/pytracking/evaluation/local.py" if workspace else "", pyt_vals),
    ]
    names = list(PATH_FIELDS)
    for _, layer in layers:
        names += [k for k in layer if k not in names]

    resolved: Dict[str, FieldInfo] = {}
    for name in names:
        for source, layer in layers:
            if source == "env":
                value = os.environ.get(env_var_name(name), "")
                source = f"env {env_var_name(name)}"
            else:
                value = layer.get(name, "")
            if value:
                resolved[name] = FieldInfo(value, source)
                break

    # same folder under another name
    for name, other in SAME_FOLDER.items():
        if name not in resolved and other in resolved:
            resolved[name] = FieldInfo(resolved[other].value, f"same as {other}")
    if "got10k_dir" not in resolved and "got10k_path" in resolved:
        resolved["got10k_dir"] = FieldInfo(os.path.join(resolved["got10k_path"].value, "train"),
                                           "got10k_path + /train")
    if "got10k_path" not in resolved and "got10k_dir" in resolved:
        train = resolved["got10k_dir"].value.rstrip("/\\")
        if os.path.basename(train) == "train":
            resolved["got10k_path"] = FieldInfo(os.path.dirname(train), "parent of got10k_dir")

    # A workspace local.py derives tensorboard_dir from *its* workspace_dir; when workspace_dir is
    # overridden from a higher layer (e.g. slt-train --workspace), the logs follow the override.
    tb, wsd = resolved.get("tensorboard_dir"), resolved.get("workspace_dir")
    if tb and wsd and tb.source.startswith("workspace ") and tb.source != wsd.source:
        del resolved["tensorboard_dir"]

    # defaults
    def default(name: str, value: str) -> None:
        if name not in resolved:
            resolved[name] = FieldInfo(value, SOURCE_DEFAULT)

    default("workspace_dir", str(Path.cwd() / "slt_workspace"))
    ws = resolved["workspace_dir"].value
    default("tensorboard_dir", os.path.join(ws, "tensorboard"))
    default("pretrained_networks", os.path.join(ws, "pretrained_networks"))
    default("results_path", os.path.join(ws, "tracking_results"))
    default("result_plot_path", os.path.join(ws, "result_plots"))
    default("segmentation_path", os.path.join(ws, "segmentation_results"))
    default("network_path", os.path.join(ws, "networks"))
    if workspace is not None and (workspace / "ltr" / "data_specs").is_dir():
        default("dataspec_path", str(workspace / "ltr" / "data_specs"))
    ordered = {name: resolved.get(name, FieldInfo("", SOURCE_UNSET)) for name in PATH_FIELDS}
    ordered.update({k: v for k, v in resolved.items() if k not in ordered})
    return ordered, workspace, errors


def env_settings(**overrides: str) -> EnvSettings:
    """Resolve all paths (cheap: no dataset is touched). Keyword arguments win over everything."""
    resolved, _, _ = _resolve(overrides)
    return EnvSettings(_sources={k: f.source for k, f in resolved.items()},
                       **{k: f.value for k, f in resolved.items()})


def describe(**overrides: str) -> Dict[str, FieldInfo]:
    """Per field: the resolved value and where it came from (argument / env / config / workspace...)."""
    resolved, _, _ = _resolve(overrides)
    return resolved


def describe_without_config(**overrides: str) -> Dict[str, FieldInfo]:
    """Like :func:`describe` but ignoring the user config file (doctor uses it when that file is broken)."""
    return _resolve(overrides, use_config=False)[0]


def workspace_report() -> Dict[str, Any]:
    """The detected workspace and any errors met while reading its local.py files (for doctor)."""
    workspace = find_pytracking_workspace()
    _, _, errors = workspace_values(workspace)
    return {"workspace": str(workspace) if workspace else "", "errors": errors}
