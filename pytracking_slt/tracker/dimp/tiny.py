"""Tiny DiMP networks as checkpoint factories (tests, CPU demos).

``ltr_slt.models.tracking.dimpnet.dimpnet_tiny`` is not a registered network factory, so a checkpoint
recording it could not be rebuilt by ``load_network``; this registers it (idempotent). The network
code itself is untouched.
"""
from __future__ import annotations

from ltr_slt.admin.model_constructor import register_factory
from ltr_slt.models.tracking import dimpnet

__all__ = ["register_tiny_factories"]


def register_tiny_factories() -> None:
    """Allow checkpoints naming ``ltr_slt.models.tracking.dimpnet.dimpnet_tiny`` to be loaded."""
    register_factory(dimpnet.dimpnet_tiny)
