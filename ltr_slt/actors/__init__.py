"""Actors: per tracker family, turn a recorded trajectory chunk into (loss, stats)."""
from ltr_slt.actors.slt_transt import LossNormaliser, SLTTransTActor  # noqa: F401
