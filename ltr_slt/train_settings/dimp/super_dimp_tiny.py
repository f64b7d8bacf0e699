"""Tiny super_dimp frame-level training on synthetic sequences: ``python -m ltr_slt.run_training dimp super_dimp_tiny``.

See :mod:`ltr_slt.train_settings.dimp._tiny_flt` for the recipe, sizes and data.
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.dimp._tiny_flt import run_tiny_flt


def run(settings: Any) -> Any:
    return run_tiny_flt(settings, "super_dimp")
