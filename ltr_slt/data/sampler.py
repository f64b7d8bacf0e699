"""Sequence sampler for sequence-level training: one template + T ordered search frames per item.

Re-implements the two frame-sampling modes of SLT's ``ltr/data/sequence_sampler.py`` with the
official parameter meanings (spec section 2), and fixes its weak spots (spec 13.1-8):

* ``interval_prob`` (the official ``prob``) is the probability of the **random-interval** mode; the
  rest of the clips are sequential. (The official docstring says the opposite; its code does this.)
  ``frame_sample_mode='sequential'`` turns random intervals off (temporal SA off).
* No crash when a video has no visible template candidate: the documented fallbacks below apply,
  and a video without any visible frame is simply redrawn.
* No debug prints (``logging`` at DEBUG only).
* Short videos follow one documented rule (``short_clip``, below).
* Reproducible: item ``i`` of epoch ``e`` depends only on ``(seed, e, i)`` (its own RNG), never on
  global random state, worker count or the order in which workers ask for items.

Picking a video (spec 2.2): a dataset by ``p_datasets`` (kept while videos are redrawn, as official;
None: proportional to the number of
sequences, as ltr), then a video uniformly. A video is *eligible* when it has more than
``min_visible_frames`` visible frames (default ``2 * (T + num_template_frames)``, the official
rule) and at least ``T + num_template_frames`` frames. Up to ``max_redraws`` draws look for an
eligible video; if none is found, the drawn video with the most visible frames is used (it must have
at least one, otherwise a :class:`SamplingError` names the datasets). Image datasets
(``is_video_sequence() == False``) repeat their single frame.

Sequential mode (spec 2.3): template ``t`` uniform over visible frames in ``[0, L - T)``; first
search frame ``left`` uniform over visible frames in ``[t, min(L - T, t + max_gap))`` (``max_gap=-1``:
``left = t``); the search frames are the first T visible frames at or after ``left``.
Fallback when ``[0, L - T)`` holds no visible frame (short videos, or the target only visible near
the end): ``t`` is uniform over the visible frames followed by at least ``min(T, V) - 1`` more
visible frames (V = number of visible frames), and ``left = t``: the clip is as long as the video allows.

Random-interval mode (spec 2.4): ``avg`` = ``max_interval`` decreased until ``avg * (T - 1) <= L``;
template ``t`` uniform over visible frames in ``[0, L - avg * (T - 1))`` (``avg`` decreased further
while that range has none); ``left`` uniform over visible frames in
``[t, min(max(L - avg * (T - 1), t + 1), t + max_gap))``; then each next frame uniform over visible
frames in ``[last + min_interval, last + max_interval]`` (``min_interval=0``, the official value,
allows a repeated "frozen" frame); a window without a visible frame moves the search on by
``max_interval`` frames; sampling stops at the end of the video. A clip still short gets random
visible frames after ``left``, drawn with replacement (then sorted), as the official sampler does.

Short clips (``short_clip``): a video without T usable frames gives a clip of fewer frames with
``'truncate'`` (default; :class:`Clip.num_frames` is the real length and the rollout masks the
rest) or repeats its last frame up to T with ``'pad'`` (the official behaviour). A clip always has
at least 2 search frames (the rollout initialises on frame 0 and tracks from frame 1); a video
with a single visible frame repeats it.

``include_invisible=True`` (not official) keeps the frames where the target is occluded or out of
view inside the clip (``search_visible`` False there) instead of skipping them, so the tracker
meets real disappearances during the rollout; the first search frame is always visible.

Templates: ``num_template_frames > 1`` adds visible frames drawn from ``[t - max_gap, t]``
(``max_gap=-1``: ``[0, t]``), sorted; with too few candidates ``t`` is repeated.
"""
from __future__ import annotations

import logging
import random
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ltr_slt.data.clip import Clip
from ltr_slt.data.image_loader import ImageReadError

logger = logging.getLogger(__name__)

__all__ = ["SequenceSampler", "SamplingError", "BadDataError", "bad_sample_errors", "MODES"]

MODES = ("sequential", "random_interval")
SpatialAugmentation = Callable[[Clip, np.random.Generator], Clip]


class SamplingError(RuntimeError):
    """No usable video could be drawn (e.g. every drawn video has no visible frame)."""


class BadDataError(RuntimeError):
    """Too many unreadable training samples (frames / annotations): the data, not one file, is broken."""


def bad_sample_errors() -> Tuple[type, ...]:
    """A sample hitting one of these is redrawn (and reported by the loader) instead of stopping
    training: unreadable frames and broken annotations. (Imported here: ltr_slt.dataset imports us.)"""
    from ltr_slt.dataset.base_video_dataset import AnnotationError
    return (ImageReadError, AnnotationError)


def _visible_mask(info: dict) -> np.ndarray:
    """[N] bool: visible (and valid when the dataset reports validity; ``valid`` alone if no flags)."""
    if "visible" not in info and "valid" not in info:
        raise KeyError(f"sequence info has neither 'visible' nor 'valid' (keys: {sorted(info)})")
    visible = torch.as_tensor(info["visible" if "visible" in info else "valid"]).bool()
    if "valid" in info:
        visible = visible & torch.as_tensor(info["valid"]).bool()
    return visible.numpy().copy()


class EpochSeeded:
    """Epoch/seed state shared by the samplers: item ``i`` of epoch ``e`` depends only on
    ``(seed, e, i)``; BaseTrainer calls ``set_epoch`` and checkpoints ``state_dict``."""

    seed: int = 0
    epoch: int = 0
    RNG_SALT: int = 0  # per sampler class, so two samplers with one seed draw independently

    def _rng(self, index: int) -> random.Random:
        """Item ``index``'s own RNG. SeedSequence, not hash(): str hashing is salted per process
        (spawned workers would differ)."""
        state = np.random.SeedSequence([self.seed, self.epoch, int(index), self.RNG_SALT]).generate_state(2)
        return random.Random(int(state[0]) << 32 | int(state[1]))

    def _set_datasets(self, datasets: Sequence[Any], p_datasets: Optional[Sequence[float]]) -> None:
        """``self.datasets`` and normalised ``self.p_datasets`` (None: proportional to the number of sequences,
        as ltr), with one-line errors for no datasets, bad weights and an empty dataset that has weight."""
        name = type(self).__name__
        if not datasets:
            raise ValueError(f"{name} needs at least one dataset")
        self.datasets = list(datasets)
        weights = list(p_datasets) if p_datasets is not None else [d.get_num_sequences() for d in self.datasets]
        if len(weights) != len(self.datasets) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"p_datasets {list(weights)} must give one non-negative weight per dataset "
                             f"({len(self.datasets)} datasets: {[d.get_name() for d in self.datasets]}) "
                             "with a positive sum")
        for d, w in zip(self.datasets, weights):
            if w > 0 and d.get_num_sequences() == 0:
                raise ValueError(f"{name}: dataset '{d.get_name()}' has no sequences")
        total = float(sum(weights))
        self.p_datasets = [w / total for w in weights]

    @staticmethod
    def _is_video(dataset: Any) -> bool:
        fn = getattr(dataset, "is_video_sequence", None)
        return bool(fn()) if callable(fn) else True

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed = int(state.get("seed", self.seed))
        self.epoch = int(state.get("epoch", self.epoch))


class SequenceSampler(EpochSeeded, Dataset):
    """Map-style dataset of :class:`~ltr_slt.data.clip.Clip` records; ``len`` = ``samples_per_epoch``.

    The ``index`` passed to ``__getitem__`` only seeds the item's RNG (sampling is random, as in
    ltr), so ``shuffle`` makes no difference. Call :meth:`set_epoch` every epoch for new clips.
    """

    def __init__(self, datasets: Sequence[Any], p_datasets: Optional[Sequence[float]] = None,
                 samples_per_epoch: int = 1000, max_gap: int = 300, num_search_frames: int = 24,
                 num_template_frames: int = 1, frame_sample_mode: str = "sequential", max_interval: int = 10,
                 interval_prob: float = 0.3, seed: Optional[int] = None,
                 spatial_augmentation: Optional[SpatialAugmentation] = None, *,
                 min_interval: int = 0, min_visible_frames: Optional[int] = None, short_clip: str = "truncate",
                 include_invisible: bool = False, max_redraws: int = 100, prob: Optional[float] = None,
                 max_bad_redraws: int = 10) -> None:
        if not datasets:
            raise ValueError("SequenceSampler needs at least one dataset")
        self.datasets = list(datasets)
        weights = list(p_datasets) if p_datasets is not None else [d.get_num_sequences() for d in self.datasets]
        if len(weights) != len(self.datasets) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"p_datasets {weights} must give one non-negative weight per dataset "
                             f"({len(self.datasets)} datasets) with a positive sum")
        self.p_datasets = [float(w) / float(sum(weights)) for w in weights]
        if frame_sample_mode not in MODES:
            raise ValueError(f"frame_sample_mode must be one of {MODES}, got {frame_sample_mode!r}")
        if prob is not None:   # the official keyword (same meaning: probability of random-interval)
            interval_prob = prob
        if not 0.0 <= interval_prob <= 1.0:
            raise ValueError(f"interval_prob must be in [0, 1], got {interval_prob}")
        if num_search_frames < 2:
            raise ValueError(f"num_search_frames must be >= 2 (frame 0 initialises), got {num_search_frames}")
        if num_template_frames < 1:
            raise ValueError(f"num_template_frames must be >= 1, got {num_template_frames}")
        if max_gap < -1:
            raise ValueError(f"max_gap must be >= 0 or -1 (template = first search frame), got {max_gap}")
        if not 0 <= min_interval <= max_interval or max_interval < 1:
            raise ValueError(f"need 0 <= min_interval <= max_interval and max_interval >= 1, "
                             f"got {min_interval}, {max_interval}")
        if short_clip not in ("truncate", "pad"):
            raise ValueError(f"short_clip must be 'truncate' or 'pad', got {short_clip!r}")
        if samples_per_epoch < 1 or max_redraws < 1:
            raise ValueError(f"samples_per_epoch and max_redraws must be >= 1, got {samples_per_epoch}, {max_redraws}")
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap = int(max_gap)
        self.num_search_frames = int(num_search_frames)
        self.num_template_frames = int(num_template_frames)
        self.frame_sample_mode = frame_sample_mode
        self.max_interval = int(max_interval)
        self.min_interval = int(min_interval)
        self.interval_prob = float(interval_prob)
        if min_visible_frames is None:
            min_visible_frames = 2 * (self.num_search_frames + self.num_template_frames)
        self.min_visible_frames = int(min_visible_frames)
        self.short_clip = short_clip
        self.include_invisible = bool(include_invisible)
        self.max_redraws = int(max_redraws)
        self.max_bad_redraws = max(1, int(max_bad_redraws))
        self.spatial_augmentation = spatial_augmentation
        # seed=None: one random seed chosen here, in the main process, so every worker agrees on it
        self.seed = int(seed) if seed is not None else random.SystemRandom().randrange(2 ** 63)
        self.epoch = 0
        self._warned_short = False

    # ------------------------------------------------------------------ epoch / state
    def __len__(self) -> int:
        return self.samples_per_epoch

    def rng_for(self, index: int) -> Tuple[random.Random, np.random.Generator]:
        """The item's own generators (python for sampling, numpy for augmentation)."""
        ss = np.random.SeedSequence([self.seed % (2 ** 63), self.epoch, int(index), 0x51C])
        py_seed, np_seed = ss.spawn(2)
        state = py_seed.generate_state(2)
        return random.Random(int(state[0]) << 32 | int(state[1])), np.random.default_rng(np_seed)

    # ------------------------------------------------------------------ sampling
    def __getitem__(self, index: int) -> Clip:
        """One clip. An unreadable frame or annotation redraws the sample (the same RNG goes on, so
        this stays reproducible); the messages travel with the clip (``Clip.skipped_bad``) so the
        loader reports them in the main process. ``max_bad_redraws`` failures in a row: the data is
        broken, :class:`BadDataError`."""
        rng, np_rng = self.rng_for(index)
        skipped: List[str] = []
        bad_errors = bad_sample_errors()
        while True:
            try:
                clip = self._sample(rng, np_rng)
            except bad_errors as err:
                skipped.append(str(err))
                if len(skipped) >= self.max_bad_redraws:
                    raise BadDataError(f"{len(skipped)} samples in a row hit unreadable data (last: {err}); "
                                       "check the dataset files") from err
                continue
            clip.skipped_bad = tuple(skipped)
            return clip

    def _sample(self, rng: random.Random, np_rng: np.random.Generator) -> Clip:
        dataset, seq_id, info, visible = self._draw_video(rng)
        mode = self._draw_mode(rng)
        if dataset.is_video_sequence():
            template_ids, search_ids = self.sample_frame_ids(visible, mode, rng)
        else:
            template_ids = [0] * self.num_template_frames
            search_ids = [0] * self.num_search_frames
        frames, anno, _ = dataset.get_frames(seq_id, template_ids + search_ids, info)
        boxes = np.stack([np.asarray(b, dtype=np.float32).reshape(4) for b in anno["bbox"]])   # [nt + T, 4]
        nt = len(template_ids)
        search_visible = visible[search_ids] if dataset.is_video_sequence() else np.ones(len(search_ids), bool)
        clip = Clip(template_images=list(frames[:nt]), template_boxes=boxes[:nt],
                    search_images=list(frames[nt:]), search_boxes=boxes[nt:],
                    search_visible=np.asarray(search_visible, dtype=bool), dataset=dataset.get_name(),
                    seq_id=int(seq_id), template_frame_ids=list(template_ids), search_frame_ids=list(search_ids),
                    mode=mode)
        if self.spatial_augmentation is not None:
            clip = self.spatial_augmentation(clip, np_rng)
        return clip

    def _draw_mode(self, rng: random.Random) -> str:
        if self.frame_sample_mode == "random_interval" and rng.random() < self.interval_prob:
            return "random_interval"
        return "sequential"

    def _eligible(self, visible: np.ndarray) -> bool:
        return (int(visible.sum()) > self.min_visible_frames
                and len(visible) >= self.num_search_frames + self.num_template_frames)

    def _draw_video(self, rng: random.Random) -> Tuple[Any, int, dict, np.ndarray]:
        best = None
        dataset = rng.choices(self.datasets, self.p_datasets)[0]   # official: redraw videos, not datasets
        for _ in range(self.max_redraws):
            seq_id = rng.randrange(dataset.get_num_sequences())
            info = dataset.get_sequence_info(seq_id)
            visible = _visible_mask(info)
            if not dataset.is_video_sequence():
                if visible.any():
                    return dataset, seq_id, info, visible
                continue
            if self._eligible(visible):
                return dataset, seq_id, info, visible
            if visible.any() and (best is None or visible.sum() > best[3].sum()):
                best = (dataset, seq_id, info, visible)
        if best is None:
            raise SamplingError(f"SequenceSampler: none of {self.max_redraws} drawn videos has a visible frame "
                                f"(dataset: {dataset.get_name()})")
        level = logging.DEBUG if self._warned_short else logging.WARNING
        self._warned_short = True
        logger.log(level, "no video with more than %d visible frames and >= %d frames in %d draws; using %s seq %d "
                   "with %d visible frames (short-clip rule; lower min_visible_frames for short videos)",
                   self.min_visible_frames, self.num_search_frames + self.num_template_frames, self.max_redraws,
                   best[0].get_name(), best[1], int(best[3].sum()))
        return best

    def sample_frame_ids(self, visible: np.ndarray, mode: str, rng: random.Random) -> Tuple[List[int], List[int]]:
        """(template ids, search ids) for one video given its [N] visibility; 0-based, search ids sorted."""
        visible = np.asarray(visible, dtype=bool)
        if not visible.any():
            raise SamplingError("sample_frame_ids: the video has no visible frame")
        if mode == "sequential":
            t, search = self._sequential(visible, rng)
        elif mode == "random_interval":
            t, search = self._random_interval(visible, rng)
        else:
            raise ValueError(f"unknown sampling mode {mode!r}")
        return self._templates(visible, t, rng), self._finish(search)

    # -- helpers (ranges are half-open [lo, hi) like the spec)
    @staticmethod
    def _visible_in(visible: np.ndarray, lo: int, hi: int) -> List[int]:
        lo, hi = max(0, lo), min(len(visible), hi)
        if hi <= lo:
            return []
        return (np.flatnonzero(visible[lo:hi]) + lo).tolist()

    def _usable(self, visible: np.ndarray) -> np.ndarray:
        """Frames that may be search frames: visible ones, or all with ``include_invisible``."""
        return np.ones_like(visible) if self.include_invisible else visible

    def _template_fallback(self, visible: np.ndarray, rng: random.Random) -> int:
        """A visible frame followed by as many visible frames as the video allows (up to T in all)."""
        ids = np.flatnonzero(visible).tolist()
        k = min(self.num_search_frames, len(ids))
        return rng.choice(ids[:len(ids) - k + 1])

    def _sequential(self, visible: np.ndarray, rng: random.Random) -> Tuple[int, List[int]]:
        n, T = len(visible), self.num_search_frames
        candidates = self._visible_in(visible, 0, n - T)
        if candidates:
            t = rng.choice(candidates)
            hi = min(n - T, t + self.max_gap) if self.max_gap >= 0 else t + 1
            left = rng.choice(self._visible_in(visible, t, max(hi, t + 1))) if self.max_gap != -1 else t
        else:   # short video: start at the template so the clip is as long as the video allows
            t = left = self._template_fallback(visible, rng)
        usable = self._usable(visible)
        search = (np.flatnonzero(usable[left:]) + left)[:T].tolist()
        return t, search

    def _avg_interval(self, n: int) -> int:
        avg = self.max_interval
        while avg > 0 and avg * (self.num_search_frames - 1) > n:
            avg -= 1
        return avg

    def _random_interval(self, visible: np.ndarray, rng: random.Random) -> Tuple[int, List[int]]:
        n, T = len(visible), self.num_search_frames
        avg = self._avg_interval(n)
        candidates: List[int] = []
        while not candidates:
            candidates = self._visible_in(visible, 0, n - avg * (T - 1))
            if not candidates:
                if avg == 0:   # unreachable while a visible frame exists; kept as a guard
                    candidates = [self._template_fallback(visible, rng)]
                avg = max(0, avg - 1)
        t = rng.choice(candidates)
        if self.max_gap == -1:
            left = t
        else:
            avg = self._avg_interval(n)
            hi = min(max(n - avg * (T - 1), t + 1), t + self.max_gap)
            left = rng.choice(self._visible_in(visible, t, max(hi, t + 1)))
        usable = self._usable(visible)
        search = [left]
        last = left
        while len(search) < T and last <= n - 1:   # official: the last frame may repeat at the end
            window = self._visible_in(usable, last + self.min_interval, last + self.max_interval + 1)
            if not window:
                last += self.max_interval   # a stretch without usable frames: move on (gap > max_interval)
                continue
            last = rng.choice(window)
            search.append(last)
        if len(search) < T:   # official step 5: fill with random distinct usable frames after `left`
            pool = sorted(set(np.flatnonzero(usable).tolist()) - set(search))
            pool = [i for i in pool if i > left]
            search = sorted(search + rng.choices(pool, k=min(len(pool), T - len(search))))   # with replacement
        if self.short_clip == "truncate":   # the end frame repeated by the official walk: keep it once
            while len(search) > 2 and search[-1] == search[-2] == n - 1:
                search.pop()
        return t, search

    def _templates(self, visible: np.ndarray, t: int, rng: random.Random) -> List[int]:
        if self.num_template_frames == 1:
            return [t]
        lo = t - self.max_gap if self.max_gap >= 0 else 0
        pool = [i for i in self._visible_in(visible, lo, t) if i != t]
        extra = rng.sample(pool, min(len(pool), self.num_template_frames - 1))
        extra += [t] * (self.num_template_frames - 1 - len(extra))
        return sorted(extra + [t])

    def _finish(self, search: List[int]) -> List[int]:
        """Apply the short-clip rule: at least 2 frames, at most T, padded to T with ``'pad'``."""
        T = self.num_search_frames
        search = list(search[:T])
        target = T if self.short_clip == "pad" else max(2, len(search))
        while len(search) < target:
            search.append(search[-1])
        return search
