"""Checkpoint files in ltr's format, written atomically.

File: ``<workspace>/checkpoints/<project_path>/<NetType>_ep%04d.pth.tar`` with
``project_path = 'ltr/<module>/<name>'`` so pytracking's ``load_network`` / ``load_pretrained``
find them. Dict keys are ltr's (``epoch``, ``actor_type``, ``net_type``, ``net``, ``net_info``,
``constructor``, ``optimizer``, ``stats``, ``settings``) plus ours (``lr_scheduler``,
``rng_state``, ``grad_scaler``, ``sampler_state``, ``skipped_steps``, ``world_size``,
``slt_format``); ltr ignores unknown keys.

Writes go to a temporary file in the same folder, are fsync'ed and then ``os.replace``d onto
the final name, so a crash mid-write never leaves a truncated ``.pth.tar`` behind and never
replaces a good one; leftovers of killed writes (``.<name>.<random>.tmp``) are removed by
:func:`remove_stale_temp_files` when training starts. Reading goes through the same restricted
reader as every other checkpoint (:func:`ltr_slt.admin.loading.read_checkpoint`,
``weights_only=True``): a planted ``*_epNNNN.pth.tar`` cannot run code on resume.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch

from ltr_slt.admin import loading
from ltr_slt.admin.fileio import atomic_write, remove_stale_temp_files as _remove_temp
from ltr_slt.admin.loading import CheckpointError

logger = logging.getLogger(__name__)

__all__ = ["CheckpointError", "checkpoint_dir", "checkpoint_path", "list_checkpoints",
           "latest_checkpoint", "resolve_checkpoint", "atomic_torch_save", "read_checkpoint",
           "prune_checkpoints", "remove_stale_temp_files", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_EPOCH_RE = re.compile(r"^(?P<net>.+)_ep(?P<epoch>\d+)\.pth\.tar$")

PathLike = Union[str, os.PathLike]


def checkpoint_dir(settings: Any) -> Optional[Path]:
    """``<workspace_dir>/checkpoints/<project_path>``, or None when checkpoints are disabled.

    ``settings.checkpoint_dir`` (if set) overrides the whole path. ``env.workspace_dir = None``
    disables checkpoints like ltr; an empty string means the current directory (ltr's behaviour),
    with a warning.
    """
    override = getattr(settings, "checkpoint_dir", None)
    if override:
        return Path(os.path.expanduser(str(override)))
    env = getattr(settings, "env", None)
    workspace = getattr(env, "workspace_dir", None) if env is not None else None
    if workspace is None:
        return None
    if workspace == "":
        logger.warning("env.workspace_dir is empty: checkpoints go to ./checkpoints (set SLT_WORKSPACE_DIR "
                       "or pass --workspace)")
    project_path = getattr(settings, "project_path", None) or "ltr/default/default"
    return Path(os.path.expanduser(workspace)) / "checkpoints" / project_path


def checkpoint_path(directory: PathLike, net_type: str, epoch: int) -> Path:
    """``<directory>/<NetType>_ep%04d.pth.tar``."""
    return Path(directory) / f"{net_type}_ep{int(epoch):04d}.pth.tar"


def list_checkpoints(directory: PathLike, net_type: Optional[str] = None) -> List[Tuple[int, Path]]:
    """(epoch, path) of ``*_ep*.pth.tar`` files in ``directory``, ascending epoch."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        m = _EPOCH_RE.match(path.name)
        if m and path.is_file() and (net_type is None or m.group("net") == net_type):
            found.append((int(m.group("epoch")), path))
    return sorted(found)


def latest_checkpoint(directory: PathLike, net_type: Optional[str] = None) -> Optional[Path]:
    found = list_checkpoints(directory, net_type)
    return found[-1][1] if found else None


def resolve_checkpoint(checkpoint: Union[None, int, PathLike], directory: Optional[PathLike],
                       net_type: Optional[str]) -> Optional[Path]:
    """Turn ltr's ``checkpoint`` argument into a file path.

    None -> latest of ``directory`` (None if there is none); int -> that epoch (must exist);
    a folder -> its latest file (must exist); a file path -> itself (must exist).
    """
    if checkpoint is None:
        if directory is None:
            return None
        return latest_checkpoint(directory, net_type)
    if isinstance(checkpoint, bool):
        raise TypeError("checkpoint must be None, an epoch number or a path, not a bool")
    if isinstance(checkpoint, int):
        if directory is None:
            raise CheckpointError(f"cannot load epoch {checkpoint}: checkpoints are disabled "
                                  "(env.workspace_dir is None)")
        path = checkpoint_path(directory, net_type or "*", checkpoint)
        if not path.is_file():
            have = [e for e, _ in list_checkpoints(directory, net_type)]
            raise CheckpointError(f"no checkpoint for epoch {checkpoint}: {path} does not exist "
                                  f"(epochs available in {directory}: {have or 'none'})")
        return path
    path = Path(os.path.expanduser(str(checkpoint)))
    if path.is_dir():
        latest = latest_checkpoint(path, net_type)
        if latest is None:
            raise CheckpointError(f"no '{net_type or '*'}_ep*.pth.tar' checkpoint in folder {path}")
        return latest
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    return path


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    """``torch.save`` to a temp file next to ``path``, fsync, then ``os.replace`` onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda handle: torch.save(obj, handle))


def read_checkpoint(path: PathLike, map_location: Any = "cpu") -> Dict[str, Any]:
    """Load a checkpoint dict safely (no code from the file runs); errors name the file.

    ``map_location`` is kept for ltr compatibility; tensors are always read to CPU (the trainer
    moves them when loading state dicts).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    try:
        obj = loading.read_checkpoint(path)
    except loading.NotACheckpointError:
        raise
    except CheckpointError as err:
        raise CheckpointError(
            f"{err}. Delete or move it, or resume from an earlier epoch "
            "(load_checkpoint(checkpoint=<epoch>) / fallback=True)") from err
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint file {path} holds a {type(obj).__name__}, expected a dict")
    return obj


def remove_stale_temp_files(directory: Optional[PathLike]) -> List[Path]:
    """Delete leftover ``.*.pth.tar.*.tmp`` files of killed checkpoint writes; one log line if any."""
    if directory is None:
        return []
    removed = _remove_temp(directory, ".pth.tar")
    if removed:
        logger.warning("removed %d leftover temporary checkpoint file(s) of interrupted writes in %s: %s",
                       len(removed), directory, ", ".join(p.name for p in removed))
    return removed


def prune_checkpoints(directory: PathLike, net_type: str, keep_last: Optional[int],
                      keep_epochs: Tuple[int, ...] = ()) -> List[Path]:
    """Delete all but the newest ``keep_last`` checkpoints of ``net_type`` (None/0: keep all)."""
    if not keep_last or keep_last < 1:
        return []
    removed = []
    found = list_checkpoints(directory, net_type)
    for epoch, path in found[:-keep_last]:
        if epoch in keep_epochs:
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError as err:
            logger.warning("could not delete old checkpoint %s: %s", path, err)
    return removed
