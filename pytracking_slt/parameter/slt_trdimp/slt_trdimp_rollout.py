"""SLT-TrDiMP's rollout-time tracker (train setting's ``get_tracker_params``): no online update, no advanced localization, mean-max policy."""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.dimp_common import dimp_parameters
from pytracking_slt.parameter.params import TrackerParams


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    return dimp_parameters("slt_trdimp_rollout", net_path, device=device,
                           train_settings=("slt", "trdimp_slt"), **overrides)
