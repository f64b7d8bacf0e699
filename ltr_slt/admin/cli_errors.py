"""Command-line error reporting: a user's mistake is one clear line, not a traceback.

Every exception class defined in ``ltr_slt`` / ``pytracking_slt`` is raised on purpose with a message
that names the file, field or value at fault (missing weights, unknown dataset root, corrupt
checkpoint, bad annotation, ...), and so is a missing file. The CLIs print those as ``error: ...``
and exit 1; anything else is a bug and keeps its traceback. ``SLT_TRACEBACK=1`` shows the traceback
for every error.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable, Optional

_OWN_PACKAGES = ("ltr_slt", "pytracking_slt")

logger = logging.getLogger(__name__)


def is_user_error(err: BaseException) -> bool:
    """True for our deliberate, message-bearing errors and for missing files or folders."""
    if isinstance(err, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return True
    return any(cls.__module__.split(".")[0] in _OWN_PACKAGES for cls in type(err).__mro__)


def run_cli(body: Callable[[], int]) -> int:
    """Run a CLI body; report user errors as one line (exit 1), re-raise everything else."""
    try:
        return body()
    except Exception as err:  # noqa: BLE001 - classified right below
        if not is_user_error(err) or os.environ.get("SLT_TRACEBACK", "") not in ("", "0"):
            raise
        print(f"error: {err}", file=sys.stderr)
        print("(set SLT_TRACEBACK=1 to see where it was raised)", file=sys.stderr)
        return 1


def device_arg_status(device: Optional[str]) -> int:
    """Exit status of a CLI's ``--device`` check: 0 when absent or usable here, else 2 after the one
    ``error:`` line naming the value (a bad argument, before anything is loaded)."""
    if not device:
        return 0
    from ltr_slt.admin.devices import DeviceError, check_device

    try:
        check_device(device)
    except DeviceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
