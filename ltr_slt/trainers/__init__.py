"""Trainers: :class:`BaseTrainer` (epochs, checkpoints, safe steps, DDP/AMP glue) and the SLT trainer.

``SLTTrainer`` is imported lazily so ``import ltr_slt.trainers`` stays light and cycle-free.
"""
from __future__ import annotations

from typing import Any

from ltr_slt.trainers.base_trainer import BaseTrainer, NonFiniteLossError, StepResult

__all__ = ["BaseTrainer", "NonFiniteLossError", "StepResult", "SLTTrainer"]


def __getattr__(name: str) -> Any:
    if name == "SLTTrainer":
        from ltr_slt.trainers.slt_trainer import SLTTrainer
        return SLTTrainer
    raise AttributeError(f"module 'ltr_slt.trainers' has no attribute '{name}'")
