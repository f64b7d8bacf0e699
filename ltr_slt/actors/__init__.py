"""Actors: per tracker family, turn a recorded trajectory chunk into (loss, stats)."""
from ltr_slt.actors.base import LossNormaliser, SLTActorBase  # noqa: F401
from ltr_slt.actors.slt_transt import SLTTransTActor  # noqa: F401
