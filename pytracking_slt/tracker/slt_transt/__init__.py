"""SLT-TransT evaluation tracker: the very TransT tracker (batch 1, greedy); only the weights differ."""
from pytracking_slt.tracker.transt.tracker import TransT


class SLTTransT(TransT):
    """Same code as :class:`~pytracking_slt.tracker.transt.tracker.TransT` (named for result folders/logs)."""


__all__ = ["SLTTransT", "get_tracker_class"]


def get_tracker_class() -> type:
    return SLTTransT
