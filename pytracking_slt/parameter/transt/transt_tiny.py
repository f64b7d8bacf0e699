"""TransT with a tiny network checkpoint (tests, CPU demo).

The checkpoint comes from the ``net_path`` argument or the environment variable ``SLT_TINY_NET``
(e.g. the demo's ``<workspace>/checkpoints/ltr/slt/transt_slt_tiny/TransT_ep0001.pth.tar`` or its
folder). Runs on the CPU unless ``device`` / ``$SLT_DEVICE`` says otherwise.
"""
from __future__ import annotations

import os
from typing import Any, Optional

from pytracking_slt.parameter.params import TrackerParams
from pytracking_slt.parameter.transt_common import transt_parameters

ENV_VAR = "SLT_TINY_NET"


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    path = net_path or os.environ.get(ENV_VAR, "")
    if not path and "net" not in overrides:
        raise FileNotFoundError(f"transt_tiny: no checkpoint given; pass net_path=... or set ${ENV_VAR} "
                                "to a tiny TransT checkpoint file or folder")
    return transt_parameters(path or "<in-memory>", device=device or os.environ.get("SLT_DEVICE") or "cpu",
                             use_gpu=False, **overrides)
