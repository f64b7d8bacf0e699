"""SLT-DiMP evaluation tracker: the DiMP tracker (batch 1, greedy) on SLT-trained DiMP weights."""
from pytracking_slt.tracker.dimp.tracker import DiMP


class SLTDiMP(DiMP):
    """Same code as :class:`~pytracking_slt.tracker.dimp.tracker.DiMP` (named for result folders / logs)."""


__all__ = ["SLTDiMP", "get_tracker_class"]


def get_tracker_class() -> type:
    return SLTDiMP
