"""Training entry point, same CLI as ltr's ``run_training.py`` plus real flags.

    python -m ltr_slt.run_training <train_module> <train_name> [--cudnn_benchmark {0,1}]
        [--seed 12345] [--workspace DIR] [--device cpu|cuda|cuda:0] [--settings_package PKG]
    torchrun --nproc_per_node K -m ltr_slt.run_training slt transt_slt     # DDP, one rank per device

Imports ``<settings_package>.<train_module>.<train_name>`` (default package
``ltr_slt.train_settings``) and calls its ``run(settings)``, like ltr. ``--cudnn_benchmark`` is a
real 0/1 flag (ltr's ``type=bool`` made "0" mean True). Seeds python/numpy/torch (rank 0 keeps
the given seed, other ranks get derived ones), forces the ``spawn`` start method and
``cv2.setNumThreads(0)`` (OpenCV threads deadlock in forked workers).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import pkgutil
import sys
import types
from typing import Any, List, Optional, Sequence, Union

import torch

from ltr_slt.admin.cli_errors import device_arg_status, run_cli

from ltr_slt.admin import distributed as ddp
from ltr_slt.admin.seeding import DEFAULT_SEED, rank_seed, seed_everything

logger = logging.getLogger(__name__)

__all__ = ["run_training", "main", "TrainSettingsNotFoundError", "available_train_settings"]

DEFAULT_PACKAGE = "ltr_slt.train_settings"


class TrainSettingsNotFoundError(LookupError):
    """The requested ``<module>.<name>`` train settings file does not exist."""


def available_train_settings(package: str = DEFAULT_PACKAGE) -> List[str]:
    """``'<module>/<name>'`` of every settings file under ``package`` (no file is imported)."""
    try:
        pkg = importlib.import_module(package)
    except ImportError:
        return []
    found = []
    for sub in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
        if not sub.ispkg:
            continue
        try:
            subpkg = importlib.import_module(f"{package}.{sub.name}")
        except Exception:  # noqa: BLE001 - a broken sibling must not hide the listing
            continue
        for mod in pkgutil.iter_modules(getattr(subpkg, "__path__", [])):
            if not mod.ispkg and not mod.name.startswith("_"):
                found.append(f"{sub.name}/{mod.name}")
    return sorted(found)


def _import_settings_module(train_module: str, train_name: str, package: str) -> types.ModuleType:
    dotted = f"{package}.{train_module}.{train_name}"
    for part, value in (("train_module", train_module), ("train_name", train_name)):
        if not value.isidentifier():
            raise TrainSettingsNotFoundError(f"{part} {value!r} is not a valid Python module name")
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as err:
        # Only "this file does not exist" becomes our message; a missing dependency *inside*
        # the settings file must surface unchanged.
        missing = err.name or ""
        if missing and dotted.startswith(missing) and (missing == dotted or dotted[len(missing)] == "."):
            avail = available_train_settings(package)
            listing = ", ".join(avail) if avail else "none found"
            raise TrainSettingsNotFoundError(
                f"unknown train settings '{train_module} {train_name}': no module {dotted}. "
                f"Available in {package}: {listing}") from err
        raise


def run_training(train_module: str, train_name: str, cudnn_benchmark: bool = True,
                 seed: Optional[int] = DEFAULT_SEED, settings: Any = None, *,
                 workspace: Optional[str] = None, device: Optional[str] = None,
                 settings_package: str = DEFAULT_PACKAGE,
                 settings_module: Union[None, str, types.ModuleType] = None, announce: bool = True) -> Any:
    """Set up the process and call ``run(settings)`` of the train settings file.

    ``settings``: an existing settings object (e.g. ltr's, handed over by a workspace shim);
    default a fresh :class:`~ltr_slt.admin.settings.Settings`. ``settings_module``: the module
    (or dotted name) whose ``run`` to call, bypassing the package lookup (shims pass their own).
    ``announce``: print ltr's ``Training:  <module>  <name>`` line (False when the caller, e.g. a
    workspace's ``ltr/run_training.py``, already did). Returns whatever ``run`` returns.
    """
    try:
        import cv2
        cv2.setNumThreads(0)
    except ImportError:  # declared dependency, but training itself does not need it here
        logger.debug("cv2 not importable; skipping cv2.setNumThreads(0)")
    if cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.enabled = True
    else:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True

    env_info = ddp.env_dist_info()  # rank known before the process group exists
    if seed is not None:
        seed_everything(rank_seed(int(seed), env_info.rank))
    if announce and env_info.rank == 0:
        print(f"Training:  {train_module}  {train_name}", flush=True)

    if settings_module is None:
        module = _import_settings_module(train_module, train_name, settings_package)
    elif isinstance(settings_module, str):
        module = importlib.import_module(settings_module)
    else:
        module = settings_module
    run = getattr(module, "run", None)
    if not callable(run):
        raise TrainSettingsNotFoundError(f"train settings module {module.__name__} "
                                         f"({getattr(module, '__file__', '?')}) has no run(settings) function")

    backend_device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    owns_group = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    info = ddp.init_distributed(device=backend_device)
    try:
        if settings is None:
            from ltr_slt.admin.environment import env_settings
            from ltr_slt.admin.settings import Settings
            env = env_settings(workspace_dir=workspace) if workspace else env_settings()
            settings = Settings(env)
        elif workspace:
            from ltr_slt.admin.environment import env_settings
            settings.env = env_settings(workspace_dir=workspace)
        settings.module_name = train_module
        settings.script_name = train_name
        settings.project_path = f"ltr/{train_module}/{train_name}"
        settings.seed = seed
        settings.rank, settings.world_size, settings.local_rank = info.rank, info.world_size, info.local_rank
        if device:
            settings.device = str(device)
        return run(settings)
    finally:
        if owns_group:
            ddp.cleanup()


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ltr_slt.run_training",
                                description="Run a train settings file <settings_package>.<train_module>.<train_name>.")
    p.add_argument("train_module", help="sub-package of the settings package, e.g. 'slt'")
    p.add_argument("train_name", help="settings file name without .py, e.g. 'transt_slt'")
    p.add_argument("--cudnn_benchmark", type=int, choices=(0, 1), default=1,
                   help="1: cudnn.benchmark (fast); 0: deterministic cuDNN (default 1)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--workspace", default=None,
                   help="workspace_dir for checkpoints/tensorboard (default: from the environment)")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:0 (default: cuda if available)")
    p.add_argument("--settings_package", default=DEFAULT_PACKAGE,
                   help=f"package holding the settings files (default {DEFAULT_PACKAGE})")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry (``slt-train``); returns the exit code."""
    args = _build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if device_arg_status(args.device):
        return 2
    multiprocessing.set_start_method("spawn", force=True)

    def body() -> int:
        try:
            run_training(args.train_module, args.train_name, cudnn_benchmark=bool(args.cudnn_benchmark),
                         seed=args.seed, workspace=args.workspace, device=args.device,
                         settings_package=args.settings_package)
        except TrainSettingsNotFoundError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
