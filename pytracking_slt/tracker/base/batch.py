"""Copy-major batch bookkeeping the batched trackers share: B = N sequences x ``copies`` entries."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch

from ltr_slt.data.crop import FrameBuffer, ImageLike

__all__ = ["CopiedBatch", "frames_for_batch"]


class CopiedBatch:
    """Mixin of the tracker states: ``batch_size`` (defined by the state) = ``num_sequences`` x ``copies``."""

    copies: int
    batch_size: int

    @property
    def num_sequences(self) -> int:
        return self.batch_size // self.copies


def frames_for_batch(frames: Union[FrameBuffer, Sequence[ImageLike]], state: CopiedBatch, device: torch.device,
                     who: str) -> Tuple[FrameBuffer, torch.Tensor]:
    """The step's frames and the frame of every batch entry ``[B]``: one frame per entry, or one per sequence
    shared by its copies (copy-major: entry ``i`` reads frame ``i % N``)."""
    b = state.batch_size
    buf = frames if isinstance(frames, FrameBuffer) else FrameBuffer.from_images(frames, device=device)
    if len(buf) == b:
        return buf, torch.arange(b, device=device)
    if len(buf) * state.copies == b:
        return buf, torch.arange(b, device=device) % len(buf)
    raise ValueError(f"{who}: got {len(buf)} frames for a batch of {b} "
                     f"({state.num_sequences} sequences x {state.copies} copies)")
