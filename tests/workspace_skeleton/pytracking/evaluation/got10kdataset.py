"""Skeleton of pytracking/evaluation/got10kdataset.py (contract 7.5): <got10k_path>/<split>/list.txt."""
import os

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence, SequenceList
from pytracking.utils.load_text import load_text


class GOT10KDataset(BaseDataset):
    def __init__(self, split):
        super().__init__()
        if split not in ('test', 'val'):
            raise ValueError('skeleton supports test / val only')
        self.base_path = os.path.join(self.env_settings.got10k_path, split)
        with open(os.path.join(self.base_path, 'list.txt')) as f:
            self.sequence_list = [line.strip() for line in f if line.strip()]

    def get_sequence_list(self):
        return SequenceList([self._construct_sequence(name) for name in self.sequence_list])

    def _construct_sequence(self, name):
        folder = os.path.join(self.base_path, name)
        gt = load_text(os.path.join(folder, 'groundtruth.txt'), delimiter=',', dtype=np.float64)
        gt = gt.reshape(-1, 4)
        frames = [f for f in os.listdir(folder) if f.endswith('.jpg')]
        frames.sort(key=lambda f: int(f[:-4]))
        return Sequence(name, [os.path.join(folder, f) for f in frames], 'got10k', gt)

    def __len__(self):
        return len(self.sequence_list)
