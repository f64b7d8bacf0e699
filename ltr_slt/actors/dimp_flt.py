"""Frame-level training (FLT) actor of the DiMP family: ltr's ``DiMPActor`` / ``KLDiMPActor`` recipe.

This is the ordinary training DiMP-50, SuperDiMP and TrDiMP come from, and the control SLT is
compared with ("FLT-continued"). Per sample: K train (template) and M test frames of one video
(:class:`~ltr_slt.data.frame_set_sampler.FrameSet`, ltr's ``DiMPSampler``), processed as ltr's
``DiMPProcessing`` / ``KLDiMPProcessing`` (``architectures.md`` 6.2-6.3, ``pytracking_contract.md`` 5.4):

* joint transform on the full frames of both splits: grayscale (p 0.05) and, SuperDiMP / TrDiMP,
  horizontal flip (p 0.5), one draw per sample;
* per frame, the GT box jittered (size x exp(N(0,1) * scale_jitter), centre + sqrt(jittered area) *
  center_jitter * U(-0.5, 0.5); train 3 / 0.25, test 4.5 (5.5) / 0.5) and cropped with ltr's
  ``sample_target_adaptive`` arithmetic (square side ``ceil(sqrt(w h) * search_area_factor)``,
  'inside_major' shrinking by at most ``max_scale_change``, shifted into the image, integer corners,
  replicate padding with ltr's one-pixel quirk at the right / bottom border), resized bilinearly to
  ``output_sz``; the GT mapped with ``transform_box_to_crop``;
* per split: brightness factor U(0.8, 1.2) (one per split and sample, ``ToTensorAndJitter``),
  SuperDiMP / TrDiMP a second horizontal flip (p 0.5, per split), ImageNet normalisation;
* test labels ``gaussian_label_function(sigma 1/4/search_area_factor, kernel 4, end_pad_if_even)``,
  IoU-Net proposals on the test frames: 128 GMM proposals + densities (KL, SuperDiMP / TrDiMP) or 8
  ``perturb_box`` boxes with target 2 IoU - 1 (DiMP-50).

Loss: ``net(train, test, train_bb, proposals)`` -> one score map per filter iterate; LBHinge
(threshold 0.05) on each: ``100 L(final) + 100 L(initial) + 400 / (n - 2) * sum L(intermediate)``;
plus ``0.01 * KLRegression`` (SuperDiMP / TrDiMP) or ``1 * MSE`` (DiMP-50) of the IoU-Net.

Where it differs from ltr, on purpose: crops are made on the device in one batched op (the
tracker's :func:`~pytracking_slt.tracker.dimp.sampling.sample_patches`, PyTorch bilinear taps) instead
of per frame with cv2 in the workers; the crop is rounded to uint8 as cv2 returns it, so pixels agree
to about one grey level (cv2's fixed-point weights). Randomness comes from ``generator`` (default:
torch's global RNG, which the trainer checkpoints), not numpy's per-worker state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltr_slt.actors.base import NetActor
from ltr_slt.actors.transt_flt import jitter_boxes
from ltr_slt.data.crop import FrameBuffer
from ltr_slt.models.dimp.labels import gaussian_label_function
from ltr_slt.models.loss.iou_regression import (ATOM_SIGMA_FACTORS, GMM_GT_SIGMA, GMM_PROPOSAL_SIGMA,
                                                kl_regression_per_frame, perturb_boxes, sample_box_gmm)
from pytracking_slt.tracker.dimp.sampling import PatchGeometry, normalize_patches, sample_patches

__all__ = ["DiMPProcessingSettings", "DiMPFLTActor", "ltr_crop_boxes", "crop_frames", "lbhinge_loss",
           "FAMILY_PROCESSING"]


@dataclass
class DiMPProcessingSettings:
    """Data processing + loss weights of one family's ltr train settings (defaults: SuperDiMP / TrDiMP)."""

    search_area_factor: float = 6.0
    output_sz: int = 352
    feature_stride: int = 16
    center_jitter_factor: Dict[str, float] = field(default_factory=lambda: {"train": 3.0, "test": 5.5})
    scale_jitter_factor: Dict[str, float] = field(default_factory=lambda: {"train": 0.25, "test": 0.5})
    crop_type: str = "inside_major"
    max_scale_change: Optional[float] = 1.5
    grayscale_probability: float = 0.05
    brightness_jitter: float = 0.2
    hflip_joint_probability: float = 0.5
    hflip_split_probability: float = 0.5
    output_sigma_factor: float = 0.25
    target_filter_sz: int = 4
    hinge_threshold: float = 0.05
    iou_loss: str = "kl"                       # 'kl' (SuperDiMP / TrDiMP) or 'mse' (DiMP-50)
    num_proposals: int = 128
    proposal_sigma: Tuple[Tuple[float, float], ...] = GMM_PROPOSAL_SIGMA
    gt_sigma: Tuple[float, float] = GMM_GT_SIGMA
    proposal_min_iou: float = 0.1
    proposal_sigma_factors: Tuple[float, ...] = ATOM_SIGMA_FACTORS
    loss_weight: Dict[str, float] = field(default_factory=lambda: {"bb_ce": 0.01, "test_clf": 100.0,
                                                                   "test_init_clf": 100.0, "test_iter_clf": 400.0})

    @classmethod
    def for_family(cls, family: str, settings: Any = None) -> "DiMPProcessingSettings":
        """The family's official values, each overridable by a settings attribute of the same name."""
        if family not in FAMILY_PROCESSING:
            raise ValueError(f"unknown DiMP family '{family}' (known: {sorted(FAMILY_PROCESSING)})")
        values = dict(FAMILY_PROCESSING[family])
        if settings is not None:
            get = settings.get if hasattr(settings, "get") else (lambda k, d=None: getattr(settings, k, d))
            for name in cls.__dataclass_fields__:
                v = get(name, None)
                if v is not None:
                    values[name] = v
        out = cls(**values)
        if out.crop_type not in ("replicate", "inside", "inside_major"):
            raise ValueError(f"crop_type={out.crop_type!r}: expected 'replicate', 'inside' or 'inside_major'")
        if out.iou_loss not in ("kl", "mse"):
            raise ValueError(f"iou_loss={out.iou_loss!r}: expected 'kl' or 'mse'")
        if out.output_sz % out.feature_stride:
            raise ValueError(f"output_sz={out.output_sz} must be a multiple of feature_stride={out.feature_stride}")
        return out

    @property
    def feature_sz(self) -> int:
        return self.output_sz // self.feature_stride


_DIMP50_LOSS = {"iou": 1.0, "test_clf": 100.0, "test_init_clf": 100.0, "test_iter_clf": 400.0}
FAMILY_PROCESSING: Dict[str, Dict[str, Any]] = {
    # ltr/train_settings/dimp/dimp50.py
    "dimp50": dict(search_area_factor=5.0, output_sz=288, center_jitter_factor={"train": 3.0, "test": 4.5},
                   crop_type="replicate", max_scale_change=None, hflip_joint_probability=0.0,
                   hflip_split_probability=0.0, iou_loss="mse", num_proposals=8, loss_weight=_DIMP50_LOSS),
    # ltr/train_settings/dimp/super_dimp.py; TransformerTrack's transformer_dimp.py has the same processing
    "super_dimp": {},
    "trdimp": {},
}


# ------------------------------------------------------------------------------------------------
# crops (ltr processing_utils.sample_target_adaptive / transform_box_to_crop)
# ------------------------------------------------------------------------------------------------
def ltr_crop_boxes(boxes: torch.Tensor, image_hw: Sequence[Tuple[int, int]], search_area_factor: float,
                   output_sz: int, mode: str = "replicate", max_scale_change: Optional[float] = None) -> torch.Tensor:
    """Crop regions of ltr's ``sample_target_adaptive``: extract boxes xywh ``[B, 4]`` -> ``[B, 4]`` integer
    crop boxes (x1, y1, w, h) in image pixels (the region may extend outside the image)."""
    if max_scale_change is None:
        max_scale_change = float("inf")
    out = torch.tensor([float(output_sz)] * 2)  # ltr computes the side in float32
    crops: List[List[int]] = []
    for box, (im_h, im_w) in zip(boxes.tolist(), image_hw):
        bbx, bby, bbw, bbh = box
        wh = torch.tensor([bbw, bbh], dtype=torch.float32)
        side = (out * (wh.prod() / out.prod()).sqrt() * search_area_factor).ceil().long().tolist()
        csx, csy = int(side[0]), int(side[1])
        if mode in ("inside", "inside_major"):
            rf = [csx / im_w, csy / im_h]
            r = max(rf) if mode == "inside" else min(rf)
            r = min(max(1, r), max_scale_change)
            csx, csy = math.floor(csx / r), math.floor(csy / r)
        if csx < 1 or csy < 1:
            raise ValueError(f"DiMP FLT crop: box {box} is too small for a crop (side {csx} x {csy})")
        x1 = round(bbx + 0.5 * bbw - csx * 0.5)
        y1 = round(bby + 0.5 * bbh - csy * 0.5)
        x2, y2 = x1 + csx, y1 + csy
        sx = max(0, -x1) + min(0, im_w - x2)  # move the crop inside the image ...
        sy = max(0, -y1) + min(0, im_h - y2)
        x1, x2, y1, y2 = x1 + sx, x2 + sx, y1 + sy, y2 + sy
        ox = (max(0, -x1) + max(0, x2 - im_w)) // 2  # ... and centre it when it is larger than the image
        oy = (max(0, -y1) + max(0, y2 - im_h)) // 2
        sx, sy = (-x1 - ox) * (ox > 0), (-y1 - oy) * (oy > 0)
        crops.append([x1 + sx, y1 + sy, csx, csy])
    return torch.tensor(crops, dtype=torch.float32)


def crop_frames(buf: FrameBuffer, image_index: torch.Tensor, crop_boxes: torch.Tensor, output_sz: int) -> torch.Tensor:
    """The crop regions ``[B, 4]`` (x1, y1, w, h; integer) of frames ``image_index`` -> uint8 ``[B, 3, S, S]``.

    Replicate padding as ltr's ``cv.copyMakeBorder``, including its pad of ``x2 - W + 1`` columns (the
    image's last column / row is replaced by the one before whenever the crop reaches the border):
    the tracker's gather with a (H - 1, W - 1) clamp limit gives exactly that.
    """
    dev = buf.device
    c = crop_boxes.to(dev)
    hw = torch.stack([buf.heights[image_index], buf.widths[image_index]], 1)  # [B, 2]
    geom = PatchGeometry(tl=torch.stack([c[:, 1], c[:, 0]], 1), br=torch.stack([c[:, 1] + c[:, 3], c[:, 0] + c[:, 2]], 1),
                         df=torch.ones(len(c), dtype=torch.long, device=dev),
                         offset=torch.zeros(len(c), 2, dtype=torch.long, device=dev),
                         strided_size=(hw - 1).clamp(min=1))
    patches = sample_patches(buf, image_index.to(dev), geom, output_sz)
    return patches.round_().clamp_(0, 255).to(torch.uint8)


def box_to_crop(boxes: torch.Tensor, crop_boxes: torch.Tensor, output_sz: int) -> torch.Tensor:
    """ltr ``transform_box_to_crop``: image boxes xywh ``[B, 4]`` -> crop pixels (per-axis scale)."""
    scale = float(output_sz) / crop_boxes[:, 2:]
    return torch.cat([(boxes[:, :2] - crop_boxes[:, :2]) * scale, boxes[:, 2:] * scale], 1)


def lbhinge_loss(scores: torch.Tensor, label: torch.Tensor, threshold: float = 0.05) -> torch.Tensor:
    """ltr ``LBHinge``: where label < threshold the prediction is relu'd and the target is 0; MSE (mean)."""
    negative = (label < threshold).to(scores.dtype)
    positive = 1.0 - negative
    pred = negative * F.relu(scores) + positive * scores
    return F.mse_loss(pred, positive * label)


# ------------------------------------------------------------------------------------------------
# the actor
# ------------------------------------------------------------------------------------------------
class DiMPFLTActor(NetActor):
    """``actor(frame_sets) -> (loss, stats)`` for DiMP-family frame-level training (ltr actor protocol).

    ``frame_sets``: a list of :class:`~ltr_slt.data.frame_set_sampler.FrameSet` (or anything with
    ``train_images`` / ``train_boxes`` / ``test_images`` / ``test_boxes``), all with the same numbers of
    train and test frames. Stats use ltr's names (``Loss/total``, ``Loss/iou`` or ``Loss/bb_ce``,
    ``Loss/target_clf``, ``Loss/test_init_clf``, ``Loss/test_iter_clf``, ``ClfTrain/test_loss``,
    ``ClfTrain/test_init_loss``, ``ClfTrain/test_iter_loss``) plus ``ClfTrain/peak_dist``: the distance
    in feature cells between the final score map's maximum and the label's peak.
    """

    def __init__(self, net: nn.Module, processing: DiMPProcessingSettings,
                 generator: Optional[torch.Generator] = None) -> None:
        self.net = net
        self.p = processing
        self.generator = generator

    # -- data ---------------------------------------------------------------------------------
    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator)

    def _split(self, images: List[np.ndarray], boxes: torch.Tensor, flip: torch.Tensor, split: str
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """One split of all samples: frames [B*N] (sample-major), GT [B*N, 4] -> uint8 crops, GT in crops."""
        p = self.p
        hw = [(int(im.shape[0]), int(im.shape[1])) for im in images]
        widths = torch.tensor([w for _, w in hw], dtype=torch.float64)
        gt = boxes.clone()
        gt[:, 0] = torch.where(flip, widths - gt[:, 0] - gt[:, 2], gt[:, 0])  # joint flip of the full frame
        jit = jitter_boxes(gt, float(p.center_jitter_factor[split]), float(p.scale_jitter_factor[split]),
                           self.generator)
        crop_boxes = ltr_crop_boxes(jit, hw, p.search_area_factor, p.output_sz, p.crop_type, p.max_scale_change)
        frames = [np.ascontiguousarray(im[:, ::-1]) if bool(f) else im for im, f in zip(images, flip.tolist())]
        buf = FrameBuffer.from_images(frames, device=self.device)
        crops = crop_frames(buf, torch.arange(len(frames), device=self.device), crop_boxes, p.output_sz)
        return crops, box_to_crop(gt.float(), crop_boxes, p.output_sz)

    def _photometric(self, crops: torch.Tensor, gray: torch.Tensor, b: int, n: int) -> torch.Tensor:
        """uint8 [B*N, 3, S, S] -> float 0..255 with joint grayscale and one brightness factor per (sample, split)."""
        x = crops.float()
        if bool(gray.any()):
            w = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
            g = (x * w).sum(1, keepdim=True).round_().expand_as(x)  # cv2 RGB2GRAY, uint8
            x = torch.where(gray.repeat_interleave(n).to(x.device).view(-1, 1, 1, 1), g, x)
        if self.p.brightness_jitter > 0:
            lo, hi = max(0.0, 1.0 - self.p.brightness_jitter), 1.0 + self.p.brightness_jitter
            factor = (lo + (hi - lo) * self._rand(b)).repeat_interleave(n).to(x.device)
            x = (x * factor.view(-1, 1, 1, 1)).clamp_(0.0, 255.0)
        return x

    def _split_flip(self, x: torch.Tensor, gt: torch.Tensor, b: int, n: int) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.p.hflip_split_probability <= 0:
            return x, gt
        flip = (self._rand(b) < self.p.hflip_split_probability).repeat_interleave(n)
        if not bool(flip.any()):
            return x, gt
        fd = flip.to(x.device)
        x = torch.where(fd.view(-1, 1, 1, 1), x.flip(-1), x)
        gt = gt.clone()
        gt[:, 0] = torch.where(flip.to(gt.device), self.p.output_sz - gt[:, 0] - gt[:, 2], gt[:, 0])
        return x, gt

    def prepare(self, frame_sets: Sequence[Any]) -> Dict[str, torch.Tensor]:
        """Crops, labels and proposals of a batch, ltr's stacking ``[frames, batch, ...]`` (``stack_dim=1``).

        Returns ``train_images`` [K,B,3,S,S], ``test_images`` [M,B,3,S,S] (normalised), ``train_anno``
        [K,B,4], ``test_anno`` [M,B,4] (crop pixels, xywh), ``test_label`` [M,B,h,w], ``test_proposals``
        [M,B,P,4] and ``proposal_density`` / ``gt_density`` (KL) or ``proposal_iou`` (MSE) [M,B,P].
        """
        if len(frame_sets) == 0:
            raise ValueError("DiMP FLT batch is empty")
        k, m = len(frame_sets[0].train_images), len(frame_sets[0].test_images)
        for i, fs in enumerate(frame_sets):
            if len(fs.train_images) != k or len(fs.test_images) != m:
                raise ValueError(f"DiMP FLT batch: sample {i} has {len(fs.train_images)} train / {len(fs.test_images)} "
                                 f"test frames, sample 0 has {k} / {m} (the sampler must use fixed numbers)")
        b, p, dev = len(frame_sets), self.p, self.device
        gray = self._rand(b) < p.grayscale_probability         # joint transform: one draw per sample
        flip = self._rand(b) < p.hflip_joint_probability
        out: Dict[str, torch.Tensor] = {}
        for split, n in (("train", k), ("test", m)):
            images = [im for fs in frame_sets for im in getattr(fs, f"{split}_images")]
            boxes = torch.as_tensor(np.concatenate([np.asarray(getattr(fs, f"{split}_boxes"), dtype=np.float64)
                                                    .reshape(n, 4) for fs in frame_sets]))
            bad = ~torch.isfinite(boxes).all(1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
            if bool(bad.any()):
                i = int(torch.nonzero(bad)[0])
                raise ValueError(f"DiMP FLT batch: sample {i // n} {split}_boxes[{i % n}] = {boxes[i].tolist()} is not "
                                 "a valid xywh box (the sampler must only return visible frames)")
            crops, gt = self._split(images, boxes, flip.repeat_interleave(n), split)
            x = self._photometric(crops, gray, b, n)
            x, gt = self._split_flip(x, gt.to(dev), b, n)
            # sample-major [B*N] -> ltr's [N, B, ...]
            out[f"{split}_images"] = normalize_patches(x).view(b, n, *x.shape[1:]).transpose(0, 1)
            out[f"{split}_anno"] = gt.view(b, n, 4).transpose(0, 1).contiguous()
        test = out["test_anno"].reshape(-1, 4)
        label = gaussian_label_function(test, p.output_sigma_factor / p.search_area_factor, p.target_filter_sz,
                                        p.feature_sz, p.output_sz, end_pad_if_even=True)
        out["test_label"] = label.view(m, b, *label.shape[-2:])
        if p.iou_loss == "kl":
            props, q, g = sample_box_gmm(test, p.num_proposals, p.proposal_sigma, p.gt_sigma, self.generator)
            out["proposal_density"], out["gt_density"] = q.view(m, b, -1), g.view(m, b, -1)
        else:
            props, iou = perturb_boxes(test, p.num_proposals, p.proposal_min_iou, p.proposal_sigma_factors,
                                       generator=self.generator)
            out["proposal_iou"] = iou.view(m, b, -1)
        out["test_proposals"] = props.view(m, b, -1, 4)
        return out

    # -- loss -----------------------------------------------------------------------------------
    def __call__(self, frame_sets: Sequence[Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        data = self.prepare(frame_sets)
        scores, iou_pred = self.net(data["train_images"], data["test_images"], data["train_anno"],
                                    data["test_proposals"])
        return self.loss(scores, iou_pred, data)

    def loss(self, scores: Sequence[torch.Tensor], iou_pred: torch.Tensor, data: Dict[str, torch.Tensor]
             ) -> Tuple[torch.Tensor, Dict[str, float]]:
        """ltr's DiMPActor / KLDiMPActor weighting of the classification and IoU terms."""
        w = self.p.loss_weight
        if self.p.iou_loss == "kl":
            name, key = "Loss/bb_ce", "bb_ce"
            iou_term = kl_regression_per_frame(iou_pred.reshape(-1, iou_pred.shape[-1]),
                                               data["proposal_density"].reshape(-1, iou_pred.shape[-1]),
                                               data["gt_density"].reshape(-1, iou_pred.shape[-1])).mean()
        else:
            name, key = "Loss/iou", "iou"
            iou_term = F.mse_loss(iou_pred.float(), data["proposal_iou"].float())
        clf = [lbhinge_loss(s, data["test_label"], self.p.hinge_threshold) for s in scores]
        target_clf = w.get("test_clf", 1.0) * clf[-1]
        total = w.get(key, 1.0) * iou_term + target_clf
        stats: Dict[str, float] = {name: float(iou_term.detach()), "Loss/target_clf": float(target_clf.detach()),
                                   "ClfTrain/test_loss": float(clf[-1].detach())}
        if "test_init_clf" in w:
            init = w["test_init_clf"] * clf[0]
            total = total + init
            stats["Loss/test_init_clf"] = float(init.detach())
            stats["ClfTrain/test_init_loss"] = float(clf[0].detach())
        if "test_iter_clf" in w and len(clf) > 2:
            it = (w["test_iter_clf"] / (len(clf) - 2)) * sum(clf[1:-1])
            total = total + it
            stats["Loss/test_iter_clf"] = float(it.detach())
            stats["ClfTrain/test_iter_loss"] = float((sum(clf[1:-1]) / (len(clf) - 2)).detach())
        stats["Loss/total"] = float(total.detach())
        stats["ClfTrain/peak_dist"] = float(self.peak_distance(scores[-1], data["test_label"]).mean())
        return total, stats

    @staticmethod
    @torch.no_grad()
    def peak_distance(scores: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Distance (feature cells) between each score map's argmax and its label's peak: ``[...]``."""
        w = scores.shape[-1]
        a = scores.detach().flatten(-2).argmax(-1)
        b = label.flatten(-2).argmax(-1)
        dy = torch.div(a, w, rounding_mode="floor") - torch.div(b, w, rounding_mode="floor")
        return torch.sqrt((dy.float() ** 2) + ((a % w - b % w).float() ** 2))
