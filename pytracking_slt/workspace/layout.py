"""What a pytracking workspace looks like on disk, and refusing folders that are not one.

A workspace is the folder that holds both ``ltr/`` and ``pytracking/`` (upstream visionml/pytracking,
or the TransT / TransformerTrack / SLTtrack forks). We only write where pytracking's own entry
scripts look (contract section 11), so we require exactly those places to exist.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Union

__all__ = ["NotAWorkspaceError", "REQUIRED_ENTRIES", "missing_entries", "require_workspace"]

# (relative path, is_dir) that every pytracking workspace has and that the shims depend on.
REQUIRED_ENTRIES = (
    ("ltr/run_training.py", False),
    ("ltr/admin", True),
    ("ltr/train_settings", True),
    ("pytracking/run_tracker.py", False),
    ("pytracking/evaluation", True),
    ("pytracking/tracker", True),
    ("pytracking/parameter", True),
)

# Where the shims go (relative to the workspace root).
TRAIN_SETTINGS_DIR = "ltr/train_settings"
TRACKER_DIR = "pytracking/tracker"
PARAMETER_DIR = "pytracking/parameter"
LTR_LOCAL = "ltr/admin/local.py"
PYTRACKING_LOCAL = "pytracking/evaluation/local.py"


class NotAWorkspaceError(ValueError):
    """The folder given is not the root of a pytracking workspace (the message says why)."""


def missing_entries(root: Path) -> List[str]:
    """Required entries absent from ``root`` ('' list when it is a workspace)."""
    missing = []
    for rel, is_dir in REQUIRED_ENTRIES:
        path = root / rel
        if not (path.is_dir() if is_dir else path.is_file()):
            missing.append(rel + ("/" if is_dir else ""))
    return missing


def require_workspace(path: Union[str, Path]) -> Path:
    """The absolute workspace root, or :class:`NotAWorkspaceError` saying what is missing."""
    root = Path(path).expanduser()
    if not root.exists():
        raise NotAWorkspaceError(f"{root}: no such folder")
    if not root.is_dir():
        raise NotAWorkspaceError(f"{root}: not a folder (give the pytracking workspace root, which holds "
                                 f"ltr/ and pytracking/)")
    root = root.resolve()
    missing = missing_entries(root)
    if not missing:
        return root
    hint = ""
    if root.name in ("ltr", "pytracking") and not missing_entries(root.parent):
        hint = f" Did you mean its parent {root.parent}?"
    raise NotAWorkspaceError(
        f"{root} is not a pytracking workspace: missing {', '.join(missing)}. Give the folder that contains "
        f"both ltr/ and pytracking/ (a checkout of visionml/pytracking or a fork such as TransT).{hint} "
        f"Nothing was written.")
