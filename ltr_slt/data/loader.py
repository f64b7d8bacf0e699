"""Loader for sequence-level training: ltr's ``LTRLoader`` attributes, clips kept as a list.

Clips of one batch come from different videos (different resolutions and lengths), so the default
collate keeps the batch as a plain Python list instead of stacking (as SLT's ``slt_collate`` does).
With ``pin_memory=True`` (a CUDA run) :func:`slt_collate_pinnable` stacks each clip's frames into
one uint8 tensor in the worker (one shared-memory transfer instead of T pickled arrays) and returns
a :class:`ClipBatch`, which the DataLoader's pinning thread copies to page-locked memory while the
trainer is still learning on the previous batch; the rollout then uploads every clip with one
asynchronous ``non_blocking`` copy.
Everything a worker needs (collate function, worker initialiser, dataset) is a module-level object,
so the loader also works with the ``spawn`` start method.
"""
from __future__ import annotations

import logging
import random
from typing import Any, Callable, Iterator, List, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from ltr_slt.data.sampler import BadDataError

logger = logging.getLogger(__name__)

__all__ = ["SLTLoader", "slt_collate", "slt_collate_pinnable", "ClipBatch", "stack_clip_frames", "WorkerSeeder"]


def slt_collate(batch: Sequence[Any]) -> List[Any]:
    """Keep the items (e.g. :class:`~ltr_slt.data.clip.Clip`) as a list: nothing is stacked."""
    return list(batch)


def _stack(images: Any) -> Any:
    """Equal-size HxWx3 uint8 frames -> one ``[T, H, W, 3]`` uint8 tensor; anything else unchanged."""
    if isinstance(images, torch.Tensor) or len(images) == 0:
        return images
    if len({np.shape(im) for im in images}) != 1:
        return images  # frames of different sizes stay a list
    return torch.from_numpy(np.ascontiguousarray(np.stack(images)))


def stack_clip_frames(clip: Any) -> Any:
    """The clip with ``search_images`` / ``template_images`` as ``[T, H, W, 3]`` uint8 tensors (in place).

    A tensor indexes and ``len()``s like the list it replaces, so the rollout reads either.
    """
    for name in ("search_images", "template_images"):
        if hasattr(clip, name):
            setattr(clip, name, _stack(getattr(clip, name)))
    return clip


class ClipBatch(list):
    """A batch of clips (a plain list) whose stacked frames the DataLoader's pinning thread pins."""

    def pin_memory(self, device: Any = None) -> "ClipBatch":
        for clip in self:
            for name in ("search_images", "template_images"):
                value = getattr(clip, name, None)
                if isinstance(value, torch.Tensor):
                    setattr(clip, name, value.pin_memory())
        return self


def slt_collate_pinnable(batch: Sequence[Any]) -> ClipBatch:
    """Collate for CUDA runs (in the worker): frames stacked per clip, batch pinnable (see the module docstring)."""
    return ClipBatch(stack_clip_frames(item) for item in batch)


class WorkerSeeder:
    """``worker_init_fn`` seeding ``random``, ``numpy`` and ``torch`` from ``(seed, worker_id)``.

    Our samplers do not use global RNG state (each item owns an RNG derived from its index), so this
    only protects user transforms that do. Picklable (a module-level class), hence spawn-safe.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def __call__(self, worker_id: int) -> None:
        state = np.random.SeedSequence([self.seed % (2 ** 63), int(worker_id), 0x10AD]).generate_state(2)
        random.seed(int(state[0]))
        np.random.seed(int(state[1]))
        torch.manual_seed(int(state[0]) << 32 | int(state[1]))


class SLTLoader(DataLoader):
    """``torch.utils.data.DataLoader`` with ltr's ``LTRLoader`` signature and attributes.

    Attributes ``name``, ``training``, ``epoch_interval`` (run every n-th epoch) and ``stack_dim``
    (kept for ltr compatibility; the list collate does not stack). ``seed`` (default: the
    dataset's ``seed`` when it has one, else 0) seeds the loader's generator and the default
    :class:`WorkerSeeder`. ``pin_memory=True`` (only where CUDA is used) switches the default
    collate to :func:`slt_collate_pinnable`. :meth:`set_epoch` forwards to the dataset (e.g.
    :class:`~ltr_slt.data.sampler.SequenceSampler`), which is re-sent to the workers at the start of
    every epoch; ``persistent_workers=True`` would keep stale copies, so it is refused for such
    datasets.

    Unreadable samples: a clip redrawn because a frame / annotation could not be read carries the
    messages (``Clip.skipped_bad``); each is logged here, in the main process, as one warning naming
    the file, and counted (``bad_samples`` this epoch, ``bad_samples_total``). More than
    ``max_bad_samples`` in one epoch (default: 1 % of the epoch's samples, at least 10) stops
    training with :class:`~ltr_slt.data.sampler.BadDataError`.
    """

    def __init__(self, name: str, dataset: Any, training: bool = True, batch_size: int = 1, shuffle: bool = False,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0, epoch_interval: int = 1,
                 collate_fn: Optional[Callable] = None, stack_dim: int = 0, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Optional[Callable] = None,
                 seed: Optional[int] = None, max_bad_samples: Optional[int] = None, **kwargs: Any) -> None:
        if epoch_interval < 1:
            raise ValueError(f"SLTLoader {name!r}: epoch_interval must be >= 1, got {epoch_interval}")
        if kwargs.get("persistent_workers") and callable(getattr(dataset, "set_epoch", None)):
            raise ValueError(f"SLTLoader {name!r}: persistent_workers=True would keep each worker's copy of the "
                             "dataset at epoch 0 (set_epoch only reaches fresh workers); leave it False")
        if seed is None:
            seed = int(getattr(dataset, "seed", 0) or 0)
        self.seed = int(seed)
        if worker_init_fn is None and num_workers > 0:
            worker_init_fn = WorkerSeeder(self.seed)
        if "generator" not in kwargs and batch_sampler is None:
            kwargs["generator"] = torch.Generator().manual_seed(self.seed % (2 ** 63))
        if batch_sampler is not None:   # DataLoader forbids these together with a batch sampler
            batch_size, shuffle, drop_last = 1, None, False
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler,
                         batch_sampler=batch_sampler, num_workers=num_workers,
                         collate_fn=collate_fn if collate_fn is not None else
                         (slt_collate_pinnable if pin_memory else slt_collate),
                         pin_memory=pin_memory, drop_last=drop_last, timeout=timeout,
                         worker_init_fn=worker_init_fn, **kwargs)
        self.name = name
        self.training = training
        self.epoch_interval = int(epoch_interval)
        self.stack_dim = stack_dim
        if max_bad_samples is None:
            try:
                max_bad_samples = max(10, len(dataset) // 100)
            except TypeError:  # iterable dataset without a length
                max_bad_samples = 10
        self.max_bad_samples = int(max_bad_samples)
        self.bad_samples = 0
        self.bad_samples_total = 0

    def __iter__(self) -> Iterator[Any]:
        """Batches, reporting and counting the unreadable samples skipped to make them."""
        self.bad_samples = 0
        for batch in super().__iter__():
            items = batch if isinstance(batch, list) else []
            for item in items:
                for message in getattr(item, "skipped_bad", ()):
                    self.bad_samples += 1
                    self.bad_samples_total += 1
                    logger.warning("%s loader: skipped an unreadable training sample (%d this epoch, at most %d): "
                                   "%s", self.name, self.bad_samples, self.max_bad_samples, message)
            if self.bad_samples > self.max_bad_samples:
                raise BadDataError(f"{self.name} loader: {self.bad_samples} unreadable training samples this epoch "
                                   f"(more than max_bad_samples={self.max_bad_samples}); the warnings above name "
                                   "the files. Fix or remove them, or raise max_bad_samples.")
            yield batch

    def set_epoch(self, epoch: int) -> None:
        """New clips every epoch (forwarded to the dataset and to a sampler that supports it)."""
        for obj in (self.dataset, self.sampler, self.batch_sampler):
            if obj is not None and callable(getattr(obj, "set_epoch", None)):
                obj.set_epoch(epoch)

    def state_dict(self) -> dict:
        state = getattr(self.dataset, "state_dict", None)
        return state() if callable(state) else {}

    def load_state_dict(self, state: dict) -> None:
        load = getattr(self.dataset, "load_state_dict", None)
        if callable(load) and state:
            load(state)
