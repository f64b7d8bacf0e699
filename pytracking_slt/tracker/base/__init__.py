"""Base classes of the evaluation trackers (pytracking's ``BaseTracker`` contract) and their shared plumbing."""
from pytracking_slt.tracker.base.basetracker import BaseTracker
from pytracking_slt.tracker.base.batched_adapter import BatchedTrackerAdapter
from pytracking_slt.tracker.base.net_wrappers import NetWithBackbone, NetWrapper, resolve_network_path, unwrap_net

__all__ = ["BaseTracker", "BatchedTrackerAdapter", "NetWrapper", "NetWithBackbone", "resolve_network_path",
           "unwrap_net"]
