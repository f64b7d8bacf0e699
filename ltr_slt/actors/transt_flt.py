"""Frame-level training (FLT) actor for TransT: template/search pairs -> (loss, stats).

This is TransT's ordinary pair-wise recipe (the baseline SLT fine-tunes), with one difference in
*where* the work happens: ltr crops every pair on the CPU in the data workers (numpy + cv2); here the
whole batch is cropped on the device in one op with :func:`ltr_slt.data.crop.crop_windows`, the
very crop the tracker uses at test time (same geometry, same per-image channel-mean padding).

Per pair (``architectures.md`` 6.1, ``hyperparams.json`` transt/train):

* template: crop side ``ceil(sqrt(w*h) * 2)`` around the GT box (no jitter) -> 128 px;
* search: ltr's ``_get_jittered_box`` (size * exp(N(0,1) * 0.25), centre + sqrt(jw*jh) * 3 *
  U(-0.5, 0.5)), crop side ``ceil(sqrt(jw*jh) * 4)`` around the jittered box -> 256 px;
* photometric augmentation as TransT's settings: grayscale with p 0.05 (jointly for the pair),
  brightness factor U(0.8, 1.2) per image;
* GT placed in the search crop with the tracker's own mapping (``image_to_crop``) and normalised to
  cxcywh in [0, 1]; ``net(search, template)``; TransT criterion (CE x8.334, L1 x5, GIoU x2).

Randomness comes from ``generator`` (default: torch's global RNG, which BaseTrainer checkpoints), so
a seeded run is reproducible.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ltr_slt.actors.base import NetActor
from ltr_slt.data.crop import FrameBuffer, crop_windows, image_to_crop, normalize_crops
from ltr_slt.models.loss import TransTCriterion
from ltr_slt.models.loss.box_ops import box_cxcywh_to_xyxy, paired_iou_giou

logger = logging.getLogger(__name__)

__all__ = ["FLTCropSettings", "TransTFLTActor", "jitter_boxes", "pair_crop_sides"]


@dataclass
class FLTCropSettings:
    """Crop/augmentation parameters of TransT's pair-wise training (official values)."""

    template_area_factor: float = 2.0
    search_area_factor: float = 4.0
    template_size: int = 128
    search_size: int = 256
    center_jitter_search: float = 3.0
    scale_jitter_search: float = 0.25
    center_jitter_template: float = 0.0
    scale_jitter_template: float = 0.0
    grayscale_probability: float = 0.05
    brightness_jitter: float = 0.2

    @classmethod
    def from_settings(cls, settings: Any, net: Optional[nn.Module] = None) -> "FLTCropSettings":
        """Read ltr-style settings attributes (``center_jitter_factor`` dicts etc.); missing -> defaults."""
        d = cls()
        get = (lambda k, v: getattr(settings, k, v)) if settings is not None else (lambda k, v: v)
        cj = dict(get("center_jitter_factor", None) or {})
        sj = dict(get("scale_jitter_factor", None) or {})
        return cls(
            template_area_factor=float(get("template_area_factor", d.template_area_factor)),
            search_area_factor=float(get("search_area_factor", d.search_area_factor)),
            template_size=int(get("template_sz", getattr(net, "template_size", d.template_size))),
            search_size=int(get("search_sz", getattr(net, "search_size", d.search_size))),
            center_jitter_search=float(cj.get("search", d.center_jitter_search)),
            scale_jitter_search=float(sj.get("search", d.scale_jitter_search)),
            center_jitter_template=float(cj.get("template", d.center_jitter_template)),
            scale_jitter_template=float(sj.get("template", d.scale_jitter_template)),
            grayscale_probability=float(get("grayscale_probability", d.grayscale_probability)),
            brightness_jitter=float(get("brightness_jitter", d.brightness_jitter)),
        )


def jitter_boxes(boxes: torch.Tensor, center_jitter: float, scale_jitter: float,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """ltr's ``_get_jittered_box`` for a batch: xywh [B, 4] -> jittered xywh [B, 4].

    size' = size * exp(N(0, 1) * scale_jitter); centre' = centre + sqrt(w' h') * center_jitter * U(-0.5, 0.5).
    """
    b = boxes.shape[0]
    size = boxes[:, 2:] * torch.exp(torch.randn(b, 2, generator=generator, dtype=boxes.dtype) * scale_jitter)
    max_offset = size.prod(dim=1, keepdim=True).sqrt() * center_jitter  # [B, 1]
    centre = boxes[:, :2] + 0.5 * boxes[:, 2:] + max_offset * (torch.rand(b, 2, generator=generator,
                                                                           dtype=boxes.dtype) - 0.5)
    return torch.cat([centre - 0.5 * size, size], dim=1)


def pair_crop_sides(boxes: torch.Tensor, area_factor: float) -> torch.Tensor:
    """ltr's training crop side ``ceil(sqrt(w*h) * area_factor)`` (not the tracker's context-padded side)."""
    return torch.ceil(boxes[:, 2:].prod(dim=1).clamp(min=0).sqrt() * area_factor)


def _boxes_tensor(boxes: Sequence[Any], field: str) -> torch.Tensor:
    out = torch.as_tensor(np.stack([np.asarray(b, dtype=np.float64).reshape(4) for b in boxes]))
    bad = ~torch.isfinite(out).all(1) | (out[:, 2] <= 0) | (out[:, 3] <= 0)
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0])
        raise ValueError(f"FLT batch: {field}[{i}] = {out[i].tolist()} is not a valid xywh box "
                         "(the pair sampler must only return visible frames)")
    return out


class TransTFLTActor(NetActor):
    """``actor(pairs) -> (loss, stats)`` for TransT frame-level training (ltr actor protocol).

    ``pairs``: a list of :class:`ltr_slt.data.pair_sampler.Pair` (or any objects with
    ``template_image``, ``template_box``, ``search_image``, ``search_box``). Stats use ltr's names
    (``Loss/total``, ``Loss/ce``, ``Loss/bbox``, ``Loss/giou``, ``iou``) plus ``mIoU``: the IoU of the
    box at the highest-scoring cell with the GT in the crop, i.e. what the tracker would output for this
    single frame.
    """

    def __init__(self, net: nn.Module, objective: Optional[TransTCriterion] = None, settings: Any = None,
                 generator: Optional[torch.Generator] = None) -> None:
        self.net = net
        self.objective = objective if objective is not None else TransTCriterion()
        self.crop = FLTCropSettings.from_settings(settings, net)
        self.generator = generator

    def to(self, device: torch.device | str) -> "TransTFLTActor":
        super().to(device)
        self.objective.to(device)
        return self

    # -- data -> network input ----------------------------------------------------------------
    def _augment(self, crops: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
        """uint8 [B, 3, S, S] -> float 0..255 with per-image brightness and (given) grayscale."""
        x = crops.float()
        b = x.shape[0]
        if self.crop.brightness_jitter > 0:
            lo, hi = max(0.0, 1.0 - self.crop.brightness_jitter), 1.0 + self.crop.brightness_jitter
            factor = torch.empty(b, dtype=torch.float32).uniform_(lo, hi, generator=self.generator)
            x = (x * factor.to(x.device).view(b, 1, 1, 1)).clamp_(0.0, 255.0)
        if bool(gray.any()):
            w = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
            g = (x * w).sum(1, keepdim=True).expand_as(x)
            x = torch.where(gray.to(x.device).view(b, 1, 1, 1), g, x)
        return x

    def prepare(self, pairs: Sequence[Any]) -> Dict[str, torch.Tensor]:
        """Crop and normalise a batch on the device.

        Returns ``template`` [B,3,128,128] and ``search`` [B,3,256,256] (ImageNet-normalised float),
        ``search_anno`` [B,4] GT xywh in search-crop pixels and ``target`` [B,4] normalised cxcywh.
        """
        if len(pairs) == 0:
            raise ValueError("FLT batch is empty")
        dev = self.device
        b = len(pairs)
        c = self.crop
        t_boxes = _boxes_tensor([p.template_box for p in pairs], "template_box")  # [B, 4] float64
        s_boxes = _boxes_tensor([p.search_box for p in pairs], "search_box")
        t_jit = jitter_boxes(t_boxes, c.center_jitter_template, c.scale_jitter_template, self.generator) \
            if (c.center_jitter_template or c.scale_jitter_template) else t_boxes
        s_jit = jitter_boxes(s_boxes, c.center_jitter_search, c.scale_jitter_search, self.generator)
        t_side = pair_crop_sides(t_jit, c.template_area_factor).clamp(min=1.0)  # [B]
        s_side = pair_crop_sides(s_jit, c.search_area_factor).clamp(min=1.0)
        gray = torch.rand(b, generator=self.generator) < c.grayscale_probability  # one draw per pair

        images = [p.template_image for p in pairs] + [p.search_image for p in pairs]
        buf = FrameBuffer.from_images(images, device=dev)  # uploads each frame once, as uint8
        fill = buf.channel_means()  # [2B, 3]
        t_centre = (t_jit[:, :2] + 0.5 * t_jit[:, 2:]).to(dev)
        s_centre = (s_jit[:, :2] + 0.5 * s_jit[:, 2:]).to(dev)
        idx = torch.arange(2 * b, device=dev)
        t_crops = crop_windows(buf, t_centre, t_side.to(dev), c.template_size, fill[:b], idx[:b])  # [B,3,128,128]
        s_crops = crop_windows(buf, s_centre, s_side.to(dev), c.search_size, fill[b:], idx[b:])    # [B,3,256,256]
        template = normalize_crops(self._augment(t_crops, gray))
        search = normalize_crops(self._augment(s_crops, gray))

        anno = image_to_crop(s_boxes.to(dev), s_centre, s_side.to(dev), c.search_size).float()  # [B,4] xywh px
        target = torch.cat([anno[:, :2] + 0.5 * anno[:, 2:], anno[:, 2:]], 1) / c.search_size  # [B,4] cxcywh
        return {"template": template, "search": search, "search_anno": anno, "target": target}

    # -- loss -----------------------------------------------------------------------------------
    def __call__(self, pairs: Sequence[Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        data = self.prepare(pairs)
        out = self.net(data["search"], data["template"])  # {'pred_logits': [B,HW,2], 'pred_boxes': [B,HW,4]}
        losses = self.objective(out, data["target"])
        loss = self.objective.total(losses)
        stats = {
            "Loss/total": float(loss.detach()),
            "Loss/ce": float(losses["loss_ce"].detach()),
            "Loss/bbox": float(losses["loss_bbox"].detach()),
            "Loss/giou": float(losses["loss_giou"].detach()),
            "iou": float(losses["iou"].detach()),
            "mIoU": float(self.top_box_iou(out, data["target"]).mean()),
        }
        return loss, stats

    @staticmethod
    @torch.no_grad()
    def top_box_iou(out: Mapping[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        """IoU [B] between the box of the most confident cell (no window) and the GT (both cxcywh)."""
        score = out["pred_logits"].detach().softmax(-1)[..., 0]  # [B, HW] target probability
        best = score.argmax(1)
        boxes = out["pred_boxes"].detach()[torch.arange(len(best), device=best.device), best]  # [B, 4]
        iou, _ = paired_iou_giou(box_cxcywh_to_xyxy(boxes.float()), box_cxcywh_to_xyxy(target.float()))
        return iou
