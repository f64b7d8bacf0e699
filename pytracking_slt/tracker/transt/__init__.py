"""TransT tracker: the batched tracker (training rollouts) and its evaluation adapter."""
from ltr_slt.data.crop import normalize_crops
from pytracking_slt.tracker.transt.batched import MODES, BatchedTransT, StepOutput, TrackerState
from pytracking_slt.tracker.transt.tracker import TransT

__all__ = ["BatchedTransT", "TrackerState", "StepOutput", "MODES", "TransT", "normalize_crops",
           "get_tracker_class"]


def get_tracker_class() -> type:
    """pytracking registration: the baseline TransT tracker class."""
    return TransT
