"""SLT with a tiny dimp50 network on synthetic clips: the whole dimp_slt pipeline in seconds on a CPU.

    python -m ltr_slt.run_training slt dimp_slt_tiny [--workspace DIR]

See _dimp_tiny for the sizes and the data; every value is a default the caller may override.
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.slt._dimp_tiny import run_tiny


def run(settings: Any) -> Any:
    return run_tiny(settings, "dimp50")
