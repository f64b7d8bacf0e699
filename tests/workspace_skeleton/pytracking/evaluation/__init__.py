from .data import Sequence, SequenceList
from .tracker import Tracker, trackerlist
from .datasets import get_dataset
