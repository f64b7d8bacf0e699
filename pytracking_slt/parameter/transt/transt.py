"""Baseline TransT evaluation parameters: weights ``transt.pth`` (found in network_path / pretrained_networks)."""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.params import TrackerParams
from pytracking_slt.parameter.transt_common import transt_parameters


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    if net_path:
        return transt_parameters(net_path, device=device, **overrides)
    return transt_parameters("transt.pth", device=device, train_settings=("transt", "transt"), **overrides)
