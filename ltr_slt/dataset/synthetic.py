"""Deterministic synthetic tracking sequences, written in the real LaSOT / GOT-10k layouts.

Why: the demo, the tests and the SLT ablations need tracking data with *exact* ground truth and the
situations sequence-level training is meant to fix, without downloads. Every sequence is written
in a real on-disk layout so the ordinary readers (:class:`ltr_slt.dataset.Lasot`,
:class:`ltr_slt.dataset.Got10k`, the evaluation readers) are exercised end to end.

What a sequence contains (every knob is a :class:`SyntheticConfig` field):

* a textured background (a random crop of a photograph bundled with scikit-image when it is
  installed, else a procedural texture) with a slow camera pan;
* a textured target (a crop of another photograph cut to a random shape) whose size and aspect
  ratio change smoothly, moving with momentum plus occasional fast bursts and abrupt jumps;
* ``num_distractors`` look-alikes (the *same* texture and shape, slightly tinted) on paths that
  cross the target's path at a random frame; they pass behind the target;
* an occluder that slides in, covers the target completely for a few frames and slides out
  (``occlusion_prob`` per sequence), and an out-of-view excursion (``out_of_view_prob``);
* frame-level motion blur (``blur_prob``, along the target's motion), and smooth plus abrupt
  illumination changes (``illumination``).

Ground truth (exact, from the rendered masks): the box is the tight pixel extent
``[x_min, y_min, x_max - x_min + 1, y_max - y_min + 1]`` of the target's pixels *inside the image*
(so it is clipped to the image, as annotators do); pixels hidden by the occluder still count (the
object is there). Flags: ``full_occlusion`` = target inside the image but none of its pixels
visible; ``out_of_view`` = no target pixel inside the image, and then the box is ``0,0,0,0``
(invalid, as in LaSOT where such boxes carry no meaning). GOT-10k's ``absence`` = either flag,
``cover`` = ceil(8 x visible fraction of the whole object) (0 only when nothing is visible),
``cut_by_image`` = part of the object lies outside the image. Frame 0 is always fully visible.

Attributes: each written folder also gets ``attributes.json`` in pytracking's attribute-JSON format
(``att_name_short``, ``att_name_long``, ``<sequence>: [short names]``) with the sequence-level
attributes of :data:`ATTRIBUTES` (full occlusion, out of view, distractors near the target, scale
variation, fast motion), so results can be broken down by them.

Determinism: sequence ``k`` depends only on ``(seed, k)`` and the config, never on how many
sequences are generated, so ``--num-seq 10`` is a prefix of ``--num-seq 100``.

CLI: ``python -m ltr_slt.dataset.synthetic --out DIR --layout lasot|got10k --num-seq N --seed S``
(see ``--help``); the same as the ``slt-synthetic`` console script.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# Photographs shipped inside the scikit-image wheel (no download needed), with the class name a
# target cut from them gets. Checked against skimage 0.26's data folder; missing files are skipped.
_PHOTOS: Dict[str, str] = {
    "astronaut.png": "astronaut", "chelsea.png": "cat", "coffee.png": "coffee", "rocket.jpg": "rocket",
    "motorcycle_left.png": "motorcycle", "hubble_deep_field.jpg": "galaxy", "retina.jpg": "retina",
    "camera.png": "cameraman", "brick.png": "brick", "grass.png": "grass", "gravel.png": "gravel",
}
_SHAPES = ("ellipse", "rectangle", "rounded", "diamond")
_SPRITE_RES = 64          # texture / mask resolution of a sprite before per-frame resizing


@dataclass
class SyntheticConfig:
    """Sizes, counts and difficulty knobs (fractions are of the image's shorter side / diagonal)."""
    num_frames: int = 100
    width: int = 320
    height: int = 240
    num_distractors: int = 2           # look-alikes per sequence (same texture and shape)
    distractor_prob: float = 1.0       # probability that each of them is there (< 1: some sequences have none)
    distractor_tint: float = 0.08      # std of the per-channel gain that tells look-alikes apart
    occlusion_prob: float = 0.5        # probability that a sequence has a full-occlusion event
    out_of_view_prob: float = 0.3      # probability that a sequence has an out-of-view excursion
    motion_speed: float = 0.015        # mean target speed, fraction of the image diagonal per frame
    fast_motion_prob: float = 0.3      # probability of a fast-motion burst (x3 speed) per sequence
    jump_prob: float = 0.02            # per-frame probability of an abrupt jump (teleport)
    target_size: Tuple[float, float] = (0.15, 0.3)   # initial target side range (of the shorter side)
    scale_change: float = 0.35         # amplitude of the log-scale oscillation
    aspect_change: float = 0.25        # amplitude of the log-aspect-ratio oscillation
    blur_prob: float = 0.1             # per-frame probability of motion blur
    illumination: float = 0.3          # amplitude of the smooth gain change (abrupt steps: half of it)
    camera_pan: float = 0.05           # background pan amplitude, fraction of the shorter side
    use_photos: bool = True            # scikit-image photographs when installed, else procedural
    jpeg_quality: int = 90

    def validate(self) -> "SyntheticConfig":
        if self.num_frames < 2:
            raise ValueError(f"SyntheticConfig.num_frames must be >= 2, got {self.num_frames}")
        if self.width < 32 or self.height < 32:
            raise ValueError(f"SyntheticConfig size must be at least 32x32, got {self.width}x{self.height}")
        if self.num_distractors < 0:
            raise ValueError(f"SyntheticConfig.num_distractors must be >= 0, got {self.num_distractors}")
        for name in ("occlusion_prob", "out_of_view_prob", "fast_motion_prob", "jump_prob", "blur_prob",
                     "distractor_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"SyntheticConfig.{name} must be in [0, 1], got {value}")
        lo, hi = self.target_size
        if not 0 < lo <= hi <= 0.8:
            raise ValueError(f"SyntheticConfig.target_size must satisfy 0 < lo <= hi <= 0.8, got {self.target_size}")
        return self


@dataclass
class SyntheticSequence:
    """One generated sequence held in memory (what the writers put on disk)."""
    index: int                           # k: the sequence depends only on (seed, k)
    class_name: str
    frames: List[np.ndarray]             # N x [H, W, 3] uint8 RGB
    boxes: np.ndarray                    # [N, 4] float32 xywh, tight and clipped; zeros when out of view
    full_occlusion: np.ndarray           # [N] bool
    out_of_view: np.ndarray              # [N] bool
    cover: np.ndarray                    # [N] int 0..8 (GOT-10k visible-ratio level)
    cut_by_image: np.ndarray             # [N] bool
    description: str = ""
    events: Dict[str, list] = field(default_factory=dict)
    target_masks: Optional[List[np.ndarray]] = None    # N x [H, W] bool: target pixels in the image
    visible_masks: Optional[List[np.ndarray]] = None   # N x [H, W] bool: the visible part of them

    @property
    def visible(self) -> np.ndarray:
        """[N] bool: the readers' notion (box valid, not occluded, not out of view)."""
        return ~(self.full_occlusion | self.out_of_view)

    @property
    def absence(self) -> np.ndarray:
        return self.full_occlusion | self.out_of_view


# ------------------------------------------------------------------------------------------------
# textures and sprites

def _photo_dir() -> Optional[str]:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(list(spec.submodule_search_locations)[0], "data")
    return folder if os.path.isdir(folder) else None


@functools.lru_cache(maxsize=None)
def _available_photos() -> Tuple[str, ...]:
    folder = _photo_dir()
    if folder is None:
        logger.info("scikit-image not installed: synthetic data uses procedural textures")
        return ()
    return tuple(name for name in sorted(_PHOTOS) if os.path.isfile(os.path.join(folder, name)))


@functools.lru_cache(maxsize=16)
def _load_photo(name: str) -> np.ndarray:
    path = os.path.join(_photo_dir() or "", name)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"could not read bundled photograph {path}")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    img.setflags(write=False)
    return img   # [H, W, 3] uint8 RGB


def _procedural_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth coloured blobs plus a few waves (1-6 cycles per image): structure to latch onto."""
    small = rng.random((int(rng.integers(3, 7)), int(rng.integers(3, 7)), 3)).astype(np.float32)
    base = 0.25 + 0.5 * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(3):
        angle = rng.uniform(0, np.pi)
        freq = 2 * np.pi * rng.uniform(1, 6) / math.hypot(w, h)
        phase = rng.uniform(0, 2 * np.pi)
        colour = rng.uniform(-0.2, 0.2, size=3).astype(np.float32)
        wave = np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
        base += wave[..., None] * colour
    base += rng.normal(0, 0.03, size=base.shape).astype(np.float32)
    return (np.clip(base, 0, 1) * 255).astype(np.uint8)


def _texture_source(rng: np.random.Generator, use_photos: bool, avoid: str = "") -> Tuple[str, Optional[np.ndarray]]:
    """(name, photo or None for procedural); ``avoid`` keeps target and background different."""
    photos = [p for p in _available_photos() if p != avoid] if use_photos else []
    if not photos:
        return "pattern", None
    name = photos[int(rng.integers(len(photos)))]
    return name, _load_photo(name)


def _random_crop(rng: np.random.Generator, photo: Optional[np.ndarray], h: int, w: int,
                 zoom: Tuple[float, float]) -> np.ndarray:
    """An [h, w, 3] crop of ``photo`` (a random window, ``zoom`` = its size relative to the photo)."""
    if photo is None:
        return _procedural_texture(rng, h, w)
    ph, pw = photo.shape[:2]
    frac = rng.uniform(*zoom)
    ch = max(8, min(ph, int(round(ph * frac))))
    cw = max(8, min(pw, int(round(ch * w / h))))
    ch = max(8, min(ph, int(round(cw * h / w))))
    y0 = int(rng.integers(0, ph - ch + 1))
    x0 = int(rng.integers(0, pw - cw + 1))
    crop = photo[y0:y0 + ch, x0:x0 + cw]
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if ch > h else cv2.INTER_LINEAR)


def _shape_mask(shape: str, res: int = _SPRITE_RES) -> np.ndarray:
    c = (res - 1) / 2.0
    yy, xx = np.mgrid[0:res, 0:res].astype(np.float32)
    u, v = (xx - c) / (c + 0.5), (yy - c) / (c + 0.5)   # in (-1, 1)
    if shape == "ellipse":
        return u * u + v * v <= 1.0
    if shape == "diamond":
        return np.abs(u) + np.abs(v) <= 1.0
    if shape == "rounded":
        r = 0.4
        du, dv = np.maximum(np.abs(u) - (1 - r), 0), np.maximum(np.abs(v) - (1 - r), 0)
        return du * du + dv * dv <= r * r
    return np.ones((res, res), dtype=bool)


# ------------------------------------------------------------------------------------------------
# trajectories

def _smooth_signal(rng: np.random.Generator, n: int, amplitude: float) -> np.ndarray:
    """Sum of two slow sinusoids: a smooth scale / aspect / illumination curve in [-a, a]."""
    t = np.arange(n, dtype=np.float64)
    out = np.zeros(n)
    for weight in (0.65, 0.35):
        period = rng.uniform(max(n, 20) * 0.5, max(n, 20) * 2.0)
        out += weight * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return amplitude * out


def _target_sizes(rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    """[N, 2] float (w, h) with smooth scale and aspect-ratio change."""
    n, short = cfg.num_frames, min(cfg.width, cfg.height)
    base = rng.uniform(*cfg.target_size) * short
    aspect0 = math.log(rng.uniform(0.6, 1.6))
    log_scale = _smooth_signal(rng, n, cfg.scale_change)
    log_aspect = aspect0 + _smooth_signal(rng, n, cfg.aspect_change)
    area_side = base * np.exp(log_scale)
    w = area_side * np.exp(log_aspect / 2)
    h = area_side * np.exp(-log_aspect / 2)
    w = np.clip(w, 4.0, 0.7 * cfg.width)
    h = np.clip(h, 4.0, 0.7 * cfg.height)
    return np.stack([w, h], axis=1)


def _target_centres(rng: np.random.Generator, cfg: SyntheticConfig, sizes: np.ndarray,
                    events: Dict[str, list]) -> np.ndarray:
    """[N, 2] float centres: momentum walk inside the image, bursts, jumps, one out-of-view trip."""
    n, W, H = cfg.num_frames, cfg.width, cfg.height
    speed = cfg.motion_speed * math.hypot(W, H) * rng.uniform(0.5, 1.5)
    speed_mult = np.ones(n)
    if n >= 12 and rng.random() < cfg.fast_motion_prob:
        a = int(rng.integers(3, n - 6))
        b = min(n, a + int(rng.integers(4, max(5, n // 5) + 1)))
        speed_mult[a:b] = 3.0
        events["fast_motion"].append((a, b - 1))

    # Out-of-view trip: exit over `e` frames, stay out `o` frames, re-enter over `e` frames.
    trip = None
    if n >= 14 and rng.random() < cfg.out_of_view_prob:
        e = int(rng.integers(2, 5))
        o = int(rng.integers(2, max(3, n // 10) + 1))
        a = int(rng.integers(3, max(4, n - 2 * e - o - 1)))
        trip = (a, e, o)
        events["out_of_view_trip"].append((a, min(n, a + 2 * e + o) - 1))
    # an outside point is beyond the border by the largest extent the target ever has
    margin = float(np.max(sizes[:, 0]) + np.max(sizes[:, 1])) / 2 + 3

    def outside(point: np.ndarray, side: int) -> np.ndarray:
        x, y = float(point[0]), float(point[1])
        return np.array([[-margin, y], [W + margin, y], [x, -margin], [x, H + margin]][side])

    def inside(t: int) -> np.ndarray:
        hw, hh = sizes[t] / 2
        return np.array([rng.uniform(hw, max(hw + 1e-3, W - hw)), rng.uniform(hh, max(hh + 1e-3, H - hh))])

    centres = np.zeros((n, 2))
    pos = inside(0)
    vel = rng.normal(size=2)
    vel *= speed / (np.linalg.norm(vel) + 1e-9)
    plan = {}
    for t in range(n):
        if trip is not None and trip[0] <= t < trip[0] + 2 * trip[1] + trip[2]:
            a, e, o = trip
            if t == a:   # plan the trip: leave by the nearest border, come back anywhere
                origin = pos.copy()
                exit_point = outside(origin, int(np.argmin([pos[0], W - pos[0], pos[1], H - pos[1]])))
                back = inside(min(n - 1, a + 2 * e + o))
                plan = dict(origin=origin, exit=exit_point, back=back, entry=outside(back, int(rng.integers(4))))
            if t < a + e:
                pos = plan["origin"] + (t - a + 1) / e * (plan["exit"] - plan["origin"])
            elif t < a + e + o:
                pos = plan["exit"]
            else:
                pos = plan["entry"] + (t - a - e - o + 1) / (e + 1) * (plan["back"] - plan["entry"])
            centres[t] = pos
            if t == a + 2 * e + o - 1:
                pos = plan["back"].copy()   # the walk resumes from the re-entry target
            continue
        hw, hh = sizes[t] / 2
        if t > 0:
            if rng.random() < cfg.jump_prob:
                pos = inside(t)
                events["jumps"].append(t)
            direction = rng.normal(size=2)
            direction /= np.linalg.norm(direction) + 1e-9
            vel = 0.85 * vel + 0.15 * speed * direction
            vel = vel / (np.linalg.norm(vel) + 1e-9) * speed * speed_mult[t]
            pos = pos + vel
        # stay inside: reflect at the borders (the out-of-view trip is the only way out)
        for d, (lo, hi) in enumerate(((hw, W - hw), (hh, H - hh))):
            if hi <= lo:
                pos[d] = (lo + hi) / 2
            elif pos[d] < lo:
                pos[d], vel[d] = min(hi, 2 * lo - pos[d]), abs(vel[d])
            elif pos[d] > hi:
                pos[d], vel[d] = max(lo, 2 * hi - pos[d]), -abs(vel[d])
        centres[t] = pos
    return centres


# ------------------------------------------------------------------------------------------------
# rendering

def _paste(canvas: np.ndarray, texture: np.ndarray, mask: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """Paste ``texture`` where ``mask`` at top-left (x0, y0), clipped; returns the [H, W] bool mask drawn."""
    H, W = canvas.shape[:2]
    h, w = mask.shape
    full = np.zeros((H, W), dtype=bool)
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if xa >= xb or ya >= yb:
        return full
    sub_mask = mask[ya - y0:yb - y0, xa - x0:xb - x0]
    region = canvas[ya:yb, xa:xb]
    region[sub_mask] = texture[ya - y0:yb - y0, xa - x0:xb - x0][sub_mask]
    full[ya:yb, xa:xb] = sub_mask
    return full


def _sprite_at(texture: np.ndarray, mask: np.ndarray, w: float, h: float) -> Tuple[np.ndarray, np.ndarray]:
    wi, hi = max(3, int(round(w))), max(3, int(round(h)))
    tex = cv2.resize(texture, (wi, hi), interpolation=cv2.INTER_AREA if wi < texture.shape[1] else cv2.INTER_LINEAR)
    msk = cv2.resize(mask.astype(np.uint8), (wi, hi), interpolation=cv2.INTER_NEAREST).astype(bool)
    return tex, msk


def _top_left(centre: np.ndarray, w: float, h: float) -> Tuple[int, int]:
    wi, hi = max(3, int(round(w))), max(3, int(round(h)))
    return int(math.floor(centre[0] - wi / 2 + 0.5)), int(math.floor(centre[1] - hi / 2 + 0.5))


def _motion_blur(frame: np.ndarray, direction: np.ndarray, length: int) -> np.ndarray:
    k = np.zeros((length, length), dtype=np.float32)
    c = (length - 1) / 2
    d = direction / (np.linalg.norm(direction) + 1e-9)
    for s in np.linspace(-c, c, 2 * length):
        k[int(round(c + s * d[1])), int(round(c + s * d[0]))] = 1.0
    return cv2.filter2D(frame, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def _tight_box(mask: np.ndarray) -> np.ndarray:
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return np.zeros(4, dtype=np.float32)
    xs = np.flatnonzero(mask.any(axis=0))
    return np.array([xs[0], ys[0], xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1], dtype=np.float32)


def _boxes_touch(a: np.ndarray, b: np.ndarray) -> bool:
    """Do two xywh boxes (zero size = absent) overlap?"""
    if a[2] <= 0 or b[2] <= 0:
        return False
    return bool(a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3])


def _sequence_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index), 0x5E0]))


def generate_sequence(index: int, config: Optional[SyntheticConfig] = None, seed: int = 0,
                      return_masks: bool = False) -> SyntheticSequence:
    """Render sequence ``index`` (depends only on ``(seed, index)`` and ``config``)."""
    cfg = (config or SyntheticConfig()).validate()
    rng = _sequence_rng(seed, index)
    n, W, H = cfg.num_frames, cfg.width, cfg.height
    short = min(W, H)
    events: Dict[str, list] = {"jumps": [], "fast_motion": [], "out_of_view_trip": [], "occlusion": [],
                               "blur": [], "illumination_steps": [], "distractor_crossings": [],
                               "distractor_near": []}

    # appearance
    target_src, target_photo = _texture_source(rng, cfg.use_photos)
    bg_src, bg_photo = _texture_source(rng, cfg.use_photos, avoid=target_src)
    occ_src, occ_photo = _texture_source(rng, cfg.use_photos, avoid=target_src)
    class_name = _PHOTOS.get(target_src, "pattern")
    shape = _SHAPES[int(rng.integers(len(_SHAPES)))]
    sprite_tex = _random_crop(rng, target_photo, _SPRITE_RES, _SPRITE_RES, (0.15, 0.45))
    sprite_mask = _shape_mask(shape)
    pan = int(round(cfg.camera_pan * short))
    background = _random_crop(rng, bg_photo, H + 2 * pan, W + 2 * pan, (0.5, 1.0))
    # the background must not look like the target: dim and desaturate it a little
    background = (0.8 * background.astype(np.float32) + 0.2 * background.mean()).astype(np.uint8)

    # geometry
    sizes = _target_sizes(rng, cfg)                         # [N, 2]
    centres = _target_centres(rng, cfg, sizes, events)      # [N, 2]
    pan_xy = np.stack([_smooth_signal(rng, n, pan), _smooth_signal(rng, n, pan)], axis=1)  # [N, 2]

    # distractors: same sprite (slightly tinted), straight paths crossing the target at frame c
    distractors = []
    for _ in range(cfg.num_distractors):
        if cfg.distractor_prob < 1.0 and rng.random() >= cfg.distractor_prob:
            continue   # (no draw at the default 1.0: old sequences stay bit-identical)
        c = int(rng.integers(0, n))
        heading = rng.normal(size=2)
        heading /= np.linalg.norm(heading) + 1e-9
        v = heading * cfg.motion_speed * math.hypot(W, H) * rng.uniform(0.7, 1.5)
        path = centres[c][None, :] + (np.arange(n)[:, None] - c) * v[None, :]   # [N, 2]
        gain = np.clip(1 + rng.normal(0, cfg.distractor_tint, size=3), 0.5, 1.5).astype(np.float32)
        tex = np.clip(sprite_tex.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        rel = rng.uniform(0.8, 1.2)
        distractors.append((path, tex, rel))
        events["distractor_crossings"].append(c)

    # occlusion: an occluder covering the union of the target's sprite rects over [a, b]
    occluder = None
    if n >= 10 and rng.random() < cfg.occlusion_prob:
        busy = set(t for a, b in events["out_of_view_trip"] for t in range(a - 2, b + 3))
        for _ in range(10):
            ramp = int(rng.integers(2, 4))
            a = int(rng.integers(ramp + 2, max(ramp + 3, n - 3)))
            b = min(n - 1, a + int(rng.integers(1, max(2, n // 10) + 1)))
            if any(t in busy for t in range(a - ramp, b + ramp + 1)):
                continue
            rects = []
            for t in range(a, b + 1):
                x0, y0 = _top_left(centres[t], *sizes[t])
                wi, hi = max(3, int(round(sizes[t][0]))), max(3, int(round(sizes[t][1])))
                rects.append((x0, y0, x0 + wi, y0 + hi))
            r = np.array(rects)
            ox0, oy0 = int(r[:, 0].min()) - 2, int(r[:, 1].min()) - 2
            ox1, oy1 = int(r[:, 2].max()) + 2, int(r[:, 3].max()) + 2
            if (ox1 - ox0) > 0.6 * W or (oy1 - oy0) > 0.6 * H:
                continue
            tex = _random_crop(rng, occ_photo, oy1 - oy0, ox1 - ox0, (0.2, 0.6))
            direction = rng.normal(size=2)
            direction /= np.abs(direction).max() + 1e-9
            slide = direction * np.array([ox1 - ox0 + W / 4, oy1 - oy0 + H / 4])
            occluder = (a, b, ramp, (ox0, oy0), tex, slide)
            events["occlusion"].append((a, b))
            break

    gain_curve = 1.0 + _smooth_signal(rng, n, cfg.illumination)
    if n >= 10 and cfg.illumination > 0 and rng.random() < 0.5:
        step_at = int(rng.integers(3, n))
        gain_curve[step_at:] *= 1.0 + rng.choice([-1, 1]) * cfg.illumination / 2
        events["illumination_steps"].append(step_at)
    gain_curve = np.clip(gain_curve, 0.35, 1.8)

    frames: List[np.ndarray] = []
    boxes = np.zeros((n, 4), dtype=np.float32)
    full_occ = np.zeros(n, dtype=bool)
    oov = np.zeros(n, dtype=bool)
    cover = np.zeros(n, dtype=np.int64)
    cut = np.zeros(n, dtype=bool)
    target_masks: List[np.ndarray] = []
    visible_masks: List[np.ndarray] = []
    for t in range(n):
        px, py = (np.round(pan_xy[t]).astype(int) + pan)
        frame = background[py:py + H, px:px + W].copy()          # [H, W, 3]
        d_boxes = []
        for path, tex, rel in distractors:
            dw, dh = sizes[t] * rel
            d_tex, d_mask = _sprite_at(tex, sprite_mask, dw, dh)
            d_boxes.append(_tight_box(_paste(frame, d_tex, d_mask, *_top_left(path[t], dw, dh))))
        t_tex, t_mask = _sprite_at(sprite_tex, sprite_mask, *sizes[t])
        target_in_image = _paste(frame, t_tex, t_mask, *_top_left(centres[t], *sizes[t]))
        t_box = _tight_box(target_in_image)
        if t_box[2] > 0 and any(_boxes_touch(t_box, d) for d in d_boxes):
            events["distractor_near"].append(t)
        visible = target_in_image.copy()
        if occluder is not None:
            a, b, ramp, (ox0, oy0), o_tex, slide = occluder
            if a - ramp <= t <= b + ramp:
                frac = (a - t) / ramp if t < a else ((t - b) / ramp if t > b else 0.0)
                dx, dy = np.round(slide * frac).astype(int)
                o_mask = np.ones(o_tex.shape[:2], dtype=bool)
                visible &= ~_paste(frame, o_tex, o_mask, ox0 + dx, oy0 + dy)
        total = int(t_mask.sum())
        n_in, n_vis = int(target_in_image.sum()), int(visible.sum())
        boxes[t] = t_box
        oov[t] = n_in == 0
        full_occ[t] = n_in > 0 and n_vis == 0
        cut[t] = 0 < n_in < total
        cover[t] = 0 if n_vis == 0 else int(min(8, max(1, math.ceil(8 * n_vis / total - 1e-9))))
        if t > 0 and rng.random() < cfg.blur_prob:
            motion = centres[t] - centres[t - 1]
            length = int(np.clip(np.linalg.norm(motion), 3, 0.08 * short)) | 1
            if np.linalg.norm(motion) < 1e-3:
                motion = rng.normal(size=2)
            frame = _motion_blur(frame, motion, length)
            events["blur"].append(t)
        frame = cv2.convertScaleAbs(frame, alpha=float(gain_curve[t]))    # saturating uint8 gain
        frames.append(frame)
        if return_masks:
            target_masks.append(target_in_image)
            visible_masks.append(visible)

    description = (f"a {shape} {class_name} patch moving among {len(distractors)} look-alike "
                   f"{'patch' if len(distractors) == 1 else 'patches'}")
    return SyntheticSequence(index=index, class_name=class_name, frames=frames, boxes=boxes,
                             full_occlusion=full_occ, out_of_view=oov, cover=cover, cut_by_image=cut,
                             description=description, events=events,
                             target_masks=target_masks if return_masks else None,
                             visible_masks=visible_masks if return_masks else None)


# ------------------------------------------------------------------------------------------------
# attributes

# Sequence-level attributes (LaSOT's short / long names where LaSOT has the notion), written as
# pytracking's attribute JSON so ``pytracking_slt.analysis`` can break results down by them.
ATTRIBUTES: Dict[str, str] = {
    "FOC": "Full Occlusion",      # some frame: target in the image, none of its pixels visible
    "OV": "Out-of-View",          # some frame: no target pixel in the image
    "DIS": "Distractors",         # some frame: a look-alike's box overlaps the target's box
    "SV": "Scale Variation",      # LaSOT's rule: box area / first box area outside [0.5, 2] (whole, visible boxes)
    "FM": "Fast Motion",          # a x3 speed burst or an abrupt jump
}
ATTRIBUTE_FILE = "attributes.json"


def sequence_attributes(seq: SyntheticSequence) -> List[str]:
    """Short names of the :data:`ATTRIBUTES` the sequence has (from the generator's own events / flags)."""
    found = []
    if seq.full_occlusion.any():
        found.append("FOC")
    if seq.out_of_view.any():
        found.append("OV")
    if seq.events.get("distractor_near"):
        found.append("DIS")
    whole = seq.visible & ~seq.cut_by_image
    area = seq.boxes[:, 2].astype(np.float64) * seq.boxes[:, 3]
    if whole[0] and whole.any():
        ratio = area[whole] / max(area[0], 1.0)
        if (ratio < 0.5).any() or (ratio > 2.0).any():
            found.append("SV")
    if seq.events.get("fast_motion") or seq.events.get("jumps"):
        found.append("FM")
    return found


def _merge_attribute_file(path: str, entries: Dict[str, List[str]]) -> None:
    """Add ``{sequence: [short names]}`` to pytracking's attribute JSON at ``path`` (created when missing)."""
    data: Dict[str, object] = {}
    if os.path.isfile(path):
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    data["att_name_short"] = list(ATTRIBUTES)
    data["att_name_long"] = list(ATTRIBUTES.values())
    data.update(entries)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)


# ------------------------------------------------------------------------------------------------
# writers

def _write_jpeg(path: str, frame: np.ndarray, quality: int) -> None:
    if not cv2.imwrite(path, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]):
        raise OSError(f"could not write frame {path}")


def _box_lines(boxes: np.ndarray) -> str:
    return "".join(f"{int(x)},{int(y)},{int(w)},{int(h)}\n" for x, y, w, h in boxes)


def _merge_list_file(path: str, names: Sequence[str]) -> None:
    """Add ``names`` to a one-name-per-line file (kept sorted), so runs can extend a folder."""
    existing: List[str] = []
    if os.path.isfile(path):
        with open(path, "r", encoding="utf-8") as f:
            existing = [line.strip() for line in f if line.strip()]
    merged = sorted(set(existing) | set(names))
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(name + "\n" for name in merged))


def lasot_sequence_name(seq: SyntheticSequence) -> str:
    return f"{seq.class_name}-{seq.index + 1}"


def write_lasot_sequence(root: str, seq: SyntheticSequence, jpeg_quality: int = 90) -> str:
    """``<root>/<class>/<class>-<k>/{img/%08d.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt}``."""
    name = lasot_sequence_name(seq)
    folder = os.path.join(root, seq.class_name, name)
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)
    for i, frame in enumerate(seq.frames):
        _write_jpeg(os.path.join(folder, "img", f"{i + 1:08d}.jpg"), frame, jpeg_quality)
    with open(os.path.join(folder, "groundtruth.txt"), "w") as f:
        f.write(_box_lines(seq.boxes))
    for fname, flags in (("full_occlusion.txt", seq.full_occlusion), ("out_of_view.txt", seq.out_of_view)):
        with open(os.path.join(folder, fname), "w") as f:
            f.write(",".join(str(int(v)) for v in flags) + "\n")
    with open(os.path.join(folder, "nlp.txt"), "w") as f:
        f.write(seq.description + "\n")
    return name


def got10k_sequence_name(split: str, index: int) -> str:
    return f"GOT-10k_{split.capitalize()}_{index + 1:06d}"


def write_got10k_sequence(split_root: str, seq: SyntheticSequence, split: str = "train",
                          jpeg_quality: int = 90, hide_gt: bool = False) -> str:
    """``<split_root>/GOT-10k_<Split>_%06d/{%08d.jpg, groundtruth.txt, *.label, meta_info.ini}``.

    ``hide_gt=True`` writes only the first box and no labels, as the real GOT-10k test set does
    (our synthetic benchmark keeps the full ground truth by default so it can be evaluated).
    """
    name = got10k_sequence_name(split, seq.index)
    folder = os.path.join(split_root, name)
    os.makedirs(folder, exist_ok=True)
    for i, frame in enumerate(seq.frames):
        _write_jpeg(os.path.join(folder, f"{i + 1:08d}.jpg"), frame, jpeg_quality)
    with open(os.path.join(folder, "groundtruth.txt"), "w") as f:
        f.write(_box_lines(seq.boxes[:1] if hide_gt else seq.boxes))
    if not hide_gt:
        for fname, values in (("absence.label", seq.absence.astype(int)), ("cover.label", seq.cover),
                              ("cut_by_image.label", seq.cut_by_image.astype(int))):
            with open(os.path.join(folder, fname), "w") as f:
                f.write("".join(f"{int(v)}\n" for v in values))
    h, w = seq.frames[0].shape[:2]
    motion = "fast" if seq.events.get("fast_motion") or seq.events.get("jumps") else "smooth"
    # lines 6..10 hold the five fields ltr reads by position; we also write them as key: value
    meta = ["[METAINFO]", "url: synthetic://ltr_slt", "begin: 00:00:00", f"end: {len(seq.frames)} frames",
            "anno_fps: 10Hz", f"object_class: {seq.class_name}", "motion_class: translation",
            "major_class: synthetic", "root_class: object", f"motion_adverb: {motion}", f"resolution: ({w}, {h})"]
    with open(os.path.join(folder, "meta_info.ini"), "w") as f:
        f.write("\n".join(meta) + "\n")
    return name


def generate_dataset(out: str, layout: str = "lasot", num_seq: int = 8, seed: int = 0,
                     config: Optional[SyntheticConfig] = None, start_index: int = 0,
                     split: str = "train", test_every: int = 5, hide_gt: bool = False) -> List[str]:
    """Write ``num_seq`` sequences (indices ``start_index ..``) and return their folder names.

    LaSOT: ``<out>/<class>/<class>-<k>``, plus ``<out>/training_set.txt`` / ``testing_set.txt``
    (sequence ``k`` is a testing sequence when ``k % test_every == 0``; ``test_every=0``: none).
    GOT-10k: ``<out>/<split>/GOT-10k_<Split>_<k>`` and ``<out>/<split>/list.txt`` (``split`` in
    train / val / test; ``hide_gt`` writes first-frame boxes only, like the real test set);
    ``got10k_dir`` must then point at ``<out>/train``.
    Existing list files are extended, so several calls can fill one folder.
    """
    cfg = (config or SyntheticConfig()).validate()
    if layout not in ("lasot", "got10k"):
        raise ValueError(f"layout must be 'lasot' or 'got10k', got {layout!r}")
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if num_seq < 0 or start_index < 0:
        raise ValueError(f"num_seq and start_index must be >= 0, got {num_seq}, {start_index}")
    os.makedirs(out, exist_ok=True)
    names: List[str] = []
    testing: List[str] = []
    attributes: Dict[str, List[str]] = {}
    split_root = os.path.join(out, split)
    for index in range(start_index, start_index + num_seq):
        seq = generate_sequence(index, cfg, seed)
        if layout == "lasot":
            name = write_lasot_sequence(out, seq, cfg.jpeg_quality)
            if test_every and (index + 1) % test_every == 0:
                testing.append(name)
        else:
            os.makedirs(split_root, exist_ok=True)
            name = write_got10k_sequence(split_root, seq, split, cfg.jpeg_quality, hide_gt)
        names.append(name)
        attributes[name] = sequence_attributes(seq)
        logger.debug("wrote synthetic sequence %s", name)
    if layout == "lasot":
        _merge_list_file(os.path.join(out, "testing_set.txt"), testing)
        _merge_list_file(os.path.join(out, "training_set.txt"), [n for n in names if n not in testing])
        _merge_attribute_file(os.path.join(out, ATTRIBUTE_FILE), attributes)
    else:
        os.makedirs(split_root, exist_ok=True)
        _merge_list_file(os.path.join(split_root, "list.txt"), names)
        _merge_attribute_file(os.path.join(split_root, ATTRIBUTE_FILE), attributes)
    return names


# ------------------------------------------------------------------------------------------------
# CLI

def _parse_size(text: str) -> Tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size must look like 320x240, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    d = SyntheticConfig()
    p = argparse.ArgumentParser(prog="slt-synthetic", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (dataset root)")
    p.add_argument("--layout", choices=("lasot", "got10k"), default="lasot", help="on-disk layout")
    p.add_argument("--num-seq", type=int, default=8, help="number of sequences")
    p.add_argument("--seed", type=int, default=0, help="sequence k depends only on (seed, k)")
    p.add_argument("--start-index", type=int, default=0, help="first sequence index k (0-based)")
    p.add_argument("--split", choices=("train", "val", "test"), default="train", help="GOT-10k sub-folder style")
    p.add_argument("--hide-gt", action="store_true", help="GOT-10k: first-frame box only (real test-set style)")
    p.add_argument("--test-every", type=int, default=5, help="LaSOT: every n-th sequence goes to testing_set.txt")
    p.add_argument("--num-frames", type=int, default=d.num_frames, help="frames per sequence")
    p.add_argument("--size", type=_parse_size, default=f"{d.width}x{d.height}", help="frame size WxH")
    p.add_argument("--num-distractors", type=int, default=d.num_distractors, help="look-alikes per sequence")
    p.add_argument("--distractor-prob", type=float, default=d.distractor_prob,
                   help="probability that each look-alike is there")
    p.add_argument("--occlusion-prob", type=float, default=d.occlusion_prob,
                   help="probability of a full-occlusion event per sequence")
    p.add_argument("--out-of-view-prob", type=float, default=d.out_of_view_prob,
                   help="probability of an out-of-view excursion per sequence")
    p.add_argument("--motion-speed", type=float, default=d.motion_speed,
                   help="mean target speed, fraction of the image diagonal per frame")
    p.add_argument("--fast-motion-prob", type=float, default=d.fast_motion_prob,
                   help="probability of a x3 speed burst per sequence")
    p.add_argument("--jump-prob", type=float, default=d.jump_prob, help="per-frame probability of an abrupt jump")
    p.add_argument("--blur-prob", type=float, default=d.blur_prob, help="per-frame probability of motion blur")
    p.add_argument("--illumination", type=float, default=d.illumination, help="illumination change amplitude")
    p.add_argument("--scale-change", type=float, default=d.scale_change, help="log-scale change amplitude")
    p.add_argument("--aspect-change", type=float, default=d.aspect_change, help="log-aspect change amplitude")
    p.add_argument("--no-photos", action="store_true", help="procedural textures only")
    p.add_argument("--jpeg-quality", type=int, default=d.jpeg_quality, help="JPEG quality of the frames")
    return p


def config_from_args(args: argparse.Namespace) -> SyntheticConfig:
    return SyntheticConfig(num_frames=args.num_frames, width=args.size[0], height=args.size[1],
                           num_distractors=args.num_distractors, distractor_prob=args.distractor_prob,
                           occlusion_prob=args.occlusion_prob,
                           out_of_view_prob=args.out_of_view_prob, motion_speed=args.motion_speed,
                           fast_motion_prob=args.fast_motion_prob, jump_prob=args.jump_prob,
                           blur_prob=args.blur_prob, illumination=args.illumination,
                           scale_change=args.scale_change, aspect_change=args.aspect_change,
                           use_photos=not args.no_photos, jpeg_quality=args.jpeg_quality)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = config_from_args(args).validate()
    except ValueError as err:
        build_parser().error(str(err))
    start = time.perf_counter()
    names = generate_dataset(args.out, args.layout, args.num_seq, args.seed, cfg, args.start_index,
                             args.split, args.test_every, args.hide_gt)
    where = os.path.join(args.out, args.split) if args.layout == "got10k" else args.out
    textures = "photographs" if cfg.use_photos and _available_photos() else "procedural textures"
    print(f"wrote {len(names)} {args.layout} sequences ({cfg.num_frames} frames, {cfg.width}x{cfg.height}, "
          f"{textures}) to {where} in {time.perf_counter() - start:.1f}s")
    if args.layout == "got10k":
        print(f"read them with Got10k(root={where!r}) or set got10k_dir to that folder")
    else:
        print(f"read them with Lasot(root={args.out!r}) or set lasot_dir to that folder")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["SyntheticConfig", "SyntheticSequence", "generate_sequence", "generate_dataset", "ATTRIBUTES",
           "ATTRIBUTE_FILE", "sequence_attributes", "write_lasot_sequence",
           "write_got10k_sequence", "lasot_sequence_name", "got10k_sequence_name", "main", "build_parser"]
