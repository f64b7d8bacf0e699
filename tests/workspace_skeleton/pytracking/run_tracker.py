"""Skeleton of pytracking/run_tracker.py (contract 7.1): same CLI and sys.path mechanics."""
import argparse
import os
import sys

root_dir = os.path.join(os.path.dirname(__file__), '..')
if root_dir not in sys.path:
    sys.path.append(root_dir)

from pytracking.evaluation import get_dataset  # noqa: E402
from pytracking.evaluation.running import run_dataset  # noqa: E402
from pytracking.evaluation import Tracker  # noqa: E402


def run_tracker(tracker_name, tracker_param, run_id=None, dataset_name='otb', sequence=None, debug=0, threads=0,
                visdom_info=None):
    visdom_info = {} if visdom_info is None else visdom_info
    dataset = get_dataset(dataset_name)
    if sequence is not None:
        dataset = [dataset[sequence]]
    trackers = [Tracker(tracker_name, tracker_param, run_id)]
    run_dataset(dataset, trackers, debug, threads, visdom_info=visdom_info)


def main():
    parser = argparse.ArgumentParser(description='Run a tracker on a dataset.')
    parser.add_argument('tracker_name', type=str)
    parser.add_argument('tracker_param', type=str)
    parser.add_argument('--runid', type=int, default=None)
    parser.add_argument('--dataset_name', type=str, default='otb')
    parser.add_argument('--sequence', type=str, default=None)
    parser.add_argument('--debug', type=int, default=0)
    parser.add_argument('--threads', type=int, default=0)
    parser.add_argument('--use_visdom', type=bool, default=True)
    parser.add_argument('--visdom_server', type=str, default='127.0.0.1')
    parser.add_argument('--visdom_port', type=int, default=8097)
    args = parser.parse_args()

    try:
        seq_name = int(args.sequence)
    except (TypeError, ValueError):
        seq_name = args.sequence
    run_tracker(args.tracker_name, args.tracker_param, args.runid, args.dataset_name, seq_name, args.debug,
                args.threads, {'use_visdom': args.use_visdom, 'server': args.visdom_server, 'port': args.visdom_port})


if __name__ == '__main__':
    main()
