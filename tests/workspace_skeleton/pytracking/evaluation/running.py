"""Skeleton of pytracking/evaluation/running.py (contract 7.7): result files in pytracking's format."""
import itertools
import multiprocessing
import os

import numpy as np


def _save_tracker_output(seq, tracker, output):
    if not os.path.exists(tracker.results_dir):
        os.makedirs(tracker.results_dir)
    base = os.path.join(tracker.results_dir, seq.name)
    for key, data in output.items():
        if key == 'target_bbox':
            np.savetxt('{}.txt'.format(base), np.array(data).astype(int), delimiter='\t', fmt='%d')
        elif key == 'object_presence_score':
            np.savetxt('{}_object_presence_scores.txt'.format(base), np.array(data), delimiter='\t', fmt='%f')
        elif key == 'time':
            np.savetxt('{}_time.txt'.format(base), np.array(data), delimiter='\t', fmt='%f')


def run_sequence(seq, tracker, debug=False, visdom_info=None):
    if os.path.isfile('{}/{}.txt'.format(tracker.results_dir, seq.name)) and not debug:
        print('FPS: {}'.format(-1))
        return
    print('Tracker: {} {} {} ,  Sequence: {}'.format(tracker.name, tracker.parameter_name, tracker.run_id, seq.name))
    if debug:
        output = tracker.run_sequence(seq, debug=debug, visdom_info=visdom_info)
    else:
        try:
            output = tracker.run_sequence(seq, debug=debug, visdom_info=visdom_info)
        except Exception as e:
            print(e)
            return
    print('FPS: {}'.format(len(output['time']) / sum(output['time'])))
    if not debug:
        _save_tracker_output(seq, tracker, output)


def run_dataset(dataset, trackers, debug=False, threads=0, visdom_info=None):
    multiprocessing.set_start_method('spawn', force=True)
    print('Evaluating {:4d} trackers on {:5d} sequences'.format(len(trackers), len(dataset)))
    visdom_info = {} if visdom_info is None else visdom_info
    if threads == 0:
        for seq in dataset:
            for tracker_info in trackers:
                run_sequence(seq, tracker_info, debug=debug, visdom_info=visdom_info)
    else:
        params = [(seq, tracker_info, debug, visdom_info) for seq, tracker_info in itertools.product(dataset, trackers)]
        with multiprocessing.Pool(processes=threads) as pool:
            pool.starmap(run_sequence, params)
    print('Done')
