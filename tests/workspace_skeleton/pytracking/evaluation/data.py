"""Skeleton of pytracking/evaluation/data.py (contract 7.4), single-object boxes only."""
from collections import OrderedDict

from pytracking.evaluation.environment import env_settings


class BaseDataset:
    def __init__(self):
        self.env_settings = env_settings()

    def __len__(self):
        raise NotImplementedError

    def get_sequence_list(self):
        raise NotImplementedError


class Sequence:
    def __init__(self, name, frames, dataset, ground_truth_rect, init_data=None, object_class=None,
                 target_visible=None):
        self.name = name
        self.frames = frames
        self.dataset = dataset
        self.ground_truth_rect = ground_truth_rect
        self.object_class = object_class
        self.target_visible = target_visible
        self.init_data = init_data if init_data is not None else {0: {'bbox': list(ground_truth_rect[0, :])}}

    def frame_info(self, frame_num):
        return OrderedDict(('init_' + key, value) for key, value in self.init_data.get(frame_num, {}).items())

    def init_info(self):
        return self.frame_info(0)


class SequenceList(list):
    def __getitem__(self, item):
        if isinstance(item, str):
            for seq in self:
                if seq.name == item:
                    return seq
            raise IndexError('Sequence name not in the dataset.')
        if isinstance(item, int):
            return super().__getitem__(item)
        if isinstance(item, (tuple, list)):
            return SequenceList([super(SequenceList, self).__getitem__(i) for i in item])
        return SequenceList(super().__getitem__(item))

    def __add__(self, other):
        return SequenceList(list.__add__(self, other))
