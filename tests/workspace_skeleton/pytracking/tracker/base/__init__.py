from .basetracker import BaseTracker
