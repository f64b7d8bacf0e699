"""Skeleton of pytracking/evaluation/tracker.py (contract 7.6) without visdom / multi-object support."""
import importlib
import os
import time
from collections import OrderedDict

import cv2 as cv

from pytracking.evaluation.environment import env_settings


def trackerlist(name, parameter_name, run_ids=None, display_name=None):
    if run_ids is None or isinstance(run_ids, int):
        run_ids = [run_ids]
    return [Tracker(name, parameter_name, run_id, display_name) for run_id in run_ids]


class Tracker:
    def __init__(self, name, parameter_name, run_id=None, display_name=None):
        assert run_id is None or isinstance(run_id, int)
        self.name = name
        self.parameter_name = parameter_name
        self.run_id = run_id
        self.display_name = display_name

        env = env_settings()
        if self.run_id is None:
            self.results_dir = '{}/{}/{}'.format(env.results_path, self.name, self.parameter_name)
        else:
            self.results_dir = '{}/{}/{}_{:03d}'.format(env.results_path, self.name, self.parameter_name,
                                                        self.run_id)

        # The tracker package is imported only when its folder physically exists.
        tracker_folder = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', 'tracker', self.name))
        if os.path.isdir(tracker_folder):
            module = importlib.import_module('pytracking.tracker.{}'.format(self.name))
            self.tracker_class = module.get_tracker_class()
        else:
            self.tracker_class = None
        self.visdom = None

    def get_parameters(self):
        module = importlib.import_module('pytracking.parameter.{}.{}'.format(self.name, self.parameter_name))
        return module.parameters()

    def create_tracker(self, params):
        tracker = self.tracker_class(params)
        tracker.visdom = self.visdom
        return tracker

    def run_sequence(self, seq, visualization=None, debug=None, visdom_info=None, multiobj_mode=None):
        params = self.get_parameters()  # fresh parameters (and network) for every sequence
        debug_ = getattr(params, 'debug', 0) if debug is None else debug
        params.debug = debug_
        params.visualization = bool(debug_) if visualization is None else visualization
        tracker = self.create_tracker(params)
        return self._track_sequence(tracker, seq, seq.init_info())

    def _track_sequence(self, tracker, seq, init_info):
        output = {'target_bbox': [], 'time': [], 'segmentation': [], 'object_presence_score': []}

        def store(tracker_out, defaults=None):
            defaults = {} if defaults is None else defaults
            for key in output:
                value = tracker_out.get(key, defaults.get(key, None))
                if key in tracker_out or value is not None:
                    output[key].append(value)

        image = self._read_image(seq.frames[0])
        start = time.time()
        out = tracker.initialize(image, init_info)
        if out is None:
            out = {}
        store(out, {'target_bbox': init_info.get('init_bbox'), 'time': time.time() - start,
                    'object_presence_score': 1.0})

        prev_output = OrderedDict(out)
        for frame_num, frame_path in enumerate(seq.frames[1:], start=1):
            image = self._read_image(frame_path)
            start = time.time()
            info = seq.frame_info(frame_num)
            info['previous_output'] = prev_output
            out = tracker.track(image, info)
            prev_output = OrderedDict(out)
            store(out, {'time': time.time() - start})
            out['target_bbox']  # required key, indexed as upstream does

        for key in ('target_bbox', 'segmentation'):
            if key in output and len(output[key]) <= 1:
                output.pop(key)
        output['image_shape'] = image.shape[:2]
        output['object_presence_score_threshold'] = tracker.params.get('object_presence_score_threshold', 0.55)
        return output

    @staticmethod
    def _read_image(path):
        image = cv.imread(path)
        return cv.cvtColor(image, cv.COLOR_BGR2RGB)
