"""Evaluation side: datasets in their real layouts, the Tracker wrapper, the runner and result files
in pytracking's format. See ``python -m pytracking_slt.run_tracker -h``."""
from .data import BaseDataset, Sequence, SequenceList
from .datasets import get_dataset, load_dataset, load_dataset_object, register_dataset
from .results_io import load_text, read_results, results_dir_for, results_exist, save_tracker_output
from .running import RunFailed, SequenceOutcome, run_dataset, run_sequence
from .tracker import SequenceError, Tracker, track_sequence, trackerlist

__all__ = ["BaseDataset", "Sequence", "SequenceList", "get_dataset", "load_dataset", "load_dataset_object",
           "register_dataset", "load_text", "read_results", "results_dir_for", "results_exist",
           "save_tracker_output", "RunFailed", "SequenceOutcome", "run_dataset", "run_sequence", "SequenceError",
           "Tracker", "track_sequence", "trackerlist"]
