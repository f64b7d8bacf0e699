"""``python -m ltr_slt.run_training dimp dimp50``: frame-level dimp50, official recipe (see ``_full_flt``)."""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.dimp._full_flt import run_full_flt


def run(settings: Any) -> Any:
    return run_full_flt(settings, "dimp50")
