"""ATOM/DiMP advanced localization, vectorised over a batch of score maps (``architectures.md`` 7.2 step 3).

For each map: the peak ``max1``; below ``target_not_found_threshold`` the target is *not found*.
Otherwise the neighbourhood of ``target_neighborhood_scale`` x target size around the peak is zeroed
and the second peak ``max2`` found. ``max2 > distractor_threshold * max1`` is a distractor case,
decided by the two peaks' distances to the previous position against
``dispalcement_scale * sqrt(H * W) / 2`` (*hard negative* towards the close peak, else *uncertain*);
otherwise ``max2 > hard_negative_threshold * max1`` (and above the not-found threshold) is a *hard
negative*, else *normal*. Rounding of the neighbourhood borders is Python's ``round`` (half to even,
as ``torch.round``) on the float32 values, as pytracking.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

import torch

__all__ = ["FLAGS", "NORMAL", "NOT_FOUND", "UNCERTAIN", "HARD_NEGATIVE", "AdvancedLocalization", "Localization",
           "peak"]

NORMAL, NOT_FOUND, UNCERTAIN, HARD_NEGATIVE = 0, 1, 2, 3
FLAGS = ("normal", "not_found", "uncertain", "hard_negative")


def peak(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum ``[B]`` and its (row, col) ``[B, 2]`` long of maps ``[B, H, W]``."""
    flat = scores.flatten(1)
    value, idx = flat.max(dim=1)
    w = scores.shape[-1]
    return value, torch.stack([torch.div(idx, w, rounding_mode="floor"), idx % w], dim=1)


@dataclass
class Localization:
    """Result for B maps: flag codes ``[B]`` long, the chosen peak ``[B, 2]`` (row, col) long."""

    flags: torch.Tensor
    cell: torch.Tensor
    max_score: torch.Tensor

    def names(self) -> List[str]:
        return [FLAGS[int(f)] for f in self.flags.tolist()]


@dataclass
class AdvancedLocalization:
    """The thresholds (pytracking parameter names, including the ``dispalcement_scale`` spelling)."""

    target_not_found_threshold: float = 0.25
    distractor_threshold: float = 0.8
    hard_negative_threshold: float = 0.5
    target_neighborhood_scale: float = 2.2
    dispalcement_scale: float = 0.8
    uncertain_threshold: float = -math.inf
    hard_sample_threshold: float = -math.inf

    def __call__(self, scores: torch.Tensor, target_sz: torch.Tensor, sample_scale: torch.Tensor,
                 prev_pos: torch.Tensor, sample_pos: torch.Tensor, img_support_sz: float, output_sz: torch.Tensor
                 ) -> Localization:
        """Classify B score maps ``[B, H, W]``.

        ``target_sz`` [B, 2] (h, w) and ``prev_pos`` [B, 2] (y, x) image pixels (the state before this
        frame), ``sample_pos`` / ``sample_scale`` the patch location, ``img_support_sz`` the sample side
        in pixels, ``output_sz`` [2] float32 (score size minus the even-kernel pad).
        """
        B, H, W = scores.shape
        centre = torch.tensor([(H - 1) / 2.0, (W - 1) / 2.0], device=scores.device)
        max1, cell1 = peak(scores)
        disp1 = cell1.float() - centre  # [B, 2]
        neigh = self.target_neighborhood_scale * (target_sz / sample_scale[:, None]) * (output_sz / img_support_sz)
        c1, n = cell1.double(), neigh.double()
        lo = torch.round(c1 - n / 2).clamp(min=0)
        hi = torch.minimum(torch.round(c1 + n / 2 + 1), torch.tensor([float(H), float(W)], device=scores.device,
                                                                      dtype=torch.float64))
        rows = torch.arange(H, device=scores.device, dtype=torch.float64)
        cols = torch.arange(W, device=scores.device, dtype=torch.float64)
        in_r = (rows[None] >= lo[:, :1]) & (rows[None] < hi[:, :1])  # [B, H]
        in_c = (cols[None] >= lo[:, 1:]) & (cols[None] < hi[:, 1:])  # [B, W]
        masked = torch.where(in_r[:, :, None] & in_c[:, None, :], torch.zeros_like(scores), scores)
        max2, cell2 = peak(masked)
        disp2 = cell2.float() - centre
        prev = (prev_pos - sample_pos) / ((img_support_sz / output_sz) * sample_scale[:, None])
        dn1 = torch.sqrt(((disp1 - prev) ** 2).sum(dim=1))
        dn2 = torch.sqrt(((disp2 - prev) ** 2).sum(dim=1))
        thr = self.dispalcement_scale * math.sqrt(H * W) / 2

        flags = torch.full((B,), NORMAL, dtype=torch.long, device=scores.device)
        second = torch.zeros(B, dtype=torch.bool, device=scores.device)
        distractor = max2 > self.distractor_threshold * max1
        hn_far2 = distractor & (dn2 > thr) & (dn1 < thr)
        hn_far1 = distractor & (dn2 < thr) & (dn1 > thr)
        flags = torch.where(distractor, torch.full_like(flags, UNCERTAIN), flags)
        flags = torch.where(hn_far2 | hn_far1, torch.full_like(flags, HARD_NEGATIVE), flags)
        second = second | hn_far1
        hard = ~distractor & (max2 > self.hard_negative_threshold * max1) & (max2 > self.target_not_found_threshold)
        flags = torch.where(hard, torch.full_like(flags, HARD_NEGATIVE), flags)
        # early exits, in pytracking's order (later lines take precedence here)
        early_hn = max1 < self.hard_sample_threshold
        early_unc = max1 < self.uncertain_threshold
        early_nf = max1 < self.target_not_found_threshold
        for mask, code in ((early_hn, HARD_NEGATIVE), (early_unc, UNCERTAIN), (early_nf, NOT_FOUND)):
            flags = torch.where(mask, torch.full_like(flags, code), flags)
            second = second & ~mask
        cell = torch.where(second[:, None], cell2, cell1)
        return Localization(flags=flags, cell=cell, max_score=max1)
