"""TrDiMP evaluation tracker (TransformerTrack's ``trdimp``): the DiMP-family tracker with the transformer path."""
from pytracking_slt.tracker.dimp.tracker import DiMP


class TrDiMP(DiMP):
    """Same code as :class:`~pytracking_slt.tracker.dimp.tracker.DiMP` (named for result folders / logs)."""


__all__ = ["TrDiMP", "get_tracker_class"]


def get_tracker_class() -> type:
    return TrDiMP
