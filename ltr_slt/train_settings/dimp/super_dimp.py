"""super_dimp frame-level training with the official recipe (ltr's ``ltr/train_settings/dimp/super_dimp.py``), no COCO.

    python -m ltr_slt.run_training dimp super_dimp

See :mod:`ltr_slt.train_settings.dimp._full_flt` for the values, the data and the starting weights
(``settings.pretrained_net``: continue from a released checkpoint, SLT's full-scale FLT-continued control).
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.dimp._full_flt import run_full_flt


def run(settings: Any) -> Any:
    from ltr_slt.models.tracking.dimpnet import super_dimpnet50
    settings.description = "super_dimp frame-level training (official recipe, no COCO)"
    return run_full_flt(settings, "super_dimp", super_dimpnet50)
