"""SLT-DiMP values with a tiny network checkpoint (tests, CPU demo).

The checkpoint comes from the ``net_path`` argument, ``$SLT_TINY_DIMP_NET`` (file or checkpoint folder),
or else the newest checkpoint that ``slt dimp_slt_tiny`` training wrote to
``<workspace_dir>/checkpoints/ltr/slt/dimp_slt_tiny/``; the file used is printed once. Runs on the CPU
unless ``device`` / ``$SLT_DEVICE`` says otherwise.
"""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.dimp_common import tiny_dimp_parameters
from pytracking_slt.parameter.params import TrackerParams


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    return tiny_dimp_parameters("slt_dimp", "slt_dimp_tiny", net_path, device,
                                train_settings=("slt", "dimp_slt_tiny"), **overrides)
