"""DiMP-family image sampling, batched on the device: ``sample_patch`` geometry, crops, init augmentations.

pytracking's ``sample_patch`` (``architectures.md`` 7.2, "Patch sampling") crops ONE window per call
with ``F.pad`` (replicate) and ``F.interpolate`` (bilinear, ``align_corners=False``). Here the same
arithmetic runs for B windows at once: :func:`patch_geometry` reproduces the float32 corner maths
(strided pre-downsampling ``df``, ``inside`` / ``inside_major`` shifting and shrinking with
``max_scale_change``, the ``int()`` truncation of the pads), and :func:`sample_patches` evaluates the
padded-then-resized patch directly from the uint8 frames with one gather: patch row ``r`` is image
row ``os + df * clamp(r + trunc(tl), 0, H2 - 1)`` (replicate padding of the strided image), and the
bilinear taps are PyTorch's (``src = (dst + 0.5) * in / out - 0.5``, clamped at 0, upper neighbour
clamped to the last row). Values are float 0..255 like pytracking's patches.

The initial augmentations (:func:`augment_init_patches`) act on one expanded patch per sequence, as
pytracking's ``sample_patch_transformed``: identity, translations, horizontal flip, separable
Gaussian blurs (zero padded), rotations (``cv2.warpAffine`` with replicate border, on the CPU exactly
as pytracking), each followed by ``crop_to_output`` with its shift.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ltr_slt.data.crop import IMAGENET_MEAN, IMAGENET_STD, FrameBuffer

__all__ = ["PatchGeometry", "patch_geometry", "sample_patches", "normalize_patches", "Transform",
           "build_init_transforms", "augment_init_patches", "gaussian_label", "BORDER_MODES"]

BORDER_MODES = ("replicate", "inside", "inside_major")


@dataclass
class PatchGeometry:
    """Where each of B patches comes from (all tensors on the device)."""

    tl: torch.Tensor            # [B, 2] float32 (y, x) top-left in the strided image (may be fractional)
    br: torch.Tensor            # [B, 2] float32 bottom-right (exclusive, fractional)
    df: torch.Tensor            # [B] long pre-downsampling stride
    offset: torch.Tensor        # [B, 2] long (y, x) phase of the stride
    strided_size: torch.Tensor  # [B, 2] long (H2, W2) size of the strided image

    @property
    def patch_coords(self) -> torch.Tensor:
        """pytracking's ``patch_coord`` ``[B, 4]`` = ``df * (tl, br)`` in image pixels (y0, x0, y1, x1)."""
        return self.df[:, None].float() * torch.cat([self.tl, self.br], dim=1)

    def sample_location(self, img_sample_sz: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``get_sample_location``: centre ``[B, 2]`` (y, x) and scale ``[B]`` of each patch."""
        c = self.patch_coords.float()
        pos = 0.5 * (c[:, :2] + c[:, 2:] - 1)
        scale = ((c[:, 2:] - c[:, :2]) / img_sample_sz).prod(dim=1).sqrt()
        return pos, scale


def patch_geometry(pos: torch.Tensor, sample_sz: torch.Tensor, output_sz: int, image_hw: torch.Tensor,
                   mode: str = "replicate", max_scale_change: Optional[float] = None) -> PatchGeometry:
    """pytracking ``sample_patch`` corner arithmetic for B windows (float32 like the original).

    Args:
        pos: ``[B, 2]`` float32 (y, x) window centres (truncated to integers first, as pytracking).
        sample_sz: ``[B, 2]`` float32 (h, w) window size in image pixels (``scale * img_sample_sz``).
        output_sz: side of the resized patch.
        image_hw: ``[B, 2]`` long (H, W) of each window's frame.
        mode: 'replicate', 'inside' or 'inside_major'.
        max_scale_change: largest shrink factor in the 'inside' modes (None: unbounded).
    """
    if mode not in BORDER_MODES:
        raise ValueError(f"border_mode must be one of {BORDER_MODES}, got {mode!r}")
    posl = pos.long()
    sample_sz = sample_sz.float()
    if mode in ("inside", "inside_major"):
        shrink = sample_sz / image_hw.float()
        shrink = shrink.max(dim=1)[0] if mode == "inside" else shrink.min(dim=1)[0]
        shrink = shrink.clamp(min=1.0) if max_scale_change is None else shrink.clamp(min=1.0, max=max_scale_change)
        sample_sz = (sample_sz / shrink[:, None]).long().float()
    resize_factor = (sample_sz / float(output_sz)).min(dim=1)[0]
    df = torch.trunc(resize_factor.double() - 0.1).clamp(min=1.0).long()  # int(max(int(rf - 0.1), 1))
    sz = sample_sz / df[:, None].float()
    offset = torch.where(df[:, None] > 1, torch.remainder(posl, df[:, None]), torch.zeros_like(posl))
    posf = ((posl - offset) / df[:, None]).float()
    strided = torch.div(image_hw - offset + df[:, None] - 1, df[:, None], rounding_mode="floor")  # len(range(os, H, df))
    szl = torch.clamp(torch.round(sz), min=2.0)
    tl = posf - (szl - 1) / 2
    br = posf + szl / 2 + 1
    if mode in ("inside", "inside_major"):
        im2 = strided.float()
        shift = (-tl).clamp(min=0) - (br - im2).clamp(min=0)
        tl, br = tl + shift, br + shift
        outside = torch.div((-tl).clamp(min=0) + (br - im2).clamp(min=0), 2, rounding_mode="floor")
        shift = (-tl - outside) * (outside > 0).float()
        tl, br = tl + shift, br + shift
    return PatchGeometry(tl=tl, br=br, df=df, offset=offset, strided_size=strided)


def _axis_taps(tl: torch.Tensor, br: torch.Tensor, limit: torch.Tensor, df: torch.Tensor, offset: torch.Tensor,
               out: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """One axis: image indices ``[B, 2, out]`` and bilinear weights ``[B, 2, out]`` of every output pixel."""
    start = torch.trunc(tl).long()                      # first patch row = trunc(tl) (F.pad with int(-tl))
    size = torch.trunc(br).long() - start               # patch length
    if bool((size < 1).any()):
        raise ValueError(f"sample_patch: empty patch (sizes {size.tolist()})")
    dst = torch.arange(out, device=tl.device, dtype=torch.float32)
    scale = size.float()[:, None] / float(out)          # PyTorch: (float) in / out
    src = (scale * (dst[None] + 0.5) - 0.5).clamp(min=0.0)  # [B, out]
    i0 = src.long()
    lam1 = src - i0.float()
    i1 = i0 + (i0 < (size[:, None] - 1)).long()
    same = size[:, None] == out                         # no resampling: exact copy
    lam1 = torch.where(same, torch.zeros_like(lam1), lam1)
    i0 = torch.where(same, dst[None].long().expand_as(i0), i0)
    i1 = torch.where(same, i0, i1)
    idx = torch.stack([i0, i1], 1) + start[:, None, None]   # strided-image index
    idx = torch.minimum(idx.clamp(min=0), (limit - 1)[:, None, None])  # replicate padding
    idx = offset[:, None, None] + df[:, None, None] * idx   # full-image index
    return idx, torch.stack([1.0 - lam1, lam1], 1)


def _sample_patches_cpu(buf: FrameBuffer, image_index: torch.Tensor, geom: PatchGeometry, S: int) -> torch.Tensor:
    """CPU path: per window, the replicate-padded strided patch (two index_selects on the uint8 frame)
    resized by ``F.interpolate`` itself; cheaper than the gather on the CPU, same values."""
    out = []
    geo = torch.stack([buf.offsets, buf.heights, buf.widths], 1).tolist()
    tl, br = torch.trunc(geom.tl).long().tolist(), torch.trunc(geom.br).long().tolist()
    for b, k in enumerate(image_index.tolist()):
        off, h, w = geo[k]
        frame = buf.images[k] if buf.images is not None else buf.pixels[off:off + h * w].view(h, w, 3)
        df, (oy, ox) = int(geom.df[b]), geom.offset[b].tolist()
        h2, w2 = geom.strided_size[b].tolist()
        rows = oy + df * torch.arange(tl[b][0], br[b][0]).clamp(0, h2 - 1)
        cols = ox + df * torch.arange(tl[b][1], br[b][1]).clamp(0, w2 - 1)
        if rows.numel() < 1 or cols.numel() < 1:
            raise ValueError(f"sample_patch: empty patch ({rows.numel()} x {cols.numel()})")
        patch = frame.index_select(0, rows).index_select(1, cols).permute(2, 0, 1)[None].float()
        if patch.shape[-2:] != (S, S):
            patch = F.interpolate(patch, [S, S], mode="bilinear", align_corners=False)
        out.append(patch)
    return torch.cat(out, 0)


def sample_patches(buf: FrameBuffer, image_index: torch.Tensor, geom: PatchGeometry, out_size: int,
                   backend: str = "auto") -> torch.Tensor:
    """The B patches of ``geom`` resized to ``out_size`` -> float32 ``[B, 3, S, S]`` in 0..255.

    ``backend``: 'gather' (one batched gather, any device), 'cpu' (per-window ``F.interpolate``),
    'auto' = 'cpu' on the CPU, 'gather' elsewhere.
    """
    S = int(out_size)
    if backend not in ("auto", "gather", "cpu"):
        raise ValueError(f"sample_patches: backend must be 'auto', 'gather' or 'cpu', got {backend!r}")
    if backend == "cpu" or (backend == "auto" and buf.device.type == "cpu"):
        return _sample_patches_cpu(buf, image_index, geom, S)
    ys, wy = _axis_taps(geom.tl[:, 0], geom.br[:, 0], geom.strided_size[:, 0], geom.df, geom.offset[:, 0], S)
    xs, wx = _axis_taps(geom.tl[:, 1], geom.br[:, 1], geom.strided_size[:, 1], geom.df, geom.offset[:, 1], S)
    W = buf.widths[image_index]
    rows = buf.offsets[image_index][:, None, None] + ys * W[:, None, None]  # [B, 2, S]
    flat = rows[:, :, :, None, None] + xs[:, None, None, :, :]  # [B, 2, S, 2, S]
    B = flat.shape[0]
    v = buf.pixels.index_select(0, flat.reshape(-1)).view(B, 2, S, 2, S, 3).float()
    wxb = wx[:, None, None, :, :, None]  # [B, 1, 1, 2, S, 1]
    cols = v[:, :, :, 0] * wxb[:, :, :, 0] + v[:, :, :, 1] * wxb[:, :, :, 1]  # [B, 2, S, S, 3]
    out = cols[:, 0] * wy[:, 0, :, None, None] + cols[:, 1] * wy[:, 1, :, None, None]  # [B, S, S, 3]
    return out.permute(0, 3, 1, 2).contiguous()


def normalize_patches(patches: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                      std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """0..255 float patches -> network input (pytracking's ``preprocess_image``: /255, minus mean, over std)."""
    m = torch.tensor(mean, dtype=patches.dtype, device=patches.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=patches.dtype, device=patches.device).view(1, 3, 1, 1)
    return (patches / 255.0 - m) / s


# ------------------------------------------------------------------------------------------------
# initial augmentations
# ------------------------------------------------------------------------------------------------
@dataclass
class Transform:
    """One initial augmentation: kind ('identity', 'translation', 'fliplr', 'blur', 'rotate', 'dropout'),
    its parameter (blur sigma (sy, sx) / rotation angle in degrees) and its integer shift (y, x)."""

    kind: str
    shift: Tuple[int, int] = (0, 0)
    param: Optional[Tuple[float, ...]] = None


def build_init_transforms(augmentation: dict, use_augmentation: bool, img_sample_sz: int,
                          random_shift_factor: float, generator: Optional[torch.Generator],
                          global_shift: Optional[torch.Tensor] = None) -> List[Transform]:
    """pytracking's transform list (``generate_init_samples``) for one sequence, in its order.

    Random shifts (flip, blurs, rotations) are ``long((rand(2) - 0.5) * img_sample_sz * factor + g)``,
    drawn from ``generator`` in that order; ``random_shift_factor = 0`` switches them off.
    ``global_shift`` ``g`` (float32 (y, x), border mode 'inside' only) is added to every shift.
    """
    sz = torch.tensor([float(img_sample_sz)] * 2)
    g = torch.zeros(2) if global_shift is None else global_shift.float().cpu()
    gl = g.long().tolist()

    def rand_shift() -> Tuple[int, int]:
        if random_shift_factor <= 0:
            return (0, 0)  # pytracking: shift None -> (0, 0), without the global shift
        r = torch.rand(2, generator=generator)
        s = ((r - 0.5) * sz * random_shift_factor + g).long().tolist()
        return (int(s[0]), int(s[1]))

    transforms = [Transform("identity", (int(gl[0]), int(gl[1])))]
    augs = augmentation if use_augmentation else {}
    for shift in augs.get("shift", []):
        transforms.append(Transform("translation", (int(shift[0]) + gl[0], int(shift[1]) + gl[1])))
    for shift in augs.get("relativeshift", []):
        s = (torch.tensor([float(v) for v in shift]) * sz / 2).long().tolist()
        transforms.append(Transform("translation", (int(s[0]) + gl[0], int(s[1]) + gl[1])))
    if augs.get("fliplr", False):
        transforms.append(Transform("fliplr", rand_shift()))
    for sigma in augs.get("blur", []):
        sig = (float(sigma), float(sigma)) if isinstance(sigma, (int, float)) else tuple(float(v) for v in sigma)
        transforms.append(Transform("blur", rand_shift(), sig))
    if "scale" in augs:
        raise ValueError("augmentation 'scale' is not supported by this tracker (no released parameter file uses it)")
    for angle in augs.get("rotate", []):
        transforms.append(Transform("rotate", rand_shift(), (float(angle),)))
    return transforms


def _crop_to_output(image: torch.Tensor, shift: Tuple[int, int], out: int) -> torch.Tensor:
    """``Transform.crop_to_output``: replicate-pad / crop ``[K, 3, h, w]`` to ``out`` with ``shift`` (y, x)."""
    h, w = image.shape[-2:]
    top = math.floor((out - h) / 2) + shift[0]
    left = math.floor((out - w) / 2) + shift[1]
    rows = (torch.arange(out, device=image.device) - top).clamp(0, h - 1)
    cols = (torch.arange(out, device=image.device) - left).clamp(0, w - 1)
    return image.index_select(-2, rows).index_select(-1, cols)


def _blur(image: torch.Tensor, sigma: Tuple[float, float]) -> torch.Tensor:
    """Separable Gaussian blur, zero padded, per channel (pytracking ``augmentation.Blur``)."""
    fs = [math.ceil(2 * s) for s in sigma]
    k = [torch.exp(-(torch.arange(-n, n + 1, dtype=torch.float32) ** 2) / (2 * s ** 2)) for n, s in zip(fs, sigma)]
    ky = (k[0] / k[0].sum()).view(1, 1, -1, 1).to(image.device)
    kx = (k[1] / k[1].sum()).view(1, 1, 1, -1).to(image.device)
    n, c, h, w = image.shape
    x = F.conv2d(image.reshape(-1, 1, h, w), ky, padding=(fs[0], 0))
    return F.conv2d(x, kx, padding=(0, fs[1])).reshape(n, c, h, w)


def _rotate(image: torch.Tensor, angle_deg: float) -> torch.Tensor:
    """Rotation about the patch centre with ``cv2.warpAffine`` (bilinear, replicate), on the CPU.

    pytracking's ``augmentation.Rotate``: ``c = (shape - 1) / 2``, ``R = [[cos, sin], [-sin, cos]]``,
    forward matrix ``[R | c - R c]``.
    """
    import cv2

    a = math.pi * angle_deg / 180
    im = np.ascontiguousarray(image[0].permute(1, 2, 0).detach().cpu().numpy())  # HWC float32
    c = (np.expand_dims(np.array(im.shape[:2]), 1) - 1) / 2
    R = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    H = np.concatenate([R, c - R @ c], 1)
    rot = cv2.warpAffine(im, H, im.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    return torch.from_numpy(rot).permute(2, 0, 1)[None].to(image.device)


def augment_init_patches(patch: torch.Tensor, transforms: Sequence[Transform], out: int) -> torch.Tensor:
    """One sequence's expanded patch ``[1, 3, E, E]`` -> its augmented samples ``[K, 3, out, out]``."""
    samples = []
    for t in transforms:
        if t.kind in ("identity", "translation", "dropout"):
            img = patch
        elif t.kind == "fliplr":
            img = patch.flip(3)
        elif t.kind == "blur":
            img = _blur(patch, t.param)
        elif t.kind == "rotate":
            img = _rotate(patch, t.param[0])
        else:
            raise ValueError(f"unknown augmentation {t.kind!r}")
        samples.append(_crop_to_output(img, t.shift, out))
    return torch.cat(samples, 0)


def gaussian_label(boxes: torch.Tensor, sigma_factor: float, kernel_sz: int, feat_sz: Tuple[int, int],
                   image_sz: Tuple[float, float], end_pad_if_even: bool = False) -> torch.Tensor:
    """ltr's ``gaussian_label_function`` for xywh boxes ``[n, 4]`` in sample pixels -> ``[n, H, W]``.

    Centre in cells ``feat * ((c - img/2) / img) + 0.5 * ((k + 1) % 2)``, grid
    ``arange(-(feat-1)/2, (feat+1)/2 + end_pad)``, ``sigma = sigma_factor * sqrt(H * W)``.
    """
    dev = boxes.device
    fh, fw = (int(feat_sz[0]), int(feat_sz[1]))
    ih, iw = (float(image_sz[0]), float(image_sz[1]))
    img = torch.tensor([iw, ih], dtype=torch.float32, device=dev)   # (x, y) like the box centre
    feat = torch.tensor([float(fw), float(fh)], dtype=torch.float32, device=dev)
    centre = boxes[:, :2] + 0.5 * boxes[:, 2:]
    c = feat * ((centre - img / 2) / img) + 0.5 * ((kernel_sz + 1) % 2)
    sigma = sigma_factor * math.sqrt(fh * fw)
    pad = int(kernel_sz % 2 == 0) if end_pad_if_even else 0
    gx = torch.arange(-(fw - 1) / 2, (fw + 1) / 2 + pad, device=dev, dtype=torch.float32)
    gy = torch.arange(-(fh - 1) / 2, (fh + 1) / 2 + pad, device=dev, dtype=torch.float32)
    ex = torch.exp(-1.0 / (2 * sigma ** 2) * (gx[None] - c[:, :1]) ** 2)  # [n, W]
    ey = torch.exp(-1.0 / (2 * sigma ** 2) * (gy[None] - c[:, 1:]) ** 2)  # [n, H]
    return ey[:, :, None] * ex[:, None, :]
