"""Skeleton of pytracking/evaluation/datasets.py (contract 7.3); upstream names, only GOT-10k implemented."""
import importlib
from collections import namedtuple

from pytracking.evaluation.data import SequenceList

DatasetInfo = namedtuple('DatasetInfo', ['module', 'class_name', 'kwargs'])
_got10k = 'pytracking.evaluation.got10kdataset'
dataset_dict = dict(
    got10k_test=DatasetInfo(module=_got10k, class_name='GOT10KDataset', kwargs=dict(split='test')),
    got10k_val=DatasetInfo(module=_got10k, class_name='GOT10KDataset', kwargs=dict(split='val')),
)


def load_dataset(name, **kwargs):
    name = name.lower()
    info = dataset_dict.get(name)
    if info is None:
        raise ValueError("Unknown dataset '%s'" % name)
    cls = getattr(importlib.import_module(info.module), info.class_name)
    return cls(**info.kwargs, **kwargs).get_sequence_list()


def get_dataset(*args, **kwargs):
    dset = SequenceList()
    for name in args:
        dset.extend(load_dataset(name, **kwargs))
    return dset
