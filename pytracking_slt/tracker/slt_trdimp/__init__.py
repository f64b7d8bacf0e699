"""SLT-TrDiMP evaluation tracker: the TrDiMP tracker (batch 1, greedy); only the weights differ."""
from pytracking_slt.tracker.dimp.tracker import DiMP


class SLTTrDiMP(DiMP):
    """Same code as :class:`~pytracking_slt.tracker.dimp.tracker.DiMP` (named for result folders / logs)."""


__all__ = ["SLTTrDiMP", "get_tracker_class"]


def get_tracker_class() -> type:
    return SLTTrDiMP
