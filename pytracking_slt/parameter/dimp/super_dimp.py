"""SuperDiMP (pytracking ``super_dimp.py``): weights ``super_dimp.pth.tar``."""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.dimp_common import dimp_parameters
from pytracking_slt.parameter.params import TrackerParams


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    return dimp_parameters("super_dimp", net_path, device=device, **overrides)
