"""Base class of the evaluation trackers (pytracking's ``BaseTracker`` contract)."""
from pytracking_slt.tracker.base.basetracker import BaseTracker
from pytracking_slt.tracker.base.net_wrappers import NetWithBackbone, NetWrapper, resolve_network_path

__all__ = ["BaseTracker", "NetWrapper", "NetWithBackbone", "resolve_network_path"]
