from .params import TrackerParams
