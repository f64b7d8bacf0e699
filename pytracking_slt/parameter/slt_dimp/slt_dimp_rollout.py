"""SLT-DiMP rollout-time tracker: DiMP-50 geometry with SLT-TrDiMP's rollout recipe."""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.dimp_common import dimp_parameters
from pytracking_slt.parameter.params import TrackerParams


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    return dimp_parameters("slt_dimp_rollout", net_path, device=device,
                           train_settings=("slt", "dimp_slt"), **overrides)
