"""Batched TransT tracker: evaluation (batch 1, greedy) and SLT rollout (2N copies, 'half') share this code.

One :meth:`BatchedTransT.step` = for every sequence of the batch: crop the search window (factor 4,
256 px) around its own previous estimate (one batched device op), one network forward for the whole
batch, pick a candidate with the shared :class:`~ltr_slt.slt.policy.TransTPolicy` (argmax / sample),
decode and clip the box exactly as the official tracker (``architectures.md`` 7.1,
``slt_algorithm.md`` 5.2): ``centre = box_c * s_x + prev_c - s_x / 2``, size taken directly (no
smoothing), centre clipped into ``[0, W] x [0, H]``, size into ``[10, W] x [10, H]``.

The state geometry (centre, size, ``s_x``) is float64 like the official numpy state, so the integer
crop sides ``ceil(sqrt(...))`` are bit-identical to it; network inputs and the policy are float32.

Batch layout with ``copies = k``: entry ``c * N + i`` is copy ``c`` of sequence ``i`` (copy-major),
so in the SLT rollout (k = 2) ``[0, N)`` are the greedy copies and ``[N, 2N)`` the sampled ones.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from ltr_slt.data.crop import FrameBuffer, crop_side, crop_windows, normalize_crops
from ltr_slt.slt.policy import ROLLOUT_MODES, TransTPolicy
from pytracking_slt.tracker.base.batch import CopiedBatch, frames_for_batch
from pytracking_slt.tracker.base.net_wrappers import unwrap_net

logger = logging.getLogger(__name__)

__all__ = ["BatchedTransT", "TrackerState", "StepOutput", "normalize_crops", "MODES"]

MODES = ROLLOUT_MODES
ImageLike = Union[torch.Tensor, np.ndarray]


def _param(params: Any, name: str, default: Any) -> Any:
    """``params.get(name, default)`` for TrackerParams, getattr for any other object (None -> default)."""
    if params is None:
        return default
    if hasattr(params, "has") and callable(params.has):
        return params.get(name) if params.has(name) else default
    return getattr(params, name, default)


@dataclass
class TrackerState(CopiedBatch):
    """Per-sequence tracking state for a batch of B = copies * N sequences (all on one device)."""

    center: torch.Tensor          # [B, 2] float64 (cx, cy) image pixels
    size: torch.Tensor            # [B, 2] float64 (w, h)
    template_features: Any        # TemplateFeatures with B entries (copies share the encoding)
    fill: torch.Tensor            # [B, 3] float32 padding colour (truncated template-frame mean)
    image_size: torch.Tensor      # [B, 2] float64 (W, H) of the last frame seen
    copies: int = 1
    template_crops: Optional[torch.Tensor] = None  # [N, 3, St, St] uint8 (for re-encoding with grads)
    frame_num: int = 0            # frames tracked since init

    @property
    def batch_size(self) -> int:
        return int(self.center.shape[0])

    def boxes(self) -> torch.Tensor:
        """Current estimates ``[B, 4]`` xywh (float64)."""
        return torch.cat([self.center - 0.5 * self.size, self.size], dim=1)

    def select(self, idx: Union[torch.Tensor, Sequence[int]]) -> "TrackerState":
        """A state holding only the batch entries ``idx`` (copies reset to 1)."""
        idx = torch.as_tensor(idx, dtype=torch.long, device=self.center.device)
        return dataclasses.replace(
            self, center=self.center[idx], size=self.size[idx], fill=self.fill[idx],
            image_size=self.image_size[idx], template_features=self.template_features.index_select(idx),
            copies=1, template_crops=None)


@dataclass
class StepOutput:
    """Result of one tracking step for the whole batch (the caller slices greedy / sampled halves)."""

    boxes: torch.Tensor                        # [B, 4] float64 xywh image pixels (the new estimates)
    actions: torch.Tensor                      # [B] long chosen candidate (grid cell)
    crops: Optional[torch.Tensor] = None       # [B, 3, S, S] uint8 search crops fed to the net (record)
    crop_centers: Optional[torch.Tensor] = None  # [B, 2] float64 window centres (= previous centres)
    crop_sizes: Optional[torch.Tensor] = None  # [B] float64 window sides s_x in image pixels
    logits: Optional[torch.Tensor] = None      # [B, A] float32 policy logits (record)


class BatchedTransT:
    """TransT tracking a batch of sequences in lock step (see the module docstring).

    Args:
        net: TransT with ``encode_template``, ``track_from``, ``template_size``, ``search_size``,
            ``feature_size`` (a pytracking-style wrapper holding it in ``.net`` also works).
        params: TrackerParams-like; reads ``window_influence`` (0.49), ``temperature`` (4.0),
            ``sig_eps`` (0.01), ``template_area_factor`` (2), ``search_area_factor`` (4),
            ``min_box_size`` (10). Missing attributes take these defaults.
        device: where frames, crops and state live (the net must already be there).
        policy: share an existing policy object (the SLT actor uses ``tracker.policy``).
    """

    def __init__(self, net: Any, params: Any = None, device: Union[str, torch.device] = "cpu",
                 policy: Optional[TransTPolicy] = None) -> None:
        self.net = unwrap_net(net)
        self.params = params
        self.device = torch.device(device)
        self.template_size = int(getattr(self.net, "template_size", 128))
        self.search_size = int(getattr(self.net, "search_size", 256))
        feature_size = int(getattr(self.net, "feature_size", 32))
        self.template_area_factor = float(_param(params, "template_area_factor", 2.0))
        self.search_area_factor = float(_param(params, "search_area_factor", 4.0))
        self.min_box_size = float(_param(params, "min_box_size", 10.0))
        if policy is None:
            policy = TransTPolicy(window_influence=float(_param(params, "window_influence", 0.49)),
                                  temperature=float(_param(params, "temperature", 4.0)),
                                  sig_eps=float(_param(params, "sig_eps", 0.01)),
                                  feature_size=feature_size)
        elif policy.feature_size != feature_size:
            raise ValueError(f"policy.feature_size={policy.feature_size} but the net's feature_size is {feature_size}")
        self.policy = policy

    # ------------------------------------------------------------------------------------------
    def _boxes(self, boxes: Any, n: int, name: str) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(boxes, dtype=np.float64) if not isinstance(boxes, torch.Tensor) else boxes)
        t = t.to(self.device, torch.float64).reshape(-1, 4) if t.numel() else t.reshape(0, 4)
        if t.shape[0] != n:
            raise ValueError(f"BatchedTransT.init: {name} holds {t.shape[0]} boxes for {n} template images")
        if not bool(torch.isfinite(t).all()) or not bool((t[:, 2:] > 0).all()):
            raise ValueError(f"BatchedTransT.init: {name} must be finite xywh boxes with w, h > 0, got {t.tolist()}")
        return t

    @torch.no_grad()
    def init(self, template_images: Sequence[ImageLike], template_boxes: Any, init_boxes: Any = None,
             copies: int = 1) -> TrackerState:
        """Encode N templates once and start ``copies`` copies of each sequence.

        Args:
            template_images: N uint8 HxWx3 frames (torch on the device, or numpy).
            template_boxes: ``[N, 4]`` xywh GT in the template frames (template crop, factor 2).
            init_boxes: ``[N, 4]`` xywh initial state (GT of the clip's first search frame);
                defaults to ``template_boxes`` (evaluation: the template frame is frame 0).
            copies: batch copies per sequence; copy-major layout (see the module docstring).
        """
        n = len(template_images)
        if n == 0:
            raise ValueError("BatchedTransT.init: no template images")
        if copies < 1:
            raise ValueError(f"BatchedTransT.init: copies must be >= 1, got {copies}")
        tboxes = self._boxes(template_boxes, n, "template_boxes")
        iboxes = tboxes if init_boxes is None else self._boxes(init_boxes, n, "init_boxes")
        frames = FrameBuffer.from_images(template_images, device=self.device)
        fill = frames.channel_means()  # [N, 3] truncated template-frame means

        centers = tboxes[:, :2] + 0.5 * tboxes[:, 2:]  # [N, 2]
        s_z = crop_side(tboxes[:, 2:], self.template_area_factor)  # [N]
        z_crops = crop_windows(frames, centers, s_z, self.template_size, fill)  # [N, 3, 128, 128] uint8
        tf = self.net.encode_template(normalize_crops(z_crops))  # N entries
        if copies > 1:
            tf = tf.repeat(copies)
        image_size = torch.stack([frames.widths, frames.heights], 1).to(torch.float64)  # [N, 2]
        rep = (lambda t: t.repeat(copies, *([1] * (t.dim() - 1)))) if copies > 1 else (lambda t: t)  # noqa: E731
        return TrackerState(center=rep(iboxes[:, :2] + 0.5 * iboxes[:, 2:]), size=rep(iboxes[:, 2:].clone()),
                            template_features=tf, fill=rep(fill), image_size=rep(image_size), copies=copies,
                            template_crops=z_crops)

    def _input_buffer(self, crops: torch.Tensor) -> torch.Tensor:
        """Float32 network-input buffer reused from step to step (same layout as the crops).

        Tracking runs without autograd, so the previous step's input is dead once its forward
        was queued; reusing the buffer saves a fresh allocation (page faults) every step.
        """
        buf = getattr(self, "_net_input", None)
        if buf is None or buf.shape != crops.shape or buf.device != crops.device or buf.stride() != crops.stride():
            buf = torch.empty_strided(crops.shape, crops.stride(), dtype=torch.float32, device=crops.device)
            self._net_input = buf
        return buf

    # ------------------------------------------------------------------------------------------
    def _choose(self, out: dict, mode: str, generator: Optional[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.policy.logits(out)  # [B, A] float32

        def greedy(rows: slice) -> torch.Tensor:
            return self.policy.greedy_from_output({k: v[rows] for k, v in out.items()})

        return self.policy.choose(logits, greedy, mode, generator, "BatchedTransT.step"), logits

    @torch.no_grad()
    def step(self, frames: Union[FrameBuffer, Sequence[ImageLike]], state: TrackerState, mode: str = "greedy",
             generator: Optional[torch.Generator] = None, record: bool = False) -> tuple[TrackerState, StepOutput]:
        """Track one frame for every sequence of the batch.

        Args:
            frames: B frames, or N = B / copies frames (each shared by the copies of its sequence,
                without copying), or a prebuilt :class:`FrameBuffer` of either length.
            state: from :meth:`init` or the previous step (not modified).
            mode: 'greedy' (argmax), 'sample' (draw from the policy), 'half' (first half greedy,
                second half sampled: the SLT rollout with copies = 2).
            generator: RNG for sampling, on ``self.device``.
            record: also return the uint8 crops, crop geometry and policy logits.
        """
        B = state.batch_size
        buf, image_index = frames_for_batch(frames, state, self.device, "BatchedTransT.step")
        image_size = torch.stack([buf.widths[image_index], buf.heights[image_index]], 1).to(torch.float64)  # [B, 2]

        s_x = crop_side(state.size, self.search_area_factor)  # [B] float64
        crops = crop_windows(buf, state.center, s_x, self.search_size, state.fill, image_index)  # [B,3,256,256]
        out = self.net.track_from(state.template_features, normalize_crops(crops, out=self._input_buffer(crops)))
        actions, logits = self._choose(out, mode, generator)  # [B], [B, A]

        box = out["pred_boxes"][torch.arange(B, device=actions.device), actions].to(torch.float64)  # [B, 4]
        box = box * s_x[:, None]
        center = box[:, :2] + state.center - s_x[:, None] / 2.0
        center = torch.minimum(center.clamp(min=0.0), image_size)
        size = torch.minimum(box[:, 2:], image_size).clamp(min=self.min_box_size)

        new_state = dataclasses.replace(state, center=center, size=size, image_size=image_size,
                                        frame_num=state.frame_num + 1)
        result = StepOutput(boxes=new_state.boxes(), actions=actions)
        if record:
            result.crops = crops
            result.crop_centers = state.center
            result.crop_sizes = s_x
            result.logits = logits
        return new_state, result
