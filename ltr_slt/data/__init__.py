"""Training data pipeline: sequence sampler (SS), sequence augmentation (SA), loader, clip record,
and the frame-set sampler of DiMP-family frame-level training.

Image loading (:mod:`ltr_slt.data.image_loader`), cropping (:mod:`ltr_slt.data.crop`) and box
helpers (:mod:`ltr_slt.data.bbox`) are imported from their modules directly.
"""
from ltr_slt.data.clip import Clip
from ltr_slt.data.frame_set_sampler import FrameSet, FrameSetSampler, frame_set_collate
from ltr_slt.data.loader import SLTLoader, WorkerSeeder, slt_collate
from ltr_slt.data.sampler import SamplingError, SequenceSampler
from ltr_slt.data.seq_augmentation import AugmentationParams, SequenceAugmentation

__all__ = ["Clip", "SequenceSampler", "SamplingError", "SLTLoader", "slt_collate", "WorkerSeeder",
           "SequenceAugmentation", "AugmentationParams", "FrameSet", "FrameSetSampler", "frame_set_collate"]
