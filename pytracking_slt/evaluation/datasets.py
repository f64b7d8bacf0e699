"""Dataset registry with pytracking's names: ``get_dataset('lasot')``, ``get_dataset('otb', 'nfs')``.

Names: ``otb``, ``nfs``, ``uav``, ``trackingnet``, ``got10k_test``, ``got10k_val``, ``got10k_ltrval``,
``lasot``, ``lasot_train``, ``synthetic`` (the generated benchmark). Keyword arguments are passed to
the dataset class (e.g. ``root=``, ``split_file=``, ``sequences=``). Extra datasets can be added
with :func:`register_dataset` (a dotted ``module:Class`` string or a callable), e.g. by a test.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Union

from .data import BaseDataset, SequenceList


class UnknownDatasetError(ValueError):
    """A dataset name that is not in the registry (the message lists the known names)."""


@dataclass
class DatasetInfo:
    module: str
    class_name: str
    kwargs: Dict[str, Any] = field(default_factory=dict)


_PKG = "pytracking_slt.evaluation"
dataset_dict: Dict[str, Union[DatasetInfo, Callable[..., BaseDataset]]] = {
    "otb": DatasetInfo(_PKG + ".tabledatasets", "OTBDataset"),
    "nfs": DatasetInfo(_PKG + ".tabledatasets", "NFSDataset"),
    "uav": DatasetInfo(_PKG + ".tabledatasets", "UAVDataset"),
    "trackingnet": DatasetInfo(_PKG + ".trackingnetdataset", "TrackingNetDataset"),
    "got10k_test": DatasetInfo(_PKG + ".got10kdataset", "GOT10KDataset", {"split": "test"}),
    "got10k_val": DatasetInfo(_PKG + ".got10kdataset", "GOT10KDataset", {"split": "val"}),
    "got10k_ltrval": DatasetInfo(_PKG + ".got10kdataset", "GOT10KDataset", {"split": "ltrval"}),
    "lasot": DatasetInfo(_PKG + ".lasotdataset", "LaSOTDataset"),
    "lasot_train": DatasetInfo(_PKG + ".lasotdataset", "LaSOTDataset", {"split": "train"}),
    "synthetic": DatasetInfo(_PKG + ".syntheticdataset", "SyntheticDataset"),
}


def register_dataset(name: str, factory: Union[DatasetInfo, Callable[..., BaseDataset], str]) -> None:
    """Add (or replace) a dataset name; ``factory`` may be ``'module:Class'``."""
    if isinstance(factory, str):
        module, _, cls = factory.partition(":")
        if not cls:
            raise ValueError(f"register_dataset({name!r}): expected 'module:Class', got {factory!r}")
        factory = DatasetInfo(module, cls)
    dataset_dict[name.lower()] = factory


def load_dataset_object(name: str, **kwargs: Any) -> BaseDataset:
    """The dataset object for a registry name (``ValueError("Unknown dataset ...")`` otherwise)."""
    key = name.lower()
    info = dataset_dict.get(key)
    if info is None:
        raise UnknownDatasetError(f"Unknown dataset '{name}'. Known: {', '.join(sorted(dataset_dict))} "
                                  f"(or add one with register_dataset)")
    if isinstance(info, DatasetInfo):
        cls = getattr(importlib.import_module(info.module), info.class_name)
        return cls(**{**info.kwargs, **kwargs})
    return info(**kwargs)


def load_dataset(name: str, **kwargs: Any) -> SequenceList:
    """The sequences of one dataset."""
    return load_dataset_object(name, **kwargs).get_sequence_list()


def get_dataset(*names: str, **kwargs: Any) -> SequenceList:
    """All sequences of the named datasets, concatenated (pytracking's ``get_dataset``)."""
    out = SequenceList()
    for name in names:
        out.extend(load_dataset(name, **kwargs))
    return out
