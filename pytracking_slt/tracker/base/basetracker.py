"""pytracking's ``BaseTracker`` interface (``pytracking_contract.md`` 8.1), written for this package."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional

import numpy as np

__all__ = ["BaseTracker"]


class BaseTracker:
    """Evaluation tracker: ``initialize(image, info)`` on frame 0, then ``track(image, info)`` per frame.

    ``image`` is an HxWx3 RGB uint8 numpy array; ``info['init_bbox']`` is ``[x, y, w, h]``;
    ``track`` returns at least ``{'target_bbox': [x, y, w, h]}``.
    """

    def __init__(self, params: Any) -> None:
        self.params = params
        self.visdom = None

    def predicts_segmentation_mask(self) -> bool:
        return False

    def initialize(self, image: np.ndarray, info: dict) -> Optional[dict]:
        raise NotImplementedError

    def track(self, image: np.ndarray, info: Optional[dict] = None) -> dict:
        raise NotImplementedError

    def visdom_draw_tracking(self, image: np.ndarray, box: Any, segmentation: Any = None) -> None:
        """Show the frame with its box(es) in visdom when one is attached (debug only)."""
        if self.visdom is None:
            return
        if box is None:
            boxes = []
        elif isinstance(box, (OrderedDict, dict)):
            boxes = list(box.values())
        elif isinstance(box, list) and box and isinstance(box[0], (list, tuple, np.ndarray)):
            boxes = box
        else:
            boxes = [box]
        payload = (image, *boxes) if segmentation is None else (image, *boxes, segmentation)
        self.visdom.register(payload, "Tracking", 1, "Tracking")
