"""Batched DiMP-family tracker (DiMP-50, SuperDiMP, TrDiMP): evaluation (batch 1) and SLT rollouts share it.

One :meth:`BatchedDiMP.step` follows pytracking's ``DiMP.track`` / TransformerTrack's ``TrDiMP.track``
(``architectures.md`` 7.2-7.3) for B sequences at once:

1. crop every sequence's sample (``sample_patch``: replicate / inside_major border, strided
   pre-downsampling, bilinear resize) in one gather from the uint8 frames, one backbone call;
2. classification features (TrDiMP: decoded against each sequence's transformer memory),
   ``classifier.classify`` with each sequence's filter -> score maps ``[B, H+1, W+1]``;
3. action: greedy = the score maximum, or the advanced-localization peak when that is on
   (flags not found / uncertain / hard negative / normal); 'sample' draws from the
   :class:`~ltr_slt.slt.policy.MeanMaxPolicy` (SLT-TrDiMP's exploration); the action's cell offset
   times ``img_support_sz / output_sz * sample_scale`` moves the centre;
4. unless not found: centre clamped so 20 % of the target stays inside, IoU-Net refinement
   (jittered boxes, gradient ascent, aspect filter, top-k mean) sets position, size and scale;
5. online update (when ``update_classifier``; not after not-found / uncertain): sample memory with
   learning rate / hard-negative rate, filter optimiser iterations (hard negative, every
   ``train_skipping`` frames), TrDiMP transformer memory every ``transformer_skipping`` frames.

Randomness (init shifts, dropout, jitter boxes) comes from one ``torch.Generator`` per sequence
seeded at :meth:`init`, so a sequence repeats exactly and tracks the same alone or in a batch;
``random_shift_factor = 0``, no 'dropout' augmentation and ``num_init_random_boxes = 0`` switch it off.

Geometry is float32 like pytracking (positions (y, x), sizes (h, w)). The state is updated in place
and returned.

Deliberate differences from the official code: randomness comes from per-sequence generators
instead of torch's global RNG (dropout masks are drawn as ``rand >= p`` per channel: same
distribution as ``F.dropout2d``, other bits); SLT rollouts start from the clip's first box with the
evaluation's ``(w - 1) / 2`` centre convention (the official rollout omits the -1) so the greedy half
is the evaluation tracker; advanced localization always reads the raw scores (the SLT policy's
mean-max softmax only picks actions); ties between equal score maxima go to the first cell in
row-major order; ``window_output`` and the 'scale' augmentation (used by no released file) raise. Batch layout with ``copies = k`` is copy-major as in the TransT tracker: entry
``c * N + i`` is copy c of sequence i (SLT rollout: copies 2, ``[0, N)`` greedy, ``[N, 2N)`` sampled).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from ltr_slt.data.crop import FrameBuffer
from ltr_slt.slt.policy import ROLLOUT_MODES, MeanMaxPolicy, Policy, WindowedScoreMapPolicy
from pytracking_slt.tracker.base.batch import CopiedBatch, frames_for_batch
from pytracking_slt.tracker.base.net_wrappers import unwrap_net
from pytracking_slt.tracker.dimp.localization import (FLAGS, HARD_NEGATIVE, NOT_FOUND, UNCERTAIN,
                                                      AdvancedLocalization, peak)
from pytracking_slt.tracker.dimp.memory import SampleMemory
from pytracking_slt.tracker.dimp.refine import BoxRefinement
from pytracking_slt.tracker.dimp.sampling import (Transform, augment_init_patches, build_init_transforms,
                                                  gaussian_label, normalize_patches, patch_geometry, sample_patches)

logger = logging.getLogger(__name__)

__all__ = ["BatchedDiMP", "DiMPState", "DiMPStepOutput", "TransformerMemory", "MODES", "DEFAULTS"]

MODES = ROLLOUT_MODES
ImageLike = Union[torch.Tensor, np.ndarray]

# pytracking's DiMP-50 values; a parameter file overrides any of them.
DEFAULTS: Dict[str, Any] = dict(
    image_sample_size=288, search_area_scale=5.0, border_mode="replicate", patch_max_scale_change=None,
    sample_memory_size=50, learning_rate=0.01, init_samples_minimum_weight=0.25, train_skipping=20,
    train_sample_interval=1, update_classifier=True, net_opt_iter=10, net_opt_update_iter=2, net_opt_hn_iter=1,
    net_opt_low_iter=1, low_score_opt_threshold=None, window_output=False, use_augmentation=True,
    augmentation={}, augmentation_expansion_factor=2, random_shift_factor=1 / 3, advanced_localization=True,
    target_not_found_threshold=0.25, distractor_threshold=0.8, hard_negative_threshold=0.5,
    target_neighborhood_scale=2.2, dispalcement_scale=0.8, uncertain_threshold=-float("inf"),
    hard_sample_threshold=-float("inf"), hard_negative_learning_rate=0.02, update_scale_when_uncertain=True,
    use_iou_net=True, use_classifier=True, iounet_augmentation=False, iounet_k=3, num_init_random_boxes=9,
    box_jitter_pos=0.1, box_jitter_sz=0.5, maximal_aspect_ratio=6.0, box_refinement_iter=5,
    box_refinement_step_length=1.0, box_refinement_step_decay=1.0, box_refinement_space="default",
    target_inside_ratio=0.2, use_iounet_pos_for_learning=True, score_preprocess="none",
    score_norm_meanmax=(-7.0, 7.0), use_transformer=None, transformer_skipping=5, transformer_memory_size=20,
    transformer_label_sigma=0.1, seed=0, output_not_found_box=False, autocast=None,
    slt_policy="meanmax", window_influence=0.49, temperature=4.0, sig_eps=0.01,
)


def _param(params: Any, name: str) -> Any:
    """``params.name`` when set (TrackerParams or any object), else :data:`DEFAULTS`."""
    if params is not None:
        if hasattr(params, "has") and callable(params.has):
            if params.has(name):
                return params.get(name)
        elif hasattr(params, name):
            return getattr(params, name)
    return DEFAULTS[name]


def _plain(t: torch.Tensor) -> torch.Tensor:
    return t.clone() if t.is_inference() else t


def _clone_generator(g: torch.Generator) -> torch.Generator:
    h = torch.Generator(device=g.device)
    h.set_state(g.get_state())
    return h


@dataclass
class TransformerMemory:
    """TrDiMP's per-sequence transformer memory (lengths may differ once sequences update it)."""

    feats: List[torch.Tensor]    # per entry [M, C, H, W] raw classification features, newest first
    labels: List[torch.Tensor]   # per entry [M, H, W] Gaussian labels (sigma 0.1)
    encoded: List[torch.Tensor]  # per entry [M*H*W, C] encoder output tokens

    def repeat(self, copies: int) -> "TransformerMemory":
        return TransformerMemory(self.feats * copies, self.labels * copies, self.encoded * copies)


@dataclass
class DiMPState(CopiedBatch):
    """Tracking state of B = copies * N sequences (float32 geometry, device tensors)."""

    pos: torch.Tensor              # [B, 2] (y, x) target centre, image pixels
    target_sz: torch.Tensor        # [B, 2] (h, w)
    target_scale: torch.Tensor     # [B] sample scale (sample side = scale * image_sample_size)
    base_target_sz: torch.Tensor   # [B, 2] target size at scale 1
    min_scale: torch.Tensor        # [B] scale bounds (classifier-only path)
    max_scale: torch.Tensor        # [B]
    image_hw: torch.Tensor         # [B, 2] long (H, W) of the first frame
    target_filter: torch.Tensor    # [B, C, k, k]
    iou_modulation: List[torch.Tensor]  # IoU-Net modulation vectors, each [B, D, 1, 1]
    generators: List[torch.Generator]   # one CPU RNG per entry (jitter boxes)
    pos_iounet: torch.Tensor       # [B, 2] last IoU-Net position (NaN: none yet)
    feature_sz: tuple = (18, 18)   # classification feature map (H, W)
    frame_num: int = 1             # pytracking's counter: 1 after init
    copies: int = 1
    memory: Optional[SampleMemory] = None
    transformer: Optional[TransformerMemory] = None
    template_crops: Optional[torch.Tensor] = None   # [N, K, 3, S, S] float 0..255 augmented init samples
    template_boxes: Optional[torch.Tensor] = None   # [K', N, 4] xywh in sample pixels (with dropout copies)
    template_labels: Optional[torch.Tensor] = None  # [K', N, H, W] transformer labels (TrDiMP)
    transforms: List[List[Transform]] = field(default_factory=list)  # per sequence (N)

    @property
    def batch_size(self) -> int:
        return int(self.pos.shape[0])

    def boxes(self) -> torch.Tensor:
        """Current estimates ``[B, 4]`` xywh float64: ``[x - (w-1)/2, y - (h-1)/2, w, h]``."""
        yx, hw = self.pos.double(), self.target_sz.double()
        return torch.cat([yx.flip(1) - (hw.flip(1) - 1) / 2, hw.flip(1)], dim=1)


@dataclass
class DiMPStepOutput:
    """One step for the whole batch (the caller slices greedy / sampled halves)."""

    boxes: torch.Tensor                        # [B, 4] float64 xywh
    actions: torch.Tensor                      # [B] long flat score-map cell
    flags: List[str]                           # per entry: normal / not_found / uncertain / hard_negative
    max_scores: torch.Tensor                   # [B] score-map maxima
    crops: Optional[torch.Tensor] = None       # [B, 3, S, S] float32 0..255 samples fed to the net (record)
    crop_centers: Optional[torch.Tensor] = None  # [B, 2] float64 (cx, cy) sample centres
    crop_sizes: Optional[torch.Tensor] = None  # [B] float64 sample sides in image pixels
    logits: Optional[torch.Tensor] = None      # [B, A] policy logits (record)
    scores: Optional[torch.Tensor] = None      # [B, H, W] raw score maps (record)


class BatchedDiMP:
    """DiMP / SuperDiMP / TrDiMP on a batch of sequences (see the module docstring).

    Args:
        net: DiMPnet (``extract_backbone_features``, ``extract_classification_feat``,
            ``get_backbone_bbreg_feat``, ``classifier.{filter_initializer, filter_optimizer, classify,
            filter_size}``, ``bb_regressor.{get_modulation, get_iou_feat, predict_iou}``; TrDiMP also
            ``classifier.transformer.{encoder, decoder}``), or a wrapper holding it in ``.net``.
        params: TrackerParams-like (pytracking names; missing ones take :data:`DEFAULTS`).
        device: where frames, patches and state live (the net must already be there).
        policy: share a policy object with a learner (default from ``slt_policy``: 'meanmax', the official
            SLT-TrDiMP transform, or 'window_isig', TransT's window + inverse sigmoid on the score map).
    """

    def __init__(self, net: Any, params: Any = None, device: Union[str, torch.device] = "cpu",
                 policy: Optional[Policy] = None) -> None:
        self.net = unwrap_net(net)
        self.params = params
        self.device = torch.device(device)
        p = lambda name: _param(params, name)  # noqa: E731
        self.p = p
        size = p("image_sample_size")
        if isinstance(size, (list, tuple)):
            if len(size) != 2 or size[0] != size[1]:
                raise ValueError(f"image_sample_size must be one int (square samples), got {size}")
            size = size[0]
        self.img_sample_sz = int(size)
        if p("window_output"):
            raise ValueError("window_output=True is not supported (no released DiMP/TrDiMP parameter file uses it)")
        if p("score_preprocess") not in ("none", "softmax"):
            raise ValueError(f"score_preprocess must be 'none' or 'softmax' (SLT mean-max), got {p('score_preprocess')!r}")
        if p("use_augmentation") and "scale" in (p("augmentation") or {}):
            raise ValueError("augmentation 'scale' is not supported")
        amp = p("autocast")
        if amp not in (None, "bf16", "fp16"):
            raise ValueError(f"autocast must be None, 'bf16' or 'fp16', got {amp!r}")
        self.autocast = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]
        transformer = getattr(getattr(self.net, "classifier", None), "transformer", None)
        use_tf = p("use_transformer")
        self.use_transformer = (transformer is not None) if use_tf is None else bool(use_tf)
        if self.use_transformer and transformer is None:
            raise ValueError("use_transformer=True (TrDiMP) but the network has no classifier.transformer")
        if policy is None:
            kind = p("slt_policy")
            if kind == "meanmax":  # official SLT-TrDiMP
                policy = MeanMaxPolicy(tuple(p("score_norm_meanmax")))
            elif kind == "window_isig":  # TransT-style transform on the score map (option)
                policy = WindowedScoreMapPolicy(p("window_influence"), p("temperature"), p("sig_eps"))
            else:
                raise ValueError(f"slt_policy must be 'meanmax' or 'window_isig', got {kind!r}")
        self.policy = policy
        self.localizer = AdvancedLocalization(
            target_not_found_threshold=p("target_not_found_threshold"), distractor_threshold=p("distractor_threshold"),
            hard_negative_threshold=p("hard_negative_threshold"),
            target_neighborhood_scale=p("target_neighborhood_scale"), dispalcement_scale=p("dispalcement_scale"),
            uncertain_threshold=p("uncertain_threshold"), hard_sample_threshold=p("hard_sample_threshold"))
        self.refiner = BoxRefinement(
            num_init_random_boxes=int(p("num_init_random_boxes")), box_jitter_pos=p("box_jitter_pos"),
            box_jitter_sz=p("box_jitter_sz"), maximal_aspect_ratio=p("maximal_aspect_ratio"),
            box_refinement_iter=int(p("box_refinement_iter")), box_refinement_step_length=p("box_refinement_step_length"),
            box_refinement_step_decay=p("box_refinement_step_decay"), box_refinement_space=p("box_refinement_space"),
            iounet_k=int(p("iounet_k")))

    # ------------------------------------------------------------------------------------------
    # network pieces
    # ------------------------------------------------------------------------------------------
    def _backbone(self, patches: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Backbone features (float32; under ``autocast='bf16'|'fp16'`` the backbone runs in that precision)."""
        x = normalize_patches(patches)
        if self.autocast is None:
            return self.net.extract_backbone_features(x)
        with torch.autocast(device_type=self.device.type, dtype=self.autocast):
            feats = self.net.extract_backbone_features(x)
        return {k: v.float() for k, v in feats.items()}

    def _crop(self, buf: FrameBuffer, image_index: torch.Tensor, geom: Any, size: int) -> torch.Tensor:
        """The B samples of a step, float 0..255 ``[B, 3, S, S]`` (one batched gather on the device)."""
        return sample_patches(buf, image_index, geom, size)

    def _iou_feat(self, backbone: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        return list(self.net.get_backbone_bbreg_feat(backbone))

    def _run_filter_optimizer(self, w: torch.Tensor, feat: torch.Tensor, bb: torch.Tensor,
                              sample_weight: Optional[torch.Tensor], num_iter: int) -> torch.Tensor:
        """``classifier.filter_optimizer`` (gradient-based inside) with autograd usable even in inference mode."""
        with torch.inference_mode(False), torch.no_grad():
            args = dict(feat=_plain(feat), bb=_plain(bb), num_iter=num_iter, compute_losses=False)
            if sample_weight is not None:
                args["sample_weight"] = _plain(sample_weight)
            out = self.net.classifier.filter_optimizer(_plain(w), **args)
        return out[0] if isinstance(out, (tuple, list)) else out

    def _encode(self, feats: torch.Tensor) -> torch.Tensor:
        """Transformer encoder on ``[M, S, C, H, W]`` -> tokens ``[M*H*W, S, C]``."""
        tokens, _ = self.net.classifier.transformer.encoder(feats, pos=None)
        return tokens

    def _decode(self, x: torch.Tensor, memory: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """One image per sequence ``[S, C, H, W]`` decoded against ``memory`` [L, S, C] / ``labels`` [M, S, H, W]."""
        _, out = self.net.classifier.transformer.decoder(x[None], memory=memory, pos=labels, query_pos=None)
        return out.reshape(x.shape)

    def _decode_batch(self, x: torch.Tensor, tf: TransformerMemory) -> torch.Tensor:
        """Decode ``x`` [B, C, H, W], grouping the entries by memory length (one decoder call per group)."""
        out = torch.empty_like(x)
        lengths = [int(f.shape[0]) for f in tf.feats]
        for m in sorted(set(lengths)):
            idx = [b for b, n in enumerate(lengths) if n == m]
            mem = torch.stack([tf.encoded[b] for b in idx], 1)   # [L, g, C]
            lab = torch.stack([tf.labels[b] for b in idx], 1)    # [M, g, H, W]
            ii = torch.tensor(idx, device=x.device)
            out[ii] = self._decode(x[ii], mem, lab)
        return out

    # ------------------------------------------------------------------------------------------
    # geometry helpers (pytracking names)
    # ------------------------------------------------------------------------------------------
    def get_iounet_box(self, pos: torch.Tensor, sz: torch.Tensor, sample_pos: torch.Tensor,
                       sample_scale: torch.Tensor) -> torch.Tensor:
        """Image-space state -> xywh box ``[B, 4]`` in sample pixels (pytracking's ``get_iounet_box``)."""
        centre = (pos - sample_pos) / sample_scale[:, None] + (self.img_sample_sz - 1) / 2
        box_sz = sz / sample_scale[:, None]
        ul = centre - (box_sz - 1) / 2
        return torch.cat([ul.flip(1), box_sz.flip(1)], dim=1)

    def _target_scale(self, target_sz: torch.Tensor) -> torch.Tensor:
        """``sqrt(prod(target_sz * search_area_scale)) / sqrt(prod(img_sample_sz))`` as pytracking computes it
        (a Python float over a float32 tensor: ``reciprocal(t) * float``)."""
        area = (target_sz * float(self.p("search_area_scale"))).prod(dim=1)  # float32
        root = torch.sqrt(area.double()).float()
        inv = torch.tensor([float(self.img_sample_sz) ** 2], device=target_sz.device).sqrt().reciprocal()
        return inv * root

    def _clamp_pos(self, new_pos: torch.Tensor, target_sz: torch.Tensor, image_hw: torch.Tensor) -> torch.Tensor:
        """``update_state``: keep ``target_inside_ratio`` of the target inside the image."""
        off = (self.p("target_inside_ratio") - 0.5) * target_sz
        return torch.maximum(torch.minimum(new_pos, image_hw.float() - off), off)

    # ------------------------------------------------------------------------------------------
    def _check_boxes(self, boxes: Any, n: int, name: str) -> torch.Tensor:
        t = boxes if isinstance(boxes, torch.Tensor) else torch.as_tensor(np.asarray(boxes, dtype=np.float64))
        t = t.to(self.device, torch.float32).reshape(-1, 4) if t.numel() else t.reshape(0, 4)
        if t.shape[0] != n:
            raise ValueError(f"BatchedDiMP.init: {name} holds {t.shape[0]} boxes for {n} images")
        if not bool(torch.isfinite(t).all()) or not bool((t[:, 2:] > 0).all()):
            raise ValueError(f"BatchedDiMP.init: {name} must be finite xywh boxes with w, h > 0, got {t.tolist()}")
        return t

    @torch.no_grad()
    def init(self, template_images: Sequence[ImageLike], template_boxes: Any, init_boxes: Any = None,
             copies: int = 1, seeds: Optional[Sequence[int]] = None) -> DiMPState:
        """Learn N targets from their first frames and start ``copies`` copies of each.

        Args:
            template_images: N uint8 HxWx3 RGB frames (torch on the device, or numpy).
            template_boxes: ``[N, 4]`` xywh boxes in those frames (the classifier and IoU-Net learn them).
            init_boxes: ``[N, 4]`` xywh state to start tracking from (SLT: the GT of the clip's first
                search frame); default ``template_boxes`` (evaluation).
            copies: tracker copies per sequence (copy-major); the copies share the learnt model and
                start with identical RNG states.
            seeds: one RNG seed per sequence; default ``params.seed`` (0) for all.
        """
        n = len(template_images)
        if n == 0:
            raise ValueError("BatchedDiMP.init: no template images")
        if copies < 1:
            raise ValueError(f"BatchedDiMP.init: copies must be >= 1, got {copies}")
        p, S = self.p, self.img_sample_sz
        tboxes = self._check_boxes(template_boxes, n, "template_boxes")
        frames = FrameBuffer.from_images(template_images, device=self.device)
        image_hw = torch.stack([frames.heights, frames.widths], 1)  # [N, 2] long
        seeds = [int(p("seed"))] * n if seeds is None else [int(s) for s in seeds]
        if len(seeds) != n:
            raise ValueError(f"BatchedDiMP.init: {len(seeds)} seeds for {n} sequences")
        gens = [torch.Generator().manual_seed(s) for s in seeds]

        pos = torch.stack([tboxes[:, 1] + (tboxes[:, 3] - 1) / 2, tboxes[:, 0] + (tboxes[:, 2] - 1) / 2], 1)
        target_sz = tboxes[:, [3, 2]]
        target_scale = self._target_scale(target_sz)

        # ---- initial samples (pytracking generate_init_samples) ----
        init_scale, global_shift = target_scale, [None] * n
        if p("border_mode") == "inside":  # sample shrunk into the image; the shift moves the samples back
            im_sz = image_hw.float()
            sample_sz = (target_scale[:, None] * float(S)).expand(-1, 2)  # [N, 2]
            shrink = (sample_sz / im_sz).max(dim=1)[0].clamp(min=1.0)
            if p("patch_max_scale_change") is not None:
                shrink = shrink.clamp(max=float(p("patch_max_scale_change")))
            sample_sz = sample_sz / shrink[:, None]
            init_scale = (sample_sz / float(S)).prod(dim=1).sqrt()
            tl = pos - (sample_sz - 1) / 2
            br = pos + sample_sz / 2 + 1
            shift = -((-tl).clamp(min=0) - (br - im_sz).clamp(min=0)) / init_scale[:, None]
            global_shift = list(shift)
        sample_pos = pos.round()
        factor = p("augmentation_expansion_factor")
        E = S
        if factor is not None and factor != 1:
            E = int(S * factor)
            E += (E - S) % 2
        geom = patch_geometry(sample_pos, init_scale[:, None] * float(E), E, image_hw, "replicate")
        big = sample_patches(frames, torch.arange(n, device=self.device), geom, E)  # [N, 3, E, E]
        augs = p("augmentation") or {}
        transforms = [build_init_transforms(augs, bool(p("use_augmentation")), S, float(p("random_shift_factor")), g,
                                            global_shift[i]) for i, g in enumerate(gens)]
        patches = torch.stack([augment_init_patches(big[i:i + 1], transforms[i], S) for i in range(n)], 1)  # [K,N,3,S,S]
        K = patches.shape[0]
        backbone = self._backbone(patches.reshape(K * n, 3, S, S))
        x = self.net.extract_classification_feat(backbone)  # [K*N, C, H, W]
        x = x.reshape(K, n, *x.shape[-3:])
        if p("use_augmentation") and "dropout" in augs:
            num, prob = augs["dropout"]
            keep = torch.stack([(torch.rand(int(num), x.shape[2], generator=g) >= prob) for g in gens], 1)
            keep = keep.to(self.device, x.dtype) / (1 - prob)  # [num, N, C] dropout2d, training scaling
            x = torch.cat([x, x[:1] * keep[..., None, None]], 0)
            for t in transforms:
                t.extend([Transform("dropout", t[0].shift)] * int(num))
        Kd = x.shape[0]
        feat_hw = tuple(x.shape[-2:])
        ksz = int(self.net.classifier.filter_size)

        base_box = self.get_iounet_box(pos, target_sz, sample_pos, init_scale)  # [N, 4]
        shifts = torch.tensor([[[t.shift[1], t.shift[0], 0, 0] for t in ts] for ts in transforms],
                              dtype=torch.float32, device=self.device)  # [N, K', 4]
        boxes = (base_box[:, None] + shifts).transpose(0, 1).contiguous()  # [K', N, 4]

        tf_mem, labels = None, None
        if self.use_transformer:  # TrDiMP: encode the raw init features, train the filter on their decodings
            labels = gaussian_label(boxes.reshape(-1, 4), float(p("transformer_label_sigma")), ksz, feat_hw,
                                    (S, S)).reshape(Kd, n, *feat_hw)  # [K', N, H, W]
            raw = x
            tokens = self._encode(raw)  # [K'*H*W, N, C]
            x = torch.stack([self._decode(raw[i], tokens, labels) for i in range(Kd)], 0)
            tf_mem = TransformerMemory(feats=[raw[:, b] for b in range(n)], labels=[labels[:, b] for b in range(n)],
                                       encoded=[tokens[:, b] for b in range(n)])
        w0 = self.net.classifier.filter_initializer(x, boxes)
        target_filter = self._run_filter_optimizer(w0, x, boxes, None, int(p("net_opt_iter")))
        memory = SampleMemory.create(x, boxes, int(p("sample_memory_size"))) if p("update_classifier") else None

        modulation: List[torch.Tensor] = []
        if p("use_iou_net"):  # modulation from the identity sample (or the leading shift/flip/blur ones)
            J = [0]
            if p("iounet_augmentation"):
                J = []
                for j, t in enumerate(transforms[0][:K]):
                    if t.kind not in ("identity", "translation", "fliplr", "blur"):
                        break
                    J.append(j)
            feats = [f.reshape(K, n, *f.shape[1:])[J].reshape(len(J) * n, *f.shape[1:])
                     for f in self._iou_feat(backbone)]
            mod = self.net.bb_regressor.get_modulation(feats, boxes[J].reshape(-1, 4))
            modulation = [m.reshape(len(J), n, *m.shape[1:]).mean(0) for m in mod]

        # ---- tracking state: starts at init_boxes (SLT clips) or at the template box (evaluation) ----
        if init_boxes is not None:
            iboxes = self._check_boxes(init_boxes, n, "init_boxes")
            pos = torch.stack([iboxes[:, 1] + (iboxes[:, 3] - 1) / 2, iboxes[:, 0] + (iboxes[:, 2] - 1) / 2], 1)
            target_sz = iboxes[:, [3, 2]]
            target_scale = self._target_scale(target_sz)
        base_target_sz = target_sz / target_scale[:, None]
        min_scale = (base_target_sz.reciprocal() * 10).max(dim=1)[0]  # 10 / tensor, as torch evaluates it
        max_scale = (image_hw.float() / base_target_sz).min(dim=1)[0]

        def rep(t: torch.Tensor) -> torch.Tensor:
            return t.repeat(copies, *([1] * (t.dim() - 1))) if copies > 1 else t

        generators = [g if c == 0 else _clone_generator(g) for c in range(copies) for g in gens]
        return DiMPState(
            pos=rep(pos), target_sz=rep(target_sz), target_scale=rep(target_scale), base_target_sz=rep(base_target_sz),
            min_scale=rep(min_scale), max_scale=rep(max_scale), image_hw=rep(image_hw), target_filter=rep(target_filter),
            iou_modulation=[rep(m) for m in modulation], generators=generators,
            pos_iounet=torch.full((n * copies, 2), float("nan"), device=self.device), feature_sz=feat_hw,
            frame_num=1, copies=copies,
            memory=memory.repeat(copies) if (memory is not None and copies > 1) else memory,
            transformer=tf_mem.repeat(copies) if (tf_mem is not None and copies > 1) else tf_mem,
            template_crops=patches.transpose(0, 1), template_boxes=boxes, template_labels=labels,
            transforms=transforms)

    # ------------------------------------------------------------------------------------------
    def _choose(self, scores: torch.Tensor, loc_cell: Optional[torch.Tensor], mode: str,
                generator: Optional[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions ``[B]`` (flat cells) and policy logits ``[B, A]``."""
        out = {"scores": scores}
        logits = self.policy.logits(out)
        w = scores.shape[-1]
        greedy = (loc_cell[:, 0] * w + loc_cell[:, 1]) if loc_cell is not None else self.policy.greedy_from_output(out)
        return self.policy.choose(logits, lambda rows: greedy[rows], mode, generator, "BatchedDiMP.step"), logits

    @torch.no_grad()
    def step(self, frames: Union[FrameBuffer, Sequence[ImageLike]], state: DiMPState, mode: str = "greedy",
             generator: Optional[torch.Generator] = None, record: bool = False) -> tuple[DiMPState, DiMPStepOutput]:
        """Track one frame for every sequence of the batch (updates ``state`` in place and returns it).

        Args:
            frames: B frames, or N = B / copies frames shared by the copies of each sequence, or a
                prebuilt :class:`FrameBuffer` of either length; each must have its first frame's size.
            mode: 'greedy' (the tracker's own decision), 'sample' (draw from the policy), 'half'
                (first half greedy, second half sampled: the SLT rollout with copies = 2).
            generator: RNG for the policy samples, on ``self.device``.
            record: also return the samples, their geometry, the policy logits and the score maps.
        """
        p, S = self.p, self.img_sample_sz
        B = state.batch_size
        buf, image_index = frames_for_batch(frames, state, self.device, "BatchedDiMP.step")
        hw = torch.stack([buf.heights[image_index], buf.widths[image_index]], 1)
        if not torch.equal(hw.cpu(), state.image_hw.cpu()):
            bad = [i for i in range(B) if not torch.equal(hw[i].cpu(), state.image_hw[i].cpu())]
            i = bad[0]
            raise ValueError(f"BatchedDiMP.step: frame of entry {i} is {tuple(hw[i].tolist())} (H, W) but the "
                             f"sequence started with {tuple(state.image_hw[i].tolist())}")
        state.frame_num += 1

        # ---- localisation ----
        ksz = torch.tensor(list(state.target_filter.shape[-2:]), dtype=torch.float32, device=self.device)
        support = torch.tensor([float(S), float(S)], device=self.device)  # img_support_sz
        fsz = torch.tensor(state.feature_sz, dtype=torch.float32, device=self.device)
        centred = state.pos + ((fsz + ksz) % 2) * state.target_scale[:, None] * support / (2 * fsz)
        sample_geom = patch_geometry(centred, state.target_scale[:, None] * float(S), S, state.image_hw,
                                     p("border_mode"), p("patch_max_scale_change"))
        patches = self._crop(buf, image_index, sample_geom, S)  # [B, 3, S, S]
        backbone = self._backbone(patches)
        x_clf = self.net.extract_classification_feat(backbone)  # [B, C, H, W]
        test_x = self._decode_batch(x_clf, state.transformer) if self.use_transformer else x_clf
        sample_pos, sample_scale = sample_geom.sample_location(support)
        scores = self.net.classifier.classify(state.target_filter, test_x[None])[0]  # [B, H', W']
        score_sz = torch.tensor(list(scores.shape[-2:]), dtype=torch.float32, device=self.device)
        output_sz = score_sz - (ksz + 1) % 2

        flags = torch.zeros(B, dtype=torch.long, device=self.device)
        loc_cell = None
        if p("advanced_localization"):
            loc = self.localizer(scores, state.target_sz, sample_scale, state.pos, sample_pos, support, output_sz)
            flags, loc_cell = loc.flags, loc.cell
        actions, logits = self._choose(scores, loc_cell, mode, generator)
        disp = MeanMaxPolicy.displacement(actions, tuple(scores.shape[-2:]))  # [B, 2] cells (rows, cols)
        translation = disp * (support / output_sz) * sample_scale[:, None]
        new_pos = sample_pos + translation

        flag_list = [FLAGS[f] for f in flags.tolist()]
        found = torch.tensor([f != "not_found" for f in flag_list], device=self.device)
        if p("use_iou_net"):
            if p("use_classifier"):
                state.pos = torch.where(found[:, None], self._clamp_pos(new_pos, state.target_sz, state.image_hw),
                                        state.pos)
            idx = [b for b in range(B) if flag_list[b] != "not_found"]
            if idx:
                self._refine(state, backbone, sample_pos, sample_scale, idx, flag_list)
        elif p("use_classifier"):
            new_scale = torch.minimum(torch.maximum(sample_scale, state.min_scale), state.max_scale)
            new_sz = state.base_target_sz * new_scale[:, None]
            state.target_scale = torch.where(found, new_scale, state.target_scale)
            state.target_sz = torch.where(found[:, None], new_sz, state.target_sz)
            state.pos = torch.where(found[:, None], self._clamp_pos(new_pos, state.target_sz, state.image_hw),
                                    state.pos)

        # ---- update ----
        if p("update_classifier"):
            upd = [b for b in range(B) if flag_list[b] not in ("not_found", "uncertain")]
            if upd:
                self._update(state, upd, flag_list, test_x, x_clf, scores, sample_pos, sample_scale)

        if p("use_iou_net"):
            have = found & torch.isfinite(state.pos_iounet).all(dim=1)
            state.pos = torch.where(have[:, None], state.pos_iounet, state.pos)

        result = DiMPStepOutput(boxes=state.boxes(), actions=actions, flags=flag_list,
                                max_scores=scores.flatten(1).max(dim=1)[0])
        if record:
            result.crops = patches
            result.crop_centers = sample_pos.flip(1).double()
            result.crop_sizes = (sample_scale * S).double()
            result.logits = logits
            result.scores = scores
        return state, result

    # ------------------------------------------------------------------------------------------
    def _refine(self, state: DiMPState, backbone: Dict[str, torch.Tensor], sample_pos: torch.Tensor,
                sample_scale: torch.Tensor, idx: List[int], flags: List[str]) -> None:
        """IoU-Net refinement of the entries ``idx`` (pytracking ``refine_target_box``)."""
        ii = torch.tensor(idx, device=self.device)
        init_box = self.get_iounet_box(state.pos[ii], state.target_sz[ii], sample_pos[ii], sample_scale[ii])
        iou_feat = self.net.bb_regressor.get_iou_feat([f[ii] for f in self._iou_feat(backbone)])
        boxes = self.refiner.initial_boxes(init_box, [state.generators[b] for b in idx])
        boxes, iou = self.refiner.optimize(self.net.bb_regressor, [m[ii] for m in state.iou_modulation],
                                           list(iou_feat), boxes)
        pred, ok = self.refiner.select(boxes, iou)
        new_pos, new_sz = self.refiner.predicted(pred, sample_pos[ii], sample_scale[ii], float(self.img_sample_sz))
        new_scale = torch.sqrt(new_sz.prod(dim=1) / state.base_target_sz[ii].prod(dim=1))
        update_scale = torch.tensor([bool(self.p("update_scale_when_uncertain")) or flags[b] != "uncertain"
                                     for b in idx], device=self.device)
        okc = ok[:, None]
        state.pos_iounet = state.pos_iounet.index_copy(0, ii, torch.where(okc, new_pos, state.pos_iounet[ii]))
        if self.p("use_iounet_pos_for_learning"):
            state.pos = state.pos.index_copy(0, ii, torch.where(okc, new_pos, state.pos[ii]))
        state.target_sz = state.target_sz.index_copy(0, ii, torch.where(okc, new_sz, state.target_sz[ii]))
        state.target_scale = state.target_scale.index_copy(
            0, ii, torch.where(ok & update_scale, new_scale, state.target_scale[ii]))

    def _update(self, state: DiMPState, upd: List[int], flags: List[str], test_x: torch.Tensor, x_clf: torch.Tensor,
                scores: torch.Tensor, sample_pos: torch.Tensor, sample_scale: torch.Tensor) -> None:
        """Online update of the entries ``upd``: sample memory, filter optimiser, transformer memory."""
        p = self.p
        target_box = self.get_iounet_box(state.pos, state.target_sz, sample_pos, sample_scale)  # [B, 4]
        mem = state.memory
        groups: Dict[tuple, List[int]] = {}
        for b in upd:
            hard = flags[b] == "hard_negative"
            lr = p("hard_negative_learning_rate") if hard else p("learning_rate")
            if hard or state.frame_num % int(p("train_sample_interval")) == 0:
                mem.insert(b, test_x[b], target_box[b], lr, p("init_samples_minimum_weight"))
            low_th = p("low_score_opt_threshold")
            if hard:
                num_iter = p("net_opt_hn_iter")
            elif low_th is not None and low_th > float(scores[b].max()):
                num_iter = p("net_opt_low_iter")
            elif (state.frame_num - 1) % p("train_skipping") == 0:
                num_iter = p("net_opt_update_iter")
            else:
                num_iter = 0
            if num_iter and num_iter > 0:
                n = min(mem.num_stored[b], mem.samples.shape[0])
                groups.setdefault((int(num_iter), n), []).append(b)
        for (num_iter, n), members in groups.items():
            ii = torch.tensor(members, device=self.device)
            sw = mem.weights[members, :n].t().contiguous().to(self.device)  # [n, g]
            w = self._run_filter_optimizer(state.target_filter[ii], mem.samples[:n, ii], mem.boxes[:n, ii].clone(),
                                           sw, num_iter)
            state.target_filter = _plain(state.target_filter).index_copy(0, ii, w)

        skipping = p("transformer_skipping")
        if self.use_transformer and (state.frame_num - 1) % skipping == 0:
            tf = state.transformer
            feat_hw = tuple(x_clf.shape[-2:])
            ksz = int(self.net.classifier.filter_size)
            labels = gaussian_label(target_box[upd], float(p("transformer_label_sigma")), ksz, feat_hw,
                                    (self.img_sample_sz, self.img_sample_sz))  # [u, H, W]
            cap = p("transformer_memory_size")
            for j, b in enumerate(upd):
                keep = tf.feats[b] if tf.feats[b].shape[0] < cap else tf.feats[b][:-1]
                keep_l = tf.labels[b] if tf.labels[b].shape[0] < cap else tf.labels[b][:-1]
                tf.feats[b] = torch.cat([x_clf[b:b + 1], keep], 0)
                tf.labels[b] = torch.cat([labels[j:j + 1], keep_l], 0)
            lengths: Dict[int, List[int]] = {}
            for b in upd:
                lengths.setdefault(int(tf.feats[b].shape[0]), []).append(b)
            for members in lengths.values():
                tokens = self._encode(torch.stack([tf.feats[b] for b in members], 1))  # [M*H*W, g, C]
                for j, b in enumerate(members):
                    tf.encoded[b] = tokens[:, j]
