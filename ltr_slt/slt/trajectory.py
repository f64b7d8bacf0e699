"""What one SLT rollout leaves behind for the learning phase.

Only the *sampled* half is recorded in full (crops, geometry, actions): the greedy half is the
self-critical baseline and only contributes its per-frame IoU (and boxes, for diagnostics).
Time index ``t`` runs over the *tracked* frames 1..T-1 of each clip (frame 0 only initialises the
state), so every per-frame tensor is ``[T-1, N, ...]``. Clips shorter than the longest clip of
the batch are padded; ``frame_mask`` says which entries are real.

Crops are stored as uint8 (4x smaller than float32, normalised on the fly by the actor).
Tensors are tracker-agnostic: a family's actor knows how to read its own crops.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import torch

__all__ = ["Trajectory", "gt_in_crop", "xywh_to_cxcywh_normalised"]


@dataclass
class Trajectory:
    """Recorded rollout of N clips (sampled half in full, greedy half as IoU/boxes)."""

    num_frames: torch.Tensor  # [N] long: real clip length T_i (frames 0..T_i-1)
    frame_mask: torch.Tensor  # [T-1, N] bool: tracked frame exists (t+1 < T_i)
    visible: torch.Tensor  # [T-1, N] bool: GT visible (only meaningful where frame_mask)
    gt_boxes: torch.Tensor  # [T-1, N, 4] float xywh full-image GT
    iou_greedy: torch.Tensor  # [T-1, N] float IoU of the greedy copy (0 where not valid)
    iou_sampled: torch.Tensor  # [T-1, N] float IoU of the sampled copy (0 where not valid)
    boxes_greedy: torch.Tensor  # [T-1, N, 4] float64 xywh predictions of the greedy copy
    boxes_sampled: torch.Tensor  # [T-1, N, 4] float64 xywh predictions of the sampled copy
    actions: torch.Tensor  # [T-1, N] long: candidate index chosen by the sampled copy
    greedy_actions: torch.Tensor  # [T-1, N] long: candidate index chosen by the greedy copy
    # Recorded only when rollout(record=True):
    template_crops: Optional[torch.Tensor] = None  # [N, 3, s, s] uint8
    search_crops: Optional[torch.Tensor] = None  # [T-1, N, 3, S, S] uint8 (sampled half)
    crop_centers: Optional[torch.Tensor] = None  # [T-1, N, 2] float64 (x, y) image pixels
    crop_sides: Optional[torch.Tensor] = None  # [T-1, N] float64 crop side in image pixels
    gt_crop: Optional[torch.Tensor] = None  # [T-1, N, 4] float xywh GT in S-pixel crop coordinates
    # Recorded when the tracker keeps several template samples per clip (DiMP family: the init
    # augmentations); template_crops is then [N, K, 3, s, s] uint8.
    template_boxes: Optional[torch.Tensor] = None  # [N, K, 4] float xywh target box in each template crop
    # Family-specific per-frame learning targets added after the rollout (e.g. IoU-Net proposals),
    # each [T-1, N, ...]; chunked / moved / padded like the other per-frame fields.
    extras: Optional[Dict[str, torch.Tensor]] = None

    # -- derived -------------------------------------------------------------------------------
    @property
    def valid(self) -> torch.Tensor:
        """[T-1, N] bool: real frame whose GT is visible (enters AO and the box losses)."""
        return self.frame_mask & self.visible

    @property
    def num_clips(self) -> int:
        return int(self.frame_mask.shape[1])

    @property
    def num_steps(self) -> int:
        """T-1: tracked frames of the longest clip."""
        return int(self.frame_mask.shape[0])

    @property
    def recorded(self) -> bool:
        return self.search_crops is not None

    # -- manipulation --------------------------------------------------------------------------
    def _map(self, fn_time, fn_clip) -> "Trajectory":
        """Apply fn_time to [T-1, N, ...] fields and fn_clip to [N, ...] fields."""
        kw = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None:
                kw[f.name] = None
            elif isinstance(v, dict):
                kw[f.name] = {k: fn_time(t) for k, t in v.items()}
            elif f.name in _CLIP_FIELDS:
                kw[f.name] = fn_clip(v)
            else:
                kw[f.name] = fn_time(v)
        return Trajectory(**kw)

    def chunk(self, clip_indices: Sequence[int] | torch.Tensor) -> "Trajectory":
        """The sub-trajectory of the given clips (order kept as given)."""
        idx = torch.as_tensor(clip_indices, dtype=torch.long)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.num_clips):
            raise IndexError(f"clip indices {idx.tolist()} out of range for {self.num_clips} clips")
        return self._map(lambda t: t.index_select(1, idx.to(t.device)),
                         lambda t: t.index_select(0, idx.to(t.device)))

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "Trajectory":
        return self._map(lambda t: t.to(device, non_blocking=non_blocking),
                         lambda t: t.to(device, non_blocking=non_blocking))

    @staticmethod
    def cat(items: Sequence["Trajectory"]) -> "Trajectory":
        """Concatenate along clips; shorter trajectories are padded with masked frames."""
        if not items:
            raise ValueError("Trajectory.cat needs at least one trajectory")
        steps = max(t.num_steps for t in items)
        padded = [t.pad_steps(steps) for t in items]
        kw = {}
        for f in dataclasses.fields(Trajectory):
            vals = [getattr(t, f.name) for t in padded]
            if any(v is None for v in vals):
                if not all(v is None for v in vals):
                    raise ValueError(f"Trajectory.cat: field '{f.name}' recorded in some trajectories only")
                kw[f.name] = None
            elif isinstance(vals[0], dict):
                keys = set(vals[0])
                if any(set(v) != keys for v in vals):
                    raise ValueError(f"Trajectory.cat: field '{f.name}' has different keys in different trajectories")
                kw[f.name] = {k: torch.cat([v[k] for v in vals], 1) for k in vals[0]}
            else:
                kw[f.name] = torch.cat(vals, 0 if f.name in _CLIP_FIELDS else 1)
        return Trajectory(**kw)

    def pad_steps(self, steps: int) -> "Trajectory":
        """Pad the time axis to ``steps`` with masked (zero) entries."""
        extra = steps - self.num_steps
        if extra < 0:
            raise ValueError(f"cannot pad a trajectory of {self.num_steps} steps to {steps}")
        if extra == 0:
            return self

        def pad(t: torch.Tensor) -> torch.Tensor:
            return torch.cat([t, t.new_zeros((extra,) + tuple(t.shape[1:]))], 0)

        return self._map(pad, lambda t: t)


_CLIP_FIELDS = frozenset({"num_frames", "template_crops", "template_boxes"})


def gt_in_crop(gt_xywh: torch.Tensor, centers: torch.Tensor, sides: torch.Tensor,
               output_size: int) -> torch.Tensor:
    """Map full-image boxes [..., 4] xywh into the crop of side ``sides`` around ``centers``.

    Crop pixel = (image pixel - centre) * output_size / side + output_size / 2, which is the
    official TransT mapping ((x - c) * 256 / s_x + 128).
    """
    scale = (output_size / sides.to(gt_xywh.dtype))[..., None]  # [..., 1]
    xy = (gt_xywh[..., :2] - centers.to(gt_xywh.dtype)) * scale + output_size / 2.0
    wh = gt_xywh[..., 2:] * scale
    return torch.cat([xy, wh], -1)


def xywh_to_cxcywh_normalised(boxes: torch.Tensor, size: float) -> torch.Tensor:
    """Crop-pixel xywh [..., 4] -> (cx, cy, w, h) / size, the TransT regression target."""
    return torch.cat([boxes[..., :2] + boxes[..., 2:] / 2.0, boxes[..., 2:]], -1) / float(size)
