"""Which shim files a workspace gets, and their exact text.

Discovery is dynamic so a new settings file, tracker family or parameter file in our packages
appears in every workspace at the next ``slt-workspace install``:

- every module of ``ltr_slt.train_settings.slt`` -> ``ltr/train_settings/slt/<name>.py``;
- every sub-module of ``pytracking_slt.tracker`` exposing ``get_tracker_class`` ->
  ``pytracking/tracker/<name>/__init__.py`` (the folder must physically exist, contract 7.6), with
  ``pytracking/parameter/<name>/<param>.py`` for each module of ``pytracking_slt.parameter.<name>``.

Families called ``slt_*`` are always installed; any other family (e.g. the ``transt`` baseline) only
when the workspace does not have a tracker of that name already, and never under a name upstream
pytracking ships (``dimp``, ``atom``...).

Every generated file starts with a marker line carrying the sha256 of the rest of the file: that
is how we recognise our own, unmodified files (and never touch anything else).
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import pkgutil
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from pytracking_slt.workspace.layout import PARAMETER_DIR, TRACKER_DIR, TRAIN_SETTINGS_DIR

logger = logging.getLogger(__name__)

__all__ = ["ShimFile", "Family", "Plan", "build_plan", "render", "parse_marker", "body_hash",
           "TRAIN_SETTINGS_PACKAGE", "TRACKER_PACKAGE", "PARAMETER_PACKAGE", "UPSTREAM_TRACKERS"]

TRAIN_SETTINGS_PACKAGE = "ltr_slt.train_settings.slt"
TRAIN_MODULE = "slt"  # ltr/train_settings/<TRAIN_MODULE>/
TRACKER_PACKAGE = "pytracking_slt.tracker"
PARAMETER_PACKAGE = "pytracking_slt.parameter"

# Names pytracking ships (or that are infrastructure): never shadowed, never installed.
UPSTREAM_TRACKERS = frozenset({
    "base", "atom", "dimp", "dimp_simple", "eco", "kys", "lwl", "keep_track", "rts", "tamos", "tomp",
    "bbreg", "segm", "tomp_simple",
})

MARKER_PREFIX = "# slt-workspace shim (sha256 "
_MARKER_RE = re.compile(r"^# slt-workspace shim \(sha256 ([0-9a-f]{64})\)")


@dataclass(frozen=True)
class ShimFile:
    """One file to write: path relative to the workspace root (posix) and full text."""
    relpath: str
    content: str
    target: str = ""        # dotted module it re-exports ('' for a package __init__)
    is_package_init: bool = False


@dataclass
class Family:
    """Files installed or skipped together (one tracker family, or the training settings)."""
    name: str
    kind: str                # 'train' or 'tracker'
    required: bool           # slt_* and training settings: a conflict is an error
    files: List[ShimFile] = field(default_factory=list)
    anchor: str = ""         # the file whose ownership decides the family (tracker __init__)


@dataclass
class Plan:
    families: List[Family]
    problems: List[str]      # our own modules that could not be inspected (reported, not fatal)
    protected: List[str] = field(default_factory=list)  # folders of uninspectable families: never "stale"

    @property
    def files(self) -> List[ShimFile]:
        return [f for fam in self.families for f in fam.files]


# ------------------------------------------------------------------------------------------
# marker
# ------------------------------------------------------------------------------------------
def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def render(body: str) -> str:
    """Full file text: marker line (hash of ``body``) + body."""
    return (f"{MARKER_PREFIX}{body_hash(body)}): written by `slt-workspace install`, "
            f"removed by `slt-workspace uninstall`; do not edit\n{body}")


def parse_marker(text: str) -> Tuple[bool, bool]:
    """(has our marker, body unchanged since we wrote it)."""
    first, sep, body = text.partition("\n")
    match = _MARKER_RE.match(first)
    if not match:
        return False, False
    return True, body_hash(body) == match.group(1)


# ------------------------------------------------------------------------------------------
# bodies
# ------------------------------------------------------------------------------------------
_ENTER = ("import sys as _sys\n\n"
          "try:\n"
          "    from pytracking_slt.workspace.bridge import enter_workspace as _enter_workspace\n"
          "except ImportError as _err:\n"
          "    raise ImportError(f\"this SLT shim needs the 'slt-tracking' package in this Python ({_sys.executable}): \"\n"
          "                      \"pip install it, or remove the shims with `slt-workspace uninstall <workspace>`\") from _err\n\n"
          "_enter_workspace(__file__)  # paths of this workspace (read-only local.py files)\n\n")


def _package_init_body(what: str) -> str:
    return f'"""{what} (installed by slt-workspace)."""\n'


def _train_body(package: str, name: str) -> str:
    target = f"{package}.{name}"
    return (f'"""`python ltr/run_training.py {TRAIN_MODULE} {name}` -> `{target}`.\n\n'
            f"Thin shim: the settings live in the installed SLT package. To customise, copy that file here\n"
            f'under another name. Checkpoints go to <workspace_dir>/checkpoints/ltr/{TRAIN_MODULE}/{name}/.\n"""\n'
            + _ENTER +
            f"from {target} import *  # noqa: E402,F401,F403\n\n\n"
            f"def run(settings):\n"
            f'    """Run `{target}.run` with this workspace\'s paths (see pytracking_slt.workspace.bridge)."""\n'
            f"    from pytracking_slt.workspace.bridge import run_in_workspace\n"
            f'    return run_in_workspace("{target}", settings)\n')


def _tracker_body(target: str, name: str) -> str:
    return (f'"""Tracker `{name}` for pytracking/run_tracker.py -> `{target}` (installed SLT package)."""\n'
            + _ENTER +
            f"from {target} import *  # noqa: E402,F401,F403\n"
            f"from {target} import get_tracker_class  # noqa: E402,F401\n")


def _parameter_body(target: str, family: str, name: str) -> str:
    return (f'"""`run_tracker.py {family} {name}` parameters -> `{target}` (installed SLT package).\n\n'
            f"Networks are looked up in this workspace's network_path first, then in what training wrote to\n"
            f"its checkpoints folder (pytracking_slt.workspace.weights); the file used is printed once.\n"
            f'"""\n'
            + _ENTER +
            f"from {target} import *  # noqa: E402,F401,F403\n"
            f"from {target} import parameters as _parameters  # noqa: E402\n\n\n"
            f"def parameters(*args, **kwargs):\n"
            f'    """`{target}.parameters`; no network found -> one `error:` line, exit code 1."""\n'
            f"    from pytracking_slt.workspace.bridge import call_parameters\n"
            f"    return call_parameters(_parameters, *args, **kwargs)\n")


# ------------------------------------------------------------------------------------------
# discovery
# ------------------------------------------------------------------------------------------
def _submodules(package: str, want_packages: Optional[bool] = None) -> List[Tuple[str, bool]]:
    """(name, is_package) of the direct sub-modules of ``package``, private names excluded."""
    pkg = importlib.import_module(package)
    out = []
    for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
        if info.name.startswith("_") or not info.name.isidentifier():
            continue
        if want_packages is None or info.ispkg == want_packages:
            out.append((info.name, info.ispkg))
    return sorted(out)


def _train_family(package: str) -> Family:
    fam = Family(TRAIN_MODULE, "train", required=True)
    base = f"{TRAIN_SETTINGS_DIR}/{TRAIN_MODULE}"
    fam.files.append(ShimFile(f"{base}/__init__.py", render(_package_init_body("SLT training settings")),
                              is_package_init=True))
    for name, _ in _submodules(package, want_packages=False):
        fam.files.append(ShimFile(f"{base}/{name}.py", render(_train_body(package, name)),
                                  target=f"{package}.{name}"))
    return fam


def _tracker_families(tracker_package: str, parameter_package: str, problems: List[str],
                      protected: List[str]) -> List[Family]:
    families = []
    for name, _ in _submodules(tracker_package):
        if name in UPSTREAM_TRACKERS:
            continue
        target = f"{tracker_package}.{name}"
        try:
            module = importlib.import_module(target)
        except Exception as err:  # noqa: BLE001 - one broken family must not block the others
            problems.append(f"cannot import {target}: {type(err).__name__}: {err} "
                            f"(its shims, if any, are left as they are)")
            protected += [f"{TRACKER_DIR}/{name}/", f"{PARAMETER_DIR}/{name}/"]
            continue
        if not callable(getattr(module, "get_tracker_class", None)):
            continue  # an internal module (e.g. batched tracker code), not an evaluation tracker
        anchor = f"{TRACKER_DIR}/{name}/__init__.py"
        fam = Family(name, "tracker", required=name.startswith("slt_"), anchor=anchor)
        fam.files.append(ShimFile(anchor, render(_tracker_body(target, name)), target=target))
        fam.files.append(ShimFile(f"{PARAMETER_DIR}/{name}/__init__.py",
                                  render(_package_init_body(f"Parameters of tracker `{name}`")),
                                  is_package_init=True))
        try:
            params = _submodules(f"{parameter_package}.{name}", want_packages=False)
        except ImportError:
            params = []  # tracker without parameter files: users can still add their own
        for param, _ in params:
            param_target = f"{parameter_package}.{name}.{param}"
            fam.files.append(ShimFile(f"{PARAMETER_DIR}/{name}/{param}.py",
                                      render(_parameter_body(param_target, name, param)), target=param_target))
        families.append(fam)
    return families


def build_plan(train_package: str = TRAIN_SETTINGS_PACKAGE, tracker_package: str = TRACKER_PACKAGE,
               parameter_package: str = PARAMETER_PACKAGE) -> Plan:
    """Everything our installed packages provide, as shim files (imports our tracker packages).

    The package arguments exist for tests (a fake plugin); users never change them.
    """
    problems: List[str] = []
    protected: List[str] = []
    families = [_train_family(train_package)] + _tracker_families(tracker_package, parameter_package, problems,
                                                                   protected)
    for problem in problems:
        logger.warning(problem)
    return Plan(families, problems, protected)
