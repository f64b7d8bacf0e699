"""Evaluation adapter: pytracking's ``initialize`` / ``track`` on :class:`BatchedDiMP` (batch 1, greedy).

There is no separate single-sequence implementation: evaluation runs the very ``init`` / ``step``
code of the SLT rollouts. The parameters decide the family member: DiMP-50 (``dimp50``), SuperDiMP
(``super_dimp``), TrDiMP (``trdimp``; the network carries ``classifier.transformer``), SLT-TrDiMP.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np
import torch

from pytracking_slt.tracker.base.basetracker import BaseTracker
from pytracking_slt.tracker.base.net_wrappers import default_device
from pytracking_slt.tracker.dimp.batched import BatchedDiMP, DiMPState, unwrap_net

__all__ = ["DiMP"]


class DiMP(BaseTracker):
    """DiMP-family evaluation tracker (pytracking ``DiMP`` / TransformerTrack ``TrDiMP`` behaviour)."""

    multiobj_mode = "parallel"

    def __init__(self, params: Any) -> None:
        super().__init__(params)
        self.features_initialized = False
        self.tracker: Optional[BatchedDiMP] = None
        self.state: Optional[DiMPState] = None

    def initialize_features(self) -> None:
        """Load the network once (``params.net.initialize()`` for lazy wrappers)."""
        if not self.features_initialized:
            net = self.params.net
            if hasattr(net, "initialize") and not isinstance(net, torch.nn.Module):
                net.initialize()
        self.features_initialized = True

    def _device(self) -> torch.device:
        if not self.params.has("device") or self.params.device is None:
            self.params.device = default_device(bool(self.params.get("use_gpu", True)))
        return torch.device(self.params.device)

    def _image(self, image: Any) -> torch.Tensor:
        if isinstance(image, np.ndarray):
            image = torch.from_numpy(np.ascontiguousarray(image))
        return image.to(self.tracker.device)

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        tic = time.time()
        device = self._device()
        self.initialize_features()
        net = unwrap_net(self.params.net)
        if isinstance(net, torch.nn.Module):
            net = net.to(device).eval()
        if "init_bbox" not in info:
            raise KeyError(f"{type(self).__name__}.initialize: info has no 'init_bbox' (keys: {sorted(info)})")
        box = [float(v) for v in info["init_bbox"]]
        self.tracker = BatchedDiMP(net, self.params, device)
        self.state = self.tracker.init([self._image(image)], [box], copies=1,
                                       seeds=[int(self.params.get("seed", 0))])
        return {"time": time.time() - tic}

    def track(self, image: np.ndarray, info: Optional[dict] = None) -> dict:
        if self.state is None:
            raise RuntimeError(f"{type(self).__name__}.track called before initialize")
        self.state, out = self.tracker.step([self._image(image)], self.state, mode="greedy")
        if self.params.get("output_not_found_box", False) and out.flags[0] == "not_found":
            return {"target_bbox": [-1.0, -1.0, -1.0, -1.0]}
        return {"target_bbox": [float(v) for v in out.boxes[0].tolist()]}
