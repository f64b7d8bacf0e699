"""DiMP-family trackers (DiMP-50, SuperDiMP, TrDiMP, SLT-TrDiMP): the batched tracker and its evaluation adapter."""
from pytracking_slt.tracker.dimp.batched import MODES, BatchedDiMP, DiMPState, DiMPStepOutput
from pytracking_slt.tracker.dimp.tracker import DiMP

__all__ = ["BatchedDiMP", "DiMPState", "DiMPStepOutput", "MODES", "DiMP", "get_tracker_class"]


def get_tracker_class() -> type:
    """pytracking registration: ``run_tracker.py dimp dimp50`` / ``dimp super_dimp``."""
    return DiMP
