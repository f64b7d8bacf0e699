"""dimp50 frame-level training with the official recipe (ltr's ``ltr/train_settings/dimp/dimp50.py``), no COCO.

    python -m ltr_slt.run_training dimp dimp50

See :mod:`ltr_slt.train_settings.dimp._full_flt` for the values, the data and the starting weights
(``settings.pretrained_net``: continue from a released checkpoint, SLT's full-scale FLT-continued control).
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.dimp._full_flt import run_full_flt


def run(settings: Any) -> Any:
    from ltr_slt.models.tracking.dimpnet import dimpnet50
    settings.description = "dimp50 frame-level training (official recipe, no COCO)"
    return run_full_flt(settings, "dimp50", dimpnet50)
