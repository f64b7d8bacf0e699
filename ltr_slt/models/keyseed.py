"""Deterministic "keyseeded" weights: every state-dict entry is a function of its key name only.

Used to check a re-implementation against published reference numbers
(architectures.md section 9.1) without sharing any weights file: any network with the same key
names and shapes gets exactly the same values, whatever its construction order.
"""
from __future__ import annotations

import math
import zlib
from typing import Callable, Dict, Optional

import numpy as np
import torch
from torch import nn

__all__ = ["keyseeded_value", "keyseeded_state_dict", "apply_keyseeded_weights_"]


def keyseeded_value(key: str, shape: tuple, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The keyseeded tensor for one entry (float64 draws, cast to the entry's dtype)."""
    shape = tuple(shape)
    if not dtype.is_floating_point:
        return torch.zeros(shape, dtype=dtype)
    rs = np.random.RandomState(zlib.crc32(key.encode()) & 0xFFFFFFFF)
    if key.endswith("running_var"):
        value = 0.5 + rs.random_sample(shape)
    elif key.endswith("running_mean"):
        value = 0.1 * rs.standard_normal(shape)
    elif len(shape) >= 2:
        numel = math.prod(shape)
        value = rs.standard_normal(shape) / math.sqrt(numel / shape[0])
    elif len(shape) == 1 and key.endswith("weight"):
        value = 1.0 + 0.1 * rs.standard_normal(shape)
    else:
        value = 0.1 * rs.standard_normal(shape)
    return torch.from_numpy(np.asarray(value, dtype=np.float64).astype(np.float32)).to(dtype)


def _storage_id(t: torch.Tensor) -> tuple:
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()))


def keyseeded_state_dict(net: nn.Module, keep: Optional[Callable[[str], bool]] = None) -> Dict[str, torch.Tensor]:
    """Keyseeded values for ``net.state_dict()``; entries where ``keep(key)`` is True keep their value.

    Tensors shared under several keys take the value of the first key in state-dict order.
    """
    out: Dict[str, torch.Tensor] = {}
    first_of: Dict[tuple, str] = {}
    for key, tensor in net.state_dict(keep_vars=False).items():
        sid = _storage_id(tensor)
        if keep is not None and keep(key):
            out[key] = tensor.detach().clone()
        elif sid in first_of:
            out[key] = out[first_of[sid]]
        else:
            out[key] = keyseeded_value(key, tuple(tensor.shape), tensor.dtype)
        first_of.setdefault(sid, key)
    return out


def apply_keyseeded_weights_(net: nn.Module, keep: Optional[Callable[[str], bool]] = None) -> nn.Module:
    """Overwrite all of ``net``'s parameters and buffers in place with keyseeded values."""
    net.load_state_dict(keyseeded_state_dict(net, keep), strict=True)
    return net
