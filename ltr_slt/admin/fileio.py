"""Small file helpers shared by both packages (stdlib only, so importing them stays cheap).

Atomic writes (checkpoints, result files, the analysis cache, workspace shims): the data goes to a temporary file in the destination folder, is flushed and fsync'ed, then
``os.replace``d onto the final name (and the folder fsync'ed), so a crash mid-write never leaves a
truncated file behind and never replaces a good one; on any error the temporary file is removed.
The destination folder must exist (callers decide whether creating it is theirs to do).

:func:`read_list_file` reads the one-entry-per-line lists of both sides (ltr split files,
pytracking sequence lists).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, List, Optional, Union

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "fsync_dir", "read_list_file",
           "remove_stale_temp_files", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".tmp"  # atomic_write's temp files: ``.<final name>.<random>.tmp``

PathLike = Union[str, "os.PathLike[str]"]


def fsync_dir(directory: PathLike) -> None:
    """Make a rename inside ``directory`` durable (best effort: not possible on every OS)."""
    try:
        fd = os.open(os.fspath(directory), os.O_RDONLY)
    except OSError:
        return  # e.g. Windows: directories cannot be opened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, write: Callable[[IO[Any]], None], *, text: bool = False,
                 newline: Optional[str] = None) -> Path:
    """Call ``write(handle)`` on a temp file next to ``path``, fsync, then ``os.replace`` onto ``path``.

    ``text=True`` opens the handle as UTF-8 text (``newline`` as for :func:`open`), else binary.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=str(path.parent))
    try:
        mode = "w" if text else "wb"
        with os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": newline} if text else {})) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)
    return path


def remove_stale_temp_files(directory: PathLike, final_suffix: str = "") -> List[Path]:
    """Delete leftovers of killed :func:`atomic_write` calls in ``directory`` (not recursive).

    Matches ``.<name>.<random>.tmp`` where ``<name>`` ends with ``final_suffix`` (e.g.
    ``'.pth.tar'``). Only call it where no other process is writing to ``directory``. Returns the
    removed paths (files that cannot be removed are skipped).
    """
    directory = Path(directory)
    removed: List[Path] = []
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        name = entry.name
        if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
            continue
        stem = name[1:-len(TEMP_SUFFIX)].rpartition(".")[0]  # drop mkstemp's random part
        if not stem or (final_suffix and not stem.endswith(final_suffix)) or not entry.is_file():
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Atomically replace ``path`` with ``data``."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: PathLike, text: str, *, newline: Optional[str] = None) -> Path:
    """Atomically replace ``path`` with UTF-8 ``text`` (``newline='\\n'`` keeps LF line ends everywhere)."""
    return atomic_write(path, lambda handle: handle.write(text), text=True, newline=newline)


def read_list_file(path: PathLike) -> List[str]:
    """One entry per line (ltr split files, sequence lists): stripped, first comma field kept,
    blank lines and ``#`` comments skipped; a UTF-8 BOM is ignored."""
    entries: List[str] = []
    with open(path, "r", encoding="utf-8-sig") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append(line.split(",")[0].strip())
    return entries
