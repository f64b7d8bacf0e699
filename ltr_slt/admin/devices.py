"""Check a user's device string before anything heavy runs, so a mistake is one clear line.

``torch.device('cuda:7')`` is accepted on any machine; the failure comes much later, deep in
``.to()``, as a traceback. :func:`check_device` fails at once with the value and the fix.
"""
from __future__ import annotations

from typing import Optional

import torch

__all__ = ["DeviceError", "check_device"]


class DeviceError(ValueError):
    """A requested device does not exist on this machine (the message names it and the fix)."""


def check_device(spec: Optional[str], what: str = "--device") -> Optional[torch.device]:
    """``torch.device(spec)`` if it exists here; None for None/''. Raises :class:`DeviceError`."""
    if spec is None or str(spec).strip() == "":
        return None
    try:
        device = torch.device(str(spec))
    except (RuntimeError, ValueError) as err:
        raise DeviceError(f"{what} {spec!r} is not a device name (use cpu, cuda or cuda:<index>)") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"{what} {spec!r}: CUDA is not available on this machine; use {what} cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(f"{what} {spec!r}: this machine has {count} CUDA device(s) "
                              f"(cuda:0 .. cuda:{count - 1}); pick one of them or use {what} cpu")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError(f"{what} {spec!r}: MPS is not available on this machine; use {what} cpu")
    return device
