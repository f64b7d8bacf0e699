"""Runtime glue used by the shim files inside a pytracking workspace.

Kept import-light (no torch at import time): every shim imports this module first.

- :func:`enter_workspace` points our path resolution (``ltr_slt.admin.environment``) at the
  workspace the shim lives in, via ``SLT_PYTRACKING_WORKSPACE``. The variable is inherited by
  DataLoader / Pool workers (spawn), so they see the same paths. The workspace's ``local.py`` files
  are only ever *read* by that module, under private names, never imported as
  ``ltr.admin.local`` (whose failure would make pytracking overwrite them).
- :func:`run_in_workspace` turns the ``ltr.admin.settings.Settings`` built by the workspace's
  ``ltr/run_training.py`` into our :class:`ltr_slt.admin.settings.Settings` (same run identity,
  paths from the workspace's ``ltr/admin/local.py``) and runs our train-settings module. Our own
  Settings is what gets pickled into checkpoints, so they load with or without the workspace.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import os
from pathlib import Path
from typing import Any, Dict

logger = logging.getLogger(__name__)

__all__ = ["WORKSPACE_VAR", "workspace_root_of", "enter_workspace", "workspace_env_overrides",
           "convert_settings", "run_in_workspace", "call_parameters"]

WORKSPACE_VAR = "SLT_PYTRACKING_WORKSPACE"
# Every shim sits three folders below the root: ltr/train_settings/slt/x.py,
# pytracking/tracker/<name>/__init__.py, pytracking/parameter/<name>/<param>.py.
SHIM_DEPTH = 3
# Attributes of the workspace Settings that are not copied (ours sets them itself).
_NOT_COPIED = {"env"}


def workspace_root_of(shim_file: str, depth: int = SHIM_DEPTH) -> str:
    """The workspace root of a shim file (``depth`` folders above the file's folder)."""
    return str(Path(os.path.abspath(shim_file)).parents[depth])


def enter_workspace(shim_file: str, depth: int = SHIM_DEPTH) -> str:
    """Make our path resolution use the workspace that holds ``shim_file``; returns its root."""
    root = workspace_root_of(shim_file, depth)
    previous = os.environ.get(WORKSPACE_VAR)
    if previous != root:
        if previous:
            logger.warning("%s was %r; using the workspace this shim lives in: %s", WORKSPACE_VAR, previous, root)
        os.environ[WORKSPACE_VAR] = root
    return root


def _str_attrs(obj: Any) -> Dict[str, str]:
    out = {}
    for key, value in vars(obj).items() if hasattr(obj, "__dict__") else ():
        if key.startswith("_"):
            continue
        if isinstance(value, (list, tuple)):  # pytracking allows a list of network folders
            value = next((v for v in value if isinstance(v, (str, os.PathLike)) and v), "")
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if isinstance(value, str) and value:
            out[key] = value
    return out


def workspace_env_overrides(workspace_env: Any) -> Dict[str, str]:
    """Non-empty str paths of the workspace's env object (``ltr/admin/local.py``), as keyword overrides.

    They win over our config file and env vars: inside a workspace, its ``local.py`` decides where
    checkpoints and tensorboard logs go, exactly as for the workspace's own trainers.
    """
    if workspace_env is None:
        return {}
    return _str_attrs(workspace_env)


def convert_settings(workspace_settings: Any) -> Any:
    """Our picklable Settings carrying the workspace run's identity and paths."""
    from ltr_slt.admin.environment import env_settings
    from ltr_slt.admin.settings import Settings

    env = env_settings(**workspace_env_overrides(getattr(workspace_settings, "env", None)))
    ours = Settings(env=env)
    for key, value in vars(workspace_settings).items():
        if key not in _NOT_COPIED:
            setattr(ours, key, value)
    return ours


def _module_and_name(target: str) -> tuple:
    parts = target.rsplit(".", 2)
    if len(parts) != 3:
        raise ValueError(f"train settings module must be <package>.<module>.<name>, got {target!r}")
    return parts[0], parts[1], parts[2]


def run_in_workspace(target: str, workspace_settings: Any) -> Any:
    """Run our train-settings module ``target`` (dotted path) for the workspace's run_training.py.

    Uses ``ltr_slt.run_training.run_training`` when it accepts a ``settings`` argument (so seeding,
    device selection and distributed set-up are the same as ``slt-train``), else calls
    ``target.run(settings)`` directly. A user error (missing ``transt.pth``, a missing dataset
    split, ...) is printed as the same one ``error:`` line as ``slt-train`` prints and the process
    exits 1 (``SLT_TRACEBACK=1`` shows the traceback); the workspace script already printed
    ``Training: ...``, so ours does not print it again.
    """
    from ltr_slt.admin.cli_errors import run_cli

    result: Dict[str, Any] = {}

    def body() -> int:
        result["value"] = _run_in_workspace(target, workspace_settings)
        return 0

    code = run_cli(body)
    if code:
        raise SystemExit(code)
    return result.get("value")


def _run_in_workspace(target: str, workspace_settings: Any) -> Any:
    if not logging.getLogger().handlers:  # the workspace's run_training.py configures no logging
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = convert_settings(workspace_settings)
    package, module_name, name = _module_and_name(target)
    runner = None
    try:
        runner = getattr(importlib.import_module("ltr_slt.run_training"), "run_training", None)
    except ImportError as err:
        logger.debug("ltr_slt.run_training unavailable (%s); calling %s.run directly", err, target)
    if runner is not None:
        params = inspect.signature(runner).parameters
        if "settings" in params:
            kwargs: Dict[str, Any] = {"settings": settings}
            if "settings_module" in params:
                kwargs["settings_module"] = target
            elif "settings_package" in params:
                kwargs["settings_package"] = package
            if "announce" in params:
                kwargs["announce"] = False  # the workspace's run_training.py printed "Training: ..."
            try:
                import torch.backends.cudnn as cudnn
                if "cudnn_benchmark" in params:
                    kwargs["cudnn_benchmark"] = bool(cudnn.benchmark)  # as set by the workspace's run_training
            except ImportError:  # pragma: no cover - torch is a hard dependency
                pass
            return runner(module_name, name, **kwargs)
    return importlib.import_module(target).run(settings)


def call_parameters(parameters: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one of our ``parameters()`` for a workspace parameter shim.

    pytracking's runner catches every ``Exception`` of a sequence, prints it and exits 0 even when
    nothing was tracked. A user error here (no network found, ...) is the same for every sequence,
    so in the main process it ends the run: one ``error:`` line and exit code 1 (``SystemExit``,
    which pytracking does not catch). In a pytracking worker process (``--threads N``) exiting
    would hang its pool, so the error is raised as it is and pytracking reports it per sequence.
    """
    import multiprocessing

    from ltr_slt.admin.cli_errors import is_user_error

    try:
        return parameters(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - classified right below
        if (not is_user_error(err) or multiprocessing.parent_process() is not None
                or os.environ.get("SLT_TRACEBACK", "") not in ("", "0")):
            raise
        import sys
        print(f"error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(1) from err
