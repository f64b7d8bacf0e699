"""Spatial sequence augmentation (SA): ONE random draw per clip, applied to every frame and box.

Why: the paper's SA is temporal (random intervals, see :mod:`ltr_slt.data.sampler`). A spatial
augmentation for sequences must keep the clip a coherent video: if each frame got its own shift or
scale (as pysot's ``Augmentation`` does when it extends short clips) the target would jitter
between frames in a way no real video does, and the sequence-level reward would be measuring that
jitter. So :class:`SequenceAugmentation` draws shift / scale / flip / colour / blur / grayscale
once per clip and applies the same transform to the template and all search frames and boxes.

It is off by default (``SequenceSampler(spatial_augmentation=None)``); pass an instance to
compare temporal-only against temporal + spatial SA. Called as ``aug(clip, rng) -> Clip`` with a
``numpy.random.Generator`` (the sampler passes the item's own generator, so results are
reproducible). Boxes are mapped exactly (affine), then clipped to the image as annotators do;
a search box that leaves the image entirely is marked not visible.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from ltr_slt.data.clip import Clip

__all__ = ["SequenceAugmentation", "AugmentationParams"]


@dataclass
class AugmentationParams:
    """One clip's draw (kept on the clip-level so it can be logged / tested)."""
    scale: float = 1.0                 # isotropic zoom about the image centre
    shift: Tuple[float, float] = (0.0, 0.0)   # translation in pixels (after scaling)
    flip: bool = False                 # horizontal flip
    gains: Optional[np.ndarray] = None  # [3] per-channel colour gains, None = unchanged
    blur_sigma: float = 0.0            # Gaussian blur sigma in pixels, 0 = none
    grayscale: bool = False

    def matrix(self, width: int, height: int) -> np.ndarray:
        """[2, 3] affine image -> augmented image (flip, then zoom about the centre, then shift)."""
        cx, cy = width / 2.0, height / 2.0
        a = -self.scale if self.flip else self.scale
        return np.array([[a, 0.0, cx - a * cx + self.shift[0]],
                         [0.0, self.scale, cy - self.scale * cy + self.shift[1]]], dtype=np.float64)

    def cv_matrix(self, width: int, height: int) -> np.ndarray:
        """:meth:`matrix` for OpenCV, whose pixel i sits at coordinate i (ours spans [i, i + 1))."""
        m = self.matrix(width, height)
        m[0, 2] += 0.5 * m[0, 0] - 0.5
        m[1, 2] += 0.5 * m[1, 1] - 0.5
        return m


class SequenceAugmentation:
    """Clip-consistent spatial + photometric augmentation.

    shift: max translation as a fraction of the image side; scale: max relative zoom change
    (``1 +- scale``); flip_prob; color_prob / color_std: per-channel gains ``N(1, color_std)``;
    blur_prob / blur_sigma: Gaussian blur with sigma in ``blur_sigma``; grayscale_prob. Defaults
    follow pysot's SLT-SiamAttn values where they exist (shift 0.1, scale 0.2, blur 0.2, colour 0.5)
    and ltr's grayscale probability (0.05).
    """

    def __init__(self, shift: float = 0.1, scale: float = 0.2, flip_prob: float = 0.0, color_prob: float = 0.5,
                 color_std: float = 0.1, blur_prob: float = 0.2, blur_sigma: Tuple[float, float] = (0.5, 1.5),
                 grayscale_prob: float = 0.05, keep_template_inside: bool = True) -> None:
        for name, value in (("flip_prob", flip_prob), ("color_prob", color_prob), ("blur_prob", blur_prob),
                            ("grayscale_prob", grayscale_prob)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"SequenceAugmentation.{name} must be in [0, 1], got {value}")
        if not 0.0 <= scale < 1.0 or shift < 0.0:
            raise ValueError(f"SequenceAugmentation: need 0 <= scale < 1 and shift >= 0, got {scale}, {shift}")
        self.shift, self.scale, self.flip_prob = float(shift), float(scale), float(flip_prob)
        self.color_prob, self.color_std = float(color_prob), float(color_std)
        self.blur_prob, self.blur_sigma = float(blur_prob), tuple(blur_sigma)
        self.grayscale_prob = float(grayscale_prob)
        self.keep_template_inside = bool(keep_template_inside)

    def __repr__(self) -> str:
        return (f"SequenceAugmentation(shift={self.shift}, scale={self.scale}, flip_prob={self.flip_prob}, "
                f"color_prob={self.color_prob}, blur_prob={self.blur_prob}, grayscale_prob={self.grayscale_prob})")

    # ------------------------------------------------------------------ draw
    def draw(self, rng: np.random.Generator, width: int, height: int,
             keep_inside: Optional[np.ndarray] = None) -> AugmentationParams:
        """One draw; ``keep_inside`` [K, 4] xywh boxes are kept inside the image (shift clamped)."""
        scale = 1.0 + float(rng.uniform(-1, 1)) * self.scale
        shift = np.array([rng.uniform(-1, 1) * self.shift * width, rng.uniform(-1, 1) * self.shift * height])
        flip = bool(rng.random() < self.flip_prob)
        gains = (np.clip(1.0 + rng.normal(0, self.color_std, size=3), 0.5, 1.5).astype(np.float32)
                 if rng.random() < self.color_prob else None)
        blur = float(rng.uniform(*self.blur_sigma)) if rng.random() < self.blur_prob else 0.0
        gray = bool(rng.random() < self.grayscale_prob)
        params = AugmentationParams(scale, (float(shift[0]), float(shift[1])), flip, gains, blur, gray)
        if keep_inside is not None and len(keep_inside):
            boxes = _map_boxes(np.asarray(keep_inside, dtype=np.float64).reshape(-1, 4), params.matrix(width, height))
            # shift correction d keeping the boxes inside: d in [lower, upper] per axis (centred if they can't fit)
            lower = -boxes[:, :2].min(axis=0)
            upper = np.array([width, height]) - (boxes[:, :2] + boxes[:, 2:]).max(axis=0)
            d = np.where(lower <= upper, np.clip(0.0, lower, upper), (lower + upper) / 2)
            params.shift = (params.shift[0] + float(d[0]), params.shift[1] + float(d[1]))
        return params

    # ------------------------------------------------------------------ apply
    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        h, w = clip.search_images[0].shape[:2]
        anchor = np.asarray(clip.template_boxes, dtype=np.float64).reshape(-1, 4)
        if self.keep_template_inside:
            anchor = np.concatenate([anchor, np.asarray(clip.search_boxes, dtype=np.float64).reshape(-1, 4)[:1]])
        params = self.draw(rng, w, h, anchor if self.keep_template_inside else None)
        return self.apply(clip, params)

    def apply(self, clip: Clip, params: AugmentationParams) -> Clip:
        """The same transform on every frame and box of ``clip`` (returns a new Clip)."""
        fill = tuple(float(c) for c in np.asarray(clip.template_images[0]).reshape(-1, 3).mean(axis=0))
        template_images = [self._image(img, params, fill) for img in clip.template_images]
        search_images = [self._image(img, params, fill) for img in clip.search_images]
        h, w = clip.search_images[0].shape[:2]
        m = params.matrix(w, h)
        template_boxes = _clip_boxes(_map_boxes(np.asarray(clip.template_boxes, np.float64).reshape(-1, 4), m), w, h)
        search_boxes = _clip_boxes(_map_boxes(np.asarray(clip.search_boxes, np.float64).reshape(-1, 4), m), w, h)
        visible = np.asarray(clip.search_visible, dtype=bool) & (search_boxes[:, 2] >= 1) & (search_boxes[:, 3] >= 1)
        return dataclasses.replace(clip, template_images=template_images,
                                   template_boxes=template_boxes.astype(np.float32), search_images=search_images,
                                   search_boxes=search_boxes.astype(np.float32), search_visible=visible)

    @staticmethod
    def _image(img: np.ndarray, params: AugmentationParams, fill: Tuple[float, ...]) -> np.ndarray:
        h, w = img.shape[:2]
        out = img
        if params.scale != 1.0 or params.shift != (0.0, 0.0) or params.flip:
            out = cv2.warpAffine(img, params.cv_matrix(w, h), (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
        if params.gains is not None:
            out = np.clip(out.astype(np.float32) * params.gains, 0, 255).astype(np.uint8)
        if params.blur_sigma > 0:
            out = cv2.GaussianBlur(out, (0, 0), params.blur_sigma)
        if params.grayscale:
            gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
            out = np.stack([gray] * 3, axis=-1)
        return np.ascontiguousarray(out)


def _map_boxes(boxes: np.ndarray, m: np.ndarray) -> np.ndarray:
    """[K, 4] xywh through the [2, 3] affine (axis-aligned zoom/flip/shift: exact)."""
    x0 = boxes[:, 0] * m[0, 0] + m[0, 2]
    x1 = (boxes[:, 0] + boxes[:, 2]) * m[0, 0] + m[0, 2]
    y0 = boxes[:, 1] * m[1, 1] + m[1, 2]
    y1 = (boxes[:, 1] + boxes[:, 3]) * m[1, 1] + m[1, 2]
    xa, xb = np.minimum(x0, x1), np.maximum(x0, x1)
    return np.stack([xa, y0, xb - xa, y1 - y0], axis=1)


def _clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    x0 = np.clip(boxes[:, 0], 0, width)
    y0 = np.clip(boxes[:, 1], 0, height)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)

