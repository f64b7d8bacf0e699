"""SLT-TrDiMP evaluation (SLTtrack ``slt_trdimp.py``): TrDiMP's values, weights ``slt_trdimp.pth`` (else the
newest ``slt trdimp_slt`` training checkpoint of this workspace)."""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.dimp_common import dimp_parameters
from pytracking_slt.parameter.params import TrackerParams


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    return dimp_parameters("slt_trdimp", net_path, device=device,
                           train_settings=("slt", "trdimp_slt"), **overrides)
