"""TransT with a tiny network checkpoint (tests, CPU demo).

The checkpoint comes from the ``net_path`` argument, the environment variable ``SLT_TINY_NET``
(a file or checkpoint folder), or else the newest checkpoint that ``transt transt_tiny`` training
wrote to ``<workspace_dir>/checkpoints/ltr/transt/transt_tiny/``; the file used is printed
once. Runs on the CPU unless ``device`` / ``$SLT_DEVICE`` says otherwise.
"""
from __future__ import annotations

from typing import Any, Optional

from pytracking_slt.parameter.params import TrackerParams
from pytracking_slt.parameter.transt_common import TINY_NET_ENV_VAR as ENV_VAR  # noqa: F401 (public name)
from pytracking_slt.parameter.transt_common import tiny_transt_parameters


def parameters(net_path: Optional[str] = None, device: Optional[str] = None, **overrides: Any) -> TrackerParams:
    return tiny_transt_parameters("transt_tiny", net_path, device, train_settings=("transt", "transt_tiny"),
                                  **overrides)
