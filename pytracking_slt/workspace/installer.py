"""install / uninstall / check of the shim files in a pytracking workspace.

Ownership rules (the workspace is the user's; we are a guest):

- a file is ours only if its first line is our marker *and* the hash in it matches the rest of the
  file (:func:`pytracking_slt.workspace.shims.parse_marker`); anything else is never overwritten
  or deleted (a shim the user edited is reported as ``modified`` and kept);
- ``.slt_workspace_manifest.json`` at the workspace root lists the files we wrote and the folders we
  created, so ``uninstall`` removes exactly those (plus the ``__pycache__`` entries of our modules
  and the folders we created once they are empty);
- ``install`` is idempotent: an unchanged file is not rewritten, a second run reports ``unchanged``;
- ``local.py`` files are never opened for writing (we do not even read them here).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Union

from ltr_slt.admin.fileio import atomic_write_text
from pytracking_slt.workspace import layout, shims

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST_NAME", "Action", "Report", "install", "uninstall", "check", "file_state"]

MANIFEST_NAME = ".slt_workspace_manifest.json"
MANIFEST_FORMAT = 1

# file states (check) and actions (install / uninstall)
OK, MISSING, OUTDATED, STALE, MODIFIED, FOREIGN = "ok", "missing", "outdated", "stale", "modified", "foreign"
CREATED, UPDATED, UNCHANGED, REMOVED, SKIPPED = "created", "updated", "unchanged", "removed", "skipped"
CONFLICT, KEPT, SHARED = "conflict", "kept", "shared"  # SHARED: a foreign package __init__ we can live with
GONE, IGNORED = "gone", "ignored"
PROBLEM_STATES = {MISSING, OUTDATED, STALE, MODIFIED, FOREIGN, CONFLICT, KEPT}


@dataclass
class Action:
    relpath: str
    status: str
    detail: str = ""


@dataclass
class Report:
    """What happened (or, for check / dry runs, what is / would be), file by file."""
    command: str
    workspace: str
    actions: List[Action] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # our own packages could not be inspected
    dry_run: bool = False

    def add(self, relpath: str, status: str, detail: str = "") -> None:
        self.actions.append(Action(relpath, status, detail))

    def with_status(self, *statuses: str) -> List[Action]:
        return [a for a in self.actions if a.status in statuses]

    @property
    def ok(self) -> bool:
        """False when anything needs the user's attention (exit code 1 of the CLI)."""
        return not self.with_status(*PROBLEM_STATES) and not self.problems

    def summary(self) -> str:
        counts: Dict[str, int] = {}
        for action in self.actions:
            counts[action.status] = counts.get(action.status, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
        prefix = "(dry run) " if self.dry_run else ""
        return f"{prefix}slt-workspace {self.command} {self.workspace}: {parts}"

    def lines(self) -> List[str]:
        out = [f"{a.status:<10} {a.relpath}" + (f"  ({a.detail})" if a.detail else "") for a in self.actions]
        out += [f"problem: {p}" for p in self.problems]
        out += [f"note: {n}" for n in self.notes]
        out.append(self.summary())
        return out


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _read_text(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def file_state(root: Path, relpath: str, planned: Optional[str]) -> str:
    """ok / missing / outdated / stale / modified / foreign for one path (``planned`` None = not planned)."""
    path = root / relpath
    if not path.exists() and not path.is_symlink():
        return MISSING
    if path.is_symlink() or not path.is_file():
        return FOREIGN
    text = _read_text(path)
    if text is None:
        return FOREIGN
    has_marker, intact = shims.parse_marker(text)
    if not has_marker:
        return FOREIGN
    if not intact:
        return MODIFIED
    if planned is None:
        return STALE
    return OK if text == planned else OUTDATED


def _inside(root: Path, path: Path) -> bool:
    """True when ``path`` (or its nearest existing ancestor) really lies inside ``root`` (no symlink escape)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        probe.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _load_manifest(root: Path) -> Dict[str, object]:
    path = root / MANIFEST_NAME
    if not path.exists():
        return {"files": {}, "created_dirs": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        dirs = data["created_dirs"]
        if not isinstance(files, dict) or not isinstance(dirs, list):
            raise ValueError("'files' must be an object and 'created_dirs' a list")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RuntimeError(f"{path} is unreadable ({err}); delete it and run `slt-workspace install` again "
                           f"(files we wrote are recognised by their marker line)") from err
    return {"files": dict(files), "created_dirs": [str(d) for d in dirs]}


def _save_manifest(root: Path, files: Iterable[str], created_dirs: Iterable[str]) -> None:
    data = {
        "generator": "pytracking_slt.workspace (slt-workspace)",
        "format": MANIFEST_FORMAT,
        "files": {rel: shims.body_hash((root / rel).read_text(encoding="utf-8")) for rel in sorted(set(files))},
        "created_dirs": sorted(set(created_dirs)),
    }
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    path = root / MANIFEST_NAME
    if _read_text(path) != text:
        atomic_write_text(path, text, newline="\n")


def _scan_marked_files(root: Path) -> Set[str]:
    """Our marked files in the shim locations (used when the manifest is gone)."""
    patterns = (f"{layout.TRAIN_SETTINGS_DIR}/*/*.py", f"{layout.TRACKER_DIR}/*/__init__.py",
                f"{layout.PARAMETER_DIR}/*/*.py")
    found = set()
    for pattern in patterns:
        for path in root.glob(pattern):
            if not path.is_file() or path.is_symlink():
                continue
            try:
                with open(path, encoding="utf-8") as handle:
                    first = handle.readline()
            except (OSError, UnicodeDecodeError):
                continue
            if first.startswith(shims.MARKER_PREFIX):
                found.add(path.relative_to(root).as_posix())
    return found


def _remove_module_bytecode(path: Path) -> None:
    cache = path.parent / "__pycache__"
    if cache.is_dir():
        for pyc in cache.glob(f"{path.stem}.*.pyc"):
            pyc.unlink()
        _rmdir_if_empty(cache)


def _rmdir_if_empty(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except OSError:
        return False


def _unplanned(root: Path, manifest: Dict[str, object], planned: Set[str], plan: shims.Plan) -> List[str]:
    """Files of ours that the current plan does not contain (minus families we could not inspect)."""
    known = set(manifest["files"]) | _scan_marked_files(root)  # type: ignore[arg-type]
    return sorted(rel for rel in known - planned if not any(rel.startswith(p) for p in plan.protected))


def _local_file_errors(root: Path) -> List[str]:
    """Problems reading the workspace's local.py files (read under private names, never rewritten)."""
    try:
        from ltr_slt.admin.environment import workspace_values
    except ImportError:  # pragma: no cover - part of this distribution
        return []
    try:
        return list(workspace_values(root)[2])
    except Exception as err:  # noqa: BLE001 - a report must not crash on the user's files
        return [f"local.py files ({type(err).__name__}: {err})"]


def _family_skip_reason(root: Path, fam: shims.Family) -> Optional[str]:
    """Why a tracker family must not be installed here (None: go ahead)."""
    if fam.kind != "tracker":
        return None
    state = file_state(root, fam.anchor, "")
    tracker_dir = (root / fam.anchor).parent
    if state == FOREIGN:  # (an edited shim of ours is only a per-file conflict)
        return f"the workspace has its own pytracking/tracker/{fam.name}/"
    if state == MISSING and tracker_dir.is_dir() and any(tracker_dir.iterdir()):
        return f"pytracking/tracker/{fam.name}/ exists without our __init__.py"
    return None


def _plan_states(root: Path, plan: shims.Plan):
    """Yield (family, file, state, skip_reason) for every planned file."""
    for fam in plan.families:
        reason = _family_skip_reason(root, fam)
        for shim in fam.files:
            yield fam, shim, file_state(root, shim.relpath, shim.content), reason


# ------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------
def install(path: Union[str, Path], dry_run: bool = False, plan: Optional[shims.Plan] = None) -> Report:
    """Write / refresh the shims (idempotent); never touches a file it did not write."""
    root = layout.require_workspace(path)
    manifest = _load_manifest(root)
    plan = plan or shims.build_plan()
    report = Report("install", str(root), dry_run=dry_run)
    report.problems += plan.problems
    created_dirs: Set[str] = {d for d in manifest["created_dirs"] if (root / d).is_dir()}  # type: ignore
    ours: Set[str] = set()
    planned = {f.relpath for f in plan.files}

    for fam, shim, state, reason in _plan_states(root, plan):
        target = root / shim.relpath
        if reason is not None:
            if state in (OK, OUTDATED):  # our earlier parameter shims must not pair with their tracker
                if not dry_run:
                    target.unlink()
                    _remove_module_bytecode(target)
                report.add(shim.relpath, REMOVED, reason)
            elif fam.required:
                report.add(shim.relpath, CONFLICT, reason + "; not installed (rename or remove it)")
            else:
                report.add(shim.relpath, SKIPPED, reason)
            continue
        if not _inside(root, target):
            report.add(shim.relpath, CONFLICT, "path leads outside the workspace (symlink); not written")
            continue
        if state in (FOREIGN, MODIFIED):
            if shim.is_package_init and state == FOREIGN:
                report.add(shim.relpath, SHARED, "existing package __init__ kept")
            else:
                what = "not written by slt-workspace" if state == FOREIGN else "our shim, edited by hand"
                report.add(shim.relpath, CONFLICT, f"{what}; left untouched")
            continue
        if state == OK:
            report.add(shim.relpath, UNCHANGED)
            ours.add(shim.relpath)
            continue
        if not dry_run:
            missing_dirs = []
            probe = target.parent
            while not probe.exists():
                missing_dirs.append(probe)
                probe = probe.parent
            for folder in reversed(missing_dirs):
                folder.mkdir()
                created_dirs.add(folder.relative_to(root).as_posix())
            atomic_write_text(target, shim.content, newline="\n")
        report.add(shim.relpath, CREATED if state == MISSING else UPDATED)
        ours.add(shim.relpath)

    # files we wrote earlier that the current packages no longer provide
    for rel in _unplanned(root, manifest, planned, plan):
        state = file_state(root, rel, None)
        if state == STALE:
            if not dry_run:
                (root / rel).unlink()
                _remove_module_bytecode(root / rel)
            report.add(rel, REMOVED, "no longer provided by the installed packages")
        elif state == MODIFIED:
            report.add(rel, KEPT, "stale shim edited by hand; left untouched")
    # families we could not inspect this time keep their files (and their manifest entries)
    ours |= {rel for rel in manifest["files"]  # type: ignore[union-attr]
             if any(rel.startswith(p) for p in plan.protected) and file_state(root, rel, None) == STALE}
    if not dry_run:
        for rel in sorted(created_dirs, key=lambda d: -d.count("/")):
            folder = root / rel
            if folder.is_dir() and not any(p for p in folder.iterdir() if p.name != "__pycache__"):
                _remove_module_bytecode(folder / "__init__.py")
                if _rmdir_if_empty(folder):
                    created_dirs.discard(rel)
        _save_manifest(root, ours, created_dirs)
    for rel in (layout.LTR_LOCAL, layout.PYTRACKING_LOCAL):
        if not (root / rel).is_file():
            report.notes.append(f"{rel} does not exist yet: create it as pytracking's install.sh does "
                                f"(slt-workspace never writes local.py files)")
    return report


def uninstall(path: Union[str, Path], dry_run: bool = False, force: bool = False) -> Report:
    """Remove exactly the files we wrote (and the folders we created, once empty)."""
    root = layout.require_workspace(path)
    manifest = _load_manifest(root)
    report = Report("uninstall", str(root), dry_run=dry_run)
    candidates = set(manifest["files"]) | _scan_marked_files(root)  # type: ignore[arg-type]
    touched_dirs: Set[str] = set()
    kept: List[str] = []
    for rel in sorted(candidates):
        state = file_state(root, rel, None)
        if state == MISSING:
            report.add(rel, GONE, "already removed")
        elif state == STALE or (state == MODIFIED and force):
            if not dry_run:
                (root / rel).unlink()
                _remove_module_bytecode(root / rel)
            touched_dirs.add(Path(rel).parent.as_posix())
            report.add(rel, REMOVED)
        elif state == MODIFIED:
            kept.append(rel)
            report.add(rel, KEPT, "our shim, edited by hand; use --force to remove it")
        else:
            report.add(rel, IGNORED, "no longer ours (no valid marker); left untouched")
    has_manifest = (root / MANIFEST_NAME).exists()
    created: List[str] = list(manifest["created_dirs"]) if has_manifest else sorted(touched_dirs)  # type: ignore
    if dry_run:
        return report
    for rel in sorted(created, key=lambda d: -d.count("/")):
        folder = root / rel
        if not folder.is_dir():
            continue
        cache = folder / "__pycache__"
        if cache.is_dir() and not any(cache.iterdir()):
            _rmdir_if_empty(cache)
        if _rmdir_if_empty(folder):
            report.add(rel + "/", REMOVED, "folder created by slt-workspace")
    if kept:
        _save_manifest(root, kept, [d for d in created if (root / d).is_dir()])
    elif has_manifest:
        (root / MANIFEST_NAME).unlink()
    return report


def check(path: Union[str, Path], plan: Optional[shims.Plan] = None) -> Report:
    """Report, file by file, what is installed (ok), missing, outdated, stale, modified or foreign."""
    root = layout.require_workspace(path)
    manifest = _load_manifest(root)
    plan = plan or shims.build_plan()
    report = Report("check", str(root))
    report.problems += plan.problems
    planned = {f.relpath for f in plan.files}
    for fam, shim, state, reason in _plan_states(root, plan):
        if reason is not None:
            report.add(shim.relpath, CONFLICT if fam.required else SKIPPED, reason)
        elif state == FOREIGN and shim.is_package_init:
            report.add(shim.relpath, SHARED, "existing package __init__")
        else:
            report.add(shim.relpath, state)
    for rel in _unplanned(root, manifest, planned, plan):
        state = file_state(root, rel, None)
        if state != MISSING:
            report.add(rel, state, "no longer provided by the installed packages")
    for rel in (layout.LTR_LOCAL, layout.PYTRACKING_LOCAL):
        if not (root / rel).is_file():
            report.notes.append(f"{rel} is missing (pytracking needs it; slt-workspace never writes it)")
    report.notes += [f"cannot use {err}; pytracking itself overwrites a broken local.py with its template "
                     f"when it next runs: fix the file first" for err in _local_file_errors(root)]
    if not (root / MANIFEST_NAME).exists() and not report.with_status(OK, OUTDATED, MODIFIED, STALE):
        report.notes.append("SLT shims are not installed here: run `slt-workspace install " f"{root}`")
    return report
