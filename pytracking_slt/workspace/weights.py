"""Find pretrained / trained network files (``transt.pth``, ``slt_transt.pth``, ...) on disk.

Users of a pytracking workspace already keep their networks in the workspace's
``network_path`` (``pytracking/evaluation/local.py``) or ``pretrained_networks``
(``ltr/admin/local.py``); a parameter or train-settings file should find them there without a
single path being edited. Search order (first existing file wins):

1. ``name`` itself when it is an existing path (absolute, or relative to the cwd);
2. the caller's ``extra_dirs`` (in order);
3. the pytracking workspace in use: ``network_path`` (may be a list) and ``pretrained_networks``
   read (read only) from its ``local.py`` files, then ``<workspace>/pytracking/networks``;
4. our own resolved paths (:func:`ltr_slt.admin.environment.env_settings`): ``network_path``,
   ``pretrained_networks``.

Nothing found -> :class:`WeightsNotFoundError` listing every folder looked in (and why each was
consulted) plus where the file can be downloaded.
"""
from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

logger = logging.getLogger(__name__)

__all__ = ["KNOWN_WEIGHTS", "SearchDir", "WeightsNotFoundError", "find_weights", "resolve_weights",
           "settings_weight_dirs", "weight_search_dirs", "training_checkpoint_dir", "latest_training_checkpoint",
           "tracker_weights", "default_tracker_weights", "announce_weights"]

PathLike = Union[str, "os.PathLike[str]"]

# Where each well-known file comes from (shown in the error message; we never download).
KNOWN_WEIGHTS = {
    "transt.pth": "TransT-N4 baseline, README 'Models' of https://github.com/chenxin-dlut/TransT",
    "slt_transt.pth": "SLT-TransT, README 'Models' of https://github.com/byminji/SLTtrack",
    "trdimp.pth": "TrDiMP, README of https://github.com/594422814/TransformerTrack",
    "slt_trdimp.pth": "SLT-TrDiMP, README 'Models' of https://github.com/byminji/SLTtrack",
    "trdimp_net.pth.tar": "TrDiMP, README of https://github.com/594422814/TransformerTrack",
    "dimp50.pth": "DiMP-50, MODEL_ZOO.md of https://github.com/visionml/pytracking",
    "super_dimp.pth.tar": "SuperDiMP, MODEL_ZOO.md of https://github.com/visionml/pytracking",
    "resnet50-19c8e357.pth": "https://download.pytorch.org/models/resnet50-19c8e357.pth",
}


class WeightsNotFoundError(FileNotFoundError):
    """A network file was not found in any search folder (the message lists them)."""


@dataclass(frozen=True)
class SearchDir:
    """One folder consulted and the reason it was consulted (e.g. 'workspace network_path')."""
    path: str
    origin: str


def _as_list(value: object) -> List[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [os.fspath(v) for v in value if v]
    return [os.fspath(value)]  # type: ignore[arg-type]


def _workspace_dirs() -> List[SearchDir]:
    """network_path / pretrained_networks of the workspace in use (read-only local.py parsing)."""
    try:
        from ltr_slt.admin import environment as envmod
    except ImportError:  # pragma: no cover - environment module is part of this package
        return []
    find = getattr(envmod, "find_pytracking_workspace", None)
    values = getattr(envmod, "workspace_values", None)
    if find is None or values is None:
        return []
    root = find()
    if root is None:
        return []
    ltr_vals, pyt_vals, _errors = values(root)
    lists = getattr(envmod, "workspace_path_lists", None)
    network = (lists(root) if lists is not None else {}).get("network_path") or pyt_vals.get("network_path")
    out = [SearchDir(p, f"workspace {root} pytracking/evaluation/local.py network_path")
           for p in _as_list(network)]
    out += [SearchDir(p, f"workspace {root} ltr/admin/local.py pretrained_networks")
            for p in _as_list(ltr_vals.get("pretrained_networks"))]
    out.append(SearchDir(os.path.join(str(root), "pytracking", "networks"),
                         f"workspace {root} default network folder"))
    return out


def _our_dirs() -> List[SearchDir]:
    try:
        from ltr_slt.admin.environment import env_settings
        env = env_settings()
    except Exception as err:  # noqa: BLE001 - a broken config must not hide the real message
        logger.warning("could not resolve SLT paths while looking for weights: %s", err)
        return []
    out = []
    for field in ("network_path", "pretrained_networks"):
        source = env.source_of(field) if hasattr(env, "source_of") else "env_settings"
        out += [SearchDir(p, f"{field} ({source})") for p in _as_list(getattr(env, field, ""))]
    return out


def weight_search_dirs(extra_dirs: Iterable[PathLike] = ()) -> List[SearchDir]:
    """Folders :func:`find_weights` consults, in order, without duplicates."""
    candidates = [SearchDir(os.fspath(d), "given by the caller") for d in extra_dirs if d]
    candidates += _workspace_dirs() + _our_dirs()
    seen, out = set(), []
    for cand in candidates:
        key = os.path.normcase(os.path.abspath(os.path.expanduser(cand.path)))
        if key not in seen:
            seen.add(key)
            out.append(SearchDir(os.path.expanduser(cand.path), cand.origin))
    return out


def find_weights(name: PathLike, extra_dirs: Sequence[PathLike] = (), *,
                 download_hint: Optional[str] = None) -> str:
    """Absolute path of the network file ``name`` (e.g. ``'transt.pth'``); see the module docstring.

    Raises :class:`WeightsNotFoundError` naming every folder consulted and where to download from
    (``download_hint`` overrides the built-in table :data:`KNOWN_WEIGHTS`).
    """
    name = os.fspath(name)
    if not name:
        raise ValueError("find_weights: empty file name")
    expanded = os.path.expanduser(name)
    if os.path.isfile(expanded):
        return os.path.abspath(expanded)
    if os.path.isabs(expanded):
        raise WeightsNotFoundError(f"network file '{name}' does not exist")
    dirs = weight_search_dirs(extra_dirs)
    for cand in dirs:
        path = os.path.join(cand.path, expanded)
        if os.path.isfile(path):
            logger.info("using %s (found via %s)", path, cand.origin)
            return os.path.abspath(path)
    hint = download_hint or KNOWN_WEIGHTS.get(os.path.basename(expanded))
    looked = "\n".join(f"  - {c.path}  [{c.origin}]" for c in dirs) or "  (no folder configured)"
    message = (f"network file '{name}' not found. Looked in:\n{looked}\n"
               f"Put the file in one of these folders (or set network_path in the workspace's "
               f"pytracking/evaluation/local.py, or the environment variable SLT_NETWORK_PATH).")
    if hint:
        message += f"\nDownload: {hint}"
    raise WeightsNotFoundError(message)


def settings_weight_dirs(settings: Any) -> List[str]:
    """Folders a train-settings object names, searched first: ``settings.pretrained_dir``, then its
    ``env.pretrained_networks`` and ``env.network_path`` (the run's own env may differ from ours)."""
    env = getattr(settings, "env", None)
    dirs = [getattr(settings, "pretrained_dir", None), getattr(env, "pretrained_networks", None),
            getattr(env, "network_path", None)]
    return [d for d in dirs if d]


def resolve_weights(name: PathLike, settings: Any = None, *, allow_dir: bool = False) -> str:
    """The one way parameter and train-settings files turn a weight name into a path.

    ``name`` is a path or a bare file name looked up by :func:`find_weights`, first in the folders
    ``settings`` names (:func:`settings_weight_dirs`). ``allow_dir=True`` also accepts an existing
    checkpoint folder (trackers load the newest ``*.pth.tar`` in it). Missing ->
    :class:`WeightsNotFoundError` listing every folder consulted.
    """
    if allow_dir:
        expanded = os.path.expanduser(os.fspath(name))
        if os.path.isdir(expanded):
            return os.path.abspath(expanded)
    extra = settings_weight_dirs(settings) if settings is not None else []
    return find_weights(name, extra_dirs=extra)


# ------------------------------------------------------------------------------------------
# what training wrote: the rule every family's parameter files share
# ------------------------------------------------------------------------------------------
_EPOCH_FILE = re.compile(r"_ep(\d+)\.pth\.tar$")
_ANNOUNCED: set = set()


def training_checkpoint_dir(train_module: str, train_name: str, workspace_dir: Optional[str] = None) -> str:
    """``<workspace_dir>/checkpoints/ltr/<train_module>/<train_name>`` (where ``slt-train`` and the
    workspace's ``ltr/run_training.py`` write); ``workspace_dir`` defaults to the resolved one
    (inside a pytracking workspace: its ``ltr/admin/local.py``)."""
    if workspace_dir is None:
        from ltr_slt.admin.environment import env_settings
        workspace_dir = env_settings().workspace_dir or ""
    return os.path.join(os.path.expanduser(workspace_dir), "checkpoints", "ltr", train_module, train_name)


def latest_training_checkpoint(train_module: str, train_name: str, workspace_dir: Optional[str] = None
                               ) -> Optional[str]:
    """The highest-epoch ``*_epNNNN.pth.tar`` of that training run, or None."""
    folder = training_checkpoint_dir(train_module, train_name, workspace_dir)
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    epochs = [(int(m.group(1)), n) for n in names if (m := _EPOCH_FILE.search(n)) and not n.startswith(".")]
    if not epochs:
        return None
    return os.path.abspath(os.path.join(folder, max(epochs)[1]))


def announce_weights(caller: str, path: str, how: str) -> None:
    """Say once per process which network file a parameter file uses (stderr: visible by default)."""
    key = (caller, path)
    if key not in _ANNOUNCED:
        _ANNOUNCED.add(key)
        print(f"{caller}: using {path} ({how})", file=sys.stderr, flush=True)


def tracker_weights(caller: str, net_path: Optional[str] = None, *, env_var: Optional[str] = None,
                    file_name: Optional[str] = None, train_settings: Optional[Tuple[str, str]] = None) -> str:
    """The network a parameter file uses, the same rule for every tracker family.

    First match wins: ``net_path`` (a path, or a name looked up like :func:`resolve_weights`; folders
    allowed); ``$<env_var>``; ``file_name`` found by :func:`find_weights` (network_path,
    pretrained_networks, ...); the newest checkpoint of the training run ``train_settings`` =
    ``(train_module, train_name)`` in this workspace's ``checkpoints/ltr/<module>/<name>/``. The
    file used is announced once (:func:`announce_weights`). Nothing found:
    :class:`WeightsNotFoundError`, one line naming everything tried and the command that trains it.
    """
    if net_path:
        path = resolve_weights(net_path, allow_dir=True)
        announce_weights(caller, path, "net_path")
        return path
    tried = []
    if env_var:
        value = os.environ.get(env_var, "")
        if value:
            path = resolve_weights(value, allow_dir=True)
            announce_weights(caller, path, f"${env_var}")
            return path
        tried.append(f"${env_var} not set")
    if file_name:
        try:
            path = find_weights(file_name)
        except WeightsNotFoundError:
            tried.append(f"'{file_name}' not in the network folders (slt-doctor lists them)")
        else:
            announce_weights(caller, path, "network folders")
            return path
    if train_settings:
        module, name = train_settings
        path = latest_training_checkpoint(module, name)
        if path:
            announce_weights(caller, path, f"newest checkpoint of training run {module} {name}")
            return path
        tried.append(f"no *_epNNNN.pth.tar in {training_checkpoint_dir(module, name)}")
    hint = (f"; train it with `python ltr/run_training.py {train_settings[0]} {train_settings[1]}` (or slt-train)"
            if train_settings else "")
    raise WeightsNotFoundError(f"{caller}: no network to track with: no net_path given, " + ", ".join(tried)
                               + hint + ", or pass net_path=<file or checkpoint folder>")


def default_tracker_weights(file_name: str, train_settings: Tuple[str, str]) -> str:
    """A full-size parameter file's network when no ``net_path`` is given: ``file_name`` from the network
    folders, else the newest checkpoint of the training run ``train_settings`` (:func:`tracker_weights`,
    announced once). Neither there: ``file_name`` itself, so that loading (lazy, at the tracker's first
    ``initialize``) fails listing every folder consulted."""
    try:
        return tracker_weights(f"{train_settings[0]}/{train_settings[1]} parameters", file_name=file_name,
                               train_settings=train_settings)
    except WeightsNotFoundError:
        return file_name
