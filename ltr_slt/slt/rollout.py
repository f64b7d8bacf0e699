"""Exploration: run the current tracker on a batch of clips, greedy and sampled copies side by side.

``rollout(tracker, clips, device)`` is tracker-agnostic: it needs a batched tracker with

* ``net`` (the network, switched to eval mode here),
* ``init(template_images, template_boxes, init_boxes, copies=2) -> state``: template encoded once
  per clip and shared by both copies; the state starts at the GT of clip frame 0;
* ``step(frames, state, mode='half', generator=None, record=False) -> (state, StepOutput)`` with
  ``StepOutput.boxes`` [2N, 4] xywh, ``.actions`` [2N] and, when recording, ``.crops`` (uint8),
  ``.crop_centers`` [., 2] and ``.crop_sizes`` [.] for all 2N copies or the sampled N only;
  ``state.template_crops`` (and optionally ``state.clip_template_boxes``) after ``init``.

Copies [0, N) act greedily (the self-critical baseline), copies [N, 2N) sample from the policy.
Everything runs under ``torch.inference_mode()``: no autograd graph is built (the learning phase
recomputes the network on the recorded crops with gradients). Frames go to the device once, as
uint8. Clips shorter than the longest clip repeat their last frame (so the batch keeps one shape)
and the extra steps are masked out in the :class:`Trajectory`.
"""
from __future__ import annotations

import logging
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ltr_slt.data.bbox import iou as box_iou
from ltr_slt.data.crop import image_to_crop
from ltr_slt.slt.trajectory import Trajectory

logger = logging.getLogger(__name__)

__all__ = ["rollout", "clips_to_device", "NonFiniteRolloutError", "nonfinite_parameters"]


class NonFiniteRolloutError(FloatingPointError):
    """The policy's scores (or the network's weights) are NaN/inf: the run has diverged.

    ``weights_nonfinite`` tells the trainer whether skipping the batch can help (scores only) or
    not (the weights themselves are broken).
    """

    def __init__(self, message: str, weights_nonfinite: bool = False) -> None:
        super().__init__(message)
        self.weights_nonfinite = weights_nonfinite


def nonfinite_parameters(net: torch.nn.Module) -> List[str]:
    """Names of the parameters / buffers holding NaN or inf."""
    tensors = list(net.named_parameters()) + list(net.named_buffers())
    return [name for name, t in tensors if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def _diverged(net: torch.nn.Module, step: int, what: str) -> NonFiniteRolloutError:
    """The error for non-finite scores / boxes at rollout step ``step``, naming broken weights if any."""
    bad = nonfinite_parameters(net)
    if bad:
        return NonFiniteRolloutError(f"rollout frame {step}: {what}; {len(bad)} weight tensor(s) are NaN/inf "
                                     f"(first: {bad[0]})", weights_nonfinite=True)
    return NonFiniteRolloutError(f"rollout frame {step}: {what} (the weights are finite but the network's "
                                 f"outputs overflow)")


def _first(seq: Any) -> Any:
    """The first template image of a list, or of a stacked ``[K, H, W, 3]`` tensor (pinned loader)."""
    if isinstance(seq, (list, tuple)) or (isinstance(seq, torch.Tensor) and seq.dim() == 4):
        return seq[0]
    return seq


def _image_to_device(image: Any, device: torch.device | str) -> torch.Tensor:
    if not isinstance(image, torch.Tensor):
        image = torch.from_numpy(np.ascontiguousarray(image))
    return image.to(device, non_blocking=True)


def clips_to_device(clips: Sequence[Any], device: torch.device | str
                    ) -> Tuple[List[torch.Tensor], torch.Tensor, List[Any], torch.Tensor, torch.Tensor,
                               torch.Tensor]:
    """Move a batch of clips to the device once (uint8 HWC frames).

    Returns (templates: N x [H, W, 3] uint8, template_boxes [N, 4], frames: N x [T_i, H, W, 3]
    uint8 (a list of frames when their sizes differ), gt [Tmax, N, 4] float32 xywh (padded by
    repeating the last box), visible [Tmax, N]
    bool (False on padding), num_frames [N] long).
    """
    if len(clips) == 0:
        raise ValueError("rollout needs at least one clip")
    n = len(clips)
    lengths = [len(c.search_images) for c in clips]
    for i, (c, t) in enumerate(zip(clips, lengths)):
        if t < 2:
            raise ValueError(f"clip {i} ({getattr(c, 'dataset', '')} seq {getattr(c, 'seq_id', '?')}) has {t} "
                             "search frame(s); SLT needs >= 2 (frame 0 initialises, 1.. are tracked)")
        if len(c.search_boxes) != t or len(c.search_visible) != t:
            raise ValueError(f"clip {i}: {t} search images but {len(c.search_boxes)} boxes and "
                             f"{len(c.search_visible)} visibility flags")
    t_max = max(lengths)
    gt = torch.zeros(t_max, n, 4, dtype=torch.float32)
    visible = torch.zeros(t_max, n, dtype=torch.bool)
    frames, templates = [], []
    for i, c in enumerate(clips):
        t = lengths[i]
        boxes = torch.as_tensor(np.asarray(c.search_boxes, dtype=np.float32)).reshape(t, 4)
        gt[:t, i] = boxes
        gt[t:, i] = boxes[-1]
        visible[:t, i] = torch.as_tensor(np.asarray(c.search_visible, dtype=bool))
        frames.append(_frames_to_device(c.search_images, device))
        templates.append(_image_to_device(_first(c.template_images), device))
    template_boxes = torch.as_tensor(np.stack([np.asarray(c.template_boxes, dtype=np.float32).reshape(-1, 4)[0]
                                               for c in clips]))
    num_frames = torch.tensor(lengths, dtype=torch.long)
    return templates, template_boxes, frames, gt, visible, num_frames


def _frames_to_device(images: Sequence[np.ndarray], device: torch.device | str) -> Any:
    """One upload per clip: a [T, H, W, 3] uint8 tensor (or a list when frame sizes differ)."""
    if isinstance(images, torch.Tensor):  # stacked (and pinned) by the loader: one asynchronous copy
        return images.to(device, non_blocking=True)
    if torch.device(device).type == "cpu":  # nothing to upload: zero-copy views, no stacking copy
        return [torch.from_numpy(np.ascontiguousarray(im)) for im in images]
    if len({np.shape(im) for im in images}) == 1:
        return torch.from_numpy(np.ascontiguousarray(np.stack(images))).to(device, non_blocking=True)
    return [torch.from_numpy(np.ascontiguousarray(im)).to(device, non_blocking=True) for im in images]


def _sampled_half(out: Any, n: int, name: str) -> Optional[torch.Tensor]:
    """The sampled copies' entries of a recorded StepOutput field (tracker may give N or 2N rows)."""
    value = getattr(out, name, None)
    if value is None:
        return None
    if value.shape[0] == 2 * n:
        return value[n:]
    if value.shape[0] == n:
        return value
    raise ValueError(f"tracker StepOutput.{name} has {value.shape[0]} rows; expected {n} or {2 * n}")


def rollout(tracker: Any, clips: Sequence[Any], device: torch.device | str,
            generator: Optional[torch.Generator] = None, record: bool = True) -> Trajectory:
    """Track every clip twice (greedy + sampled) and return the :class:`Trajectory` (on ``device``).

    ``clips``: :class:`ltr_slt.data.clip.Clip` records (template + T_i ordered search frames).
    ``generator``: RNG for the sampled actions (on ``device``); None = torch's global RNG.
    ``record``: keep the sampled half's crops / geometry / GT-in-crop for learning.
    """
    traj = _rollout(tracker, clips, device, generator, record)
    # Tensors made under inference_mode may not be saved for backward: hand out normal copies.
    return traj._map(torch.clone, torch.clone)


@torch.inference_mode()
def _rollout(tracker: Any, clips: Sequence[Any], device: torch.device | str,
             generator: Optional[torch.Generator], record: bool) -> Trajectory:
    device = torch.device(device)
    net = tracker.net
    net.eval()
    templates, template_boxes, frames, gt, visible, num_frames = clips_to_device(clips, device)
    n, t_max = len(clips), gt.shape[0]
    steps = t_max - 1
    gt_dev = gt.to(device)

    state = tracker.init(templates, template_boxes.to(device), gt_dev[0], copies=2)

    boxes = torch.zeros(steps, 2 * n, 4, dtype=torch.float64, device=device)  # tracker state precision
    actions = torch.zeros(steps, 2 * n, dtype=torch.long, device=device)
    crops: List[torch.Tensor] = []
    centers: List[torch.Tensor] = []
    sides: List[torch.Tensor] = []
    last = [int(t) - 1 for t in num_frames]
    for k in range(steps):
        t = k + 1
        frames_t = [frames[i][min(t, last[i])] for i in range(n)]  # N x [H, W, 3] uint8
        try:
            state, out = tracker.step(frames_t, state, mode="half", generator=generator, record=record)
        except RuntimeError as err:
            # torch.multinomial's message for NaN/inf/negative probabilities (the sampled half)
            if "probability tensor contains" not in str(err):
                raise
            raise _diverged(net, t, "the policy's probabilities are NaN/inf") from err
        if not bool(torch.isfinite(out.boxes).all()):
            raise _diverged(net, t, "the tracker's boxes are NaN/inf")
        boxes[k] = out.boxes.to(device=device, dtype=boxes.dtype)
        actions[k] = out.actions.to(device)
        if record:
            crop = _sampled_half(out, n, "crops")
            centre = _sampled_half(out, n, "crop_centers")
            side = _sampled_half(out, n, "crop_sizes")
            if crop is None or centre is None or side is None:
                raise RuntimeError(f"{type(tracker).__name__}.step(record=True) did not return crops, "
                                   "crop_centers and crop_sizes for the sampled half")
            crops.append(crop)
            centers.append(centre.double())
            sides.append(side.double())

    t_idx = torch.arange(1, t_max)
    frame_mask = (t_idx[:, None] < num_frames[None, :]).to(device)  # [T-1, N]
    vis = visible[1:].to(device)
    gt_t = gt_dev[1:]  # [T-1, N, 4]
    valid = frame_mask & vis
    iou_g = torch.where(valid, box_iou(boxes[:, :n], gt_t.double()), torch.zeros((), device=device))
    iou_s = torch.where(valid, box_iou(boxes[:, n:], gt_t.double()), torch.zeros((), device=device))

    traj = Trajectory(num_frames=num_frames.to(device), frame_mask=frame_mask, visible=vis, gt_boxes=gt_t,
                      iou_greedy=iou_g.float(), iou_sampled=iou_s.float(), boxes_greedy=boxes[:, :n].clone(),
                      boxes_sampled=boxes[:, n:].clone(), actions=actions[:, n:].clone(),
                      greedy_actions=actions[:, :n].clone())
    if record:
        template_crops = getattr(state, "template_crops", None)
        if template_crops is None:
            raise RuntimeError(f"{type(tracker).__name__}.init did not keep the template crops "
                               "(state.template_crops) needed for learning")
        if template_crops.shape[0] == 2 * n:
            template_crops = template_crops[:n]
        traj.template_crops = template_crops
        # Trackers with several template samples per clip (DiMP: init augmentations) also keep the
        # target box in each of them: state.clip_template_boxes [N, K, 4].
        template_boxes = getattr(state, "clip_template_boxes", None)
        if template_boxes is not None:
            traj.template_boxes = template_boxes[:n]
        traj.search_crops = torch.stack(crops)  # [T-1, N, 3, S, S] uint8
        traj.crop_centers = torch.stack(centers)  # [T-1, N, 2] float64 (tracker state precision)
        traj.crop_sides = torch.stack(sides)  # [T-1, N] float64
        size = traj.search_crops.shape[-1]
        # GT in the crop with the tracker's own mapping; validity comes from the visibility flags
        # (Trajectory.valid), not from the official |x1|+|y1|+|x2|+|y2| > 10 heuristic.
        traj.gt_crop = image_to_crop(gt_t.double().reshape(-1, 4), traj.crop_centers.reshape(-1, 2),
                                     traj.crop_sides.reshape(-1), size).reshape(steps, n, 4).float()
    return traj
