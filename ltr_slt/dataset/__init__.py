"""Training datasets with ltr's API: LaSOT, GOT-10k, TrackingNet and a generic folder layout.

The synthetic generator lives in :mod:`ltr_slt.dataset.synthetic` and is deliberately not imported
here (import it explicitly); its output is read with :class:`Lasot` / :class:`Got10k`.
"""
from ltr_slt.dataset.base_video_dataset import AnnotationError, BaseVideoDataset, DatasetRootError
from ltr_slt.dataset.folder import FolderDataset
from ltr_slt.dataset.got10k import Got10k
from ltr_slt.dataset.lasot import Lasot
from ltr_slt.dataset.splits import SplitError
from ltr_slt.dataset.tracking_net import TrackingNet

__all__ = ["Lasot", "Got10k", "TrackingNet", "FolderDataset", "BaseVideoDataset", "AnnotationError",
           "DatasetRootError", "SplitError"]
