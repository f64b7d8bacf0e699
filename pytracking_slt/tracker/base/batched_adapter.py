"""pytracking's ``initialize`` / ``track`` on a batched tracker (batch 1, greedy): the evaluation adapters.

Every family's evaluation tracker is its SLT rollout tracker run on one sequence with the greedy
action, so what is trained is what is tested. This base holds the plumbing they share (lazy network
loading, device choice, frame conversion, the ``init_bbox`` check, timing); a family names its batched
class and how its ``init`` is called.
"""
from __future__ import annotations

import time
from typing import Any, List, Optional

import numpy as np
import torch

from pytracking_slt.tracker.base.basetracker import BaseTracker
from pytracking_slt.tracker.base.net_wrappers import default_device, unwrap_net

__all__ = ["BatchedTrackerAdapter"]


class BatchedTrackerAdapter(BaseTracker):
    """Evaluation tracker over ``batched_class(net, params, device)`` with one sequence, greedy steps."""

    multiobj_mode = "parallel"
    batched_class: type  # set by the family (BatchedTransT, BatchedDiMP, ...)

    def __init__(self, params: Any) -> None:
        super().__init__(params)
        self.features_initialized = False
        self.tracker: Optional[Any] = None
        self.state: Optional[Any] = None

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

    def _init_state(self, image: torch.Tensor, box: List[float]) -> Any:
        """The batched tracker's ``init`` for one sequence (``image`` [H, W, 3] on its device, ``box`` xywh)."""
        raise NotImplementedError

    def _target_bbox(self, out: Any) -> List[float]:
        """The reported ``[x, y, w, h]`` of a step's output."""
        return [float(v) for v in out.boxes[0].tolist()]

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
        self.tracker = self.batched_class(net, self.params, device)
        self.state = self._init_state(self._image(image), box)
        return {"time": time.time() - tic}

    def track(self, image: np.ndarray, info: Optional[dict] = None) -> dict:
        if self.state is None:
            raise RuntimeError(f"{type(self).__name__}.track called before initialize")
        self.state, out = self.tracker.step([self._image(image)], self.state, mode="greedy")
        return {"target_bbox": self._target_bbox(out)}
