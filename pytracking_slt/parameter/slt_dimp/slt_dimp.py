"""SLT on DiMP-50 (no official file): DiMP-50's evaluation values, weights ``slt_dimp.pth`` (else the newest
``slt dimp_slt`` training checkpoint of this workspace)."""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.dimp_common import dimp_parameters
from pytracking_slt.parameter.params import TrackerParams


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    return dimp_parameters("slt_dimp", net_path, device=device,
                           train_settings=("slt", "dimp_slt"), **overrides)
