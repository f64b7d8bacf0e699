"""Optional live view of a run in visdom (``--use_visdom``); off by default.

visdom is an optional extra: when it is not installed or no server answers, the run continues
without the view and one clear message says how to get it (``pip install visdom`` /
``python -m visdom.server``). The view shows each frame with the tracker's box.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence

import numpy as np

logger = logging.getLogger(__name__)


class VisdomView:
    """Draws frames + boxes into one visdom window ('Tracking')."""

    def __init__(self, viz: Any, max_side: int = 480) -> None:
        self.viz = viz
        self.max_side = max_side

    def show(self, image: np.ndarray, box: Sequence[float], seq_name: str, frame: int) -> None:
        import cv2
        img = np.ascontiguousarray(image)
        x, y, w, h = [float(v) for v in box]
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), (255, 0, 0), 2)
        scale = self.max_side / max(img.shape[:2])
        if scale < 1:
            img = cv2.resize(img, (int(img.shape[1] * scale), int(img.shape[0] * scale)))
        self.viz.image(img.transpose(2, 0, 1), win="Tracking", opts={"title": f"{seq_name} frame {frame}"})


def make_view(visdom_info: Optional[Dict[str, Any]]) -> Optional[VisdomView]:
    """A view when ``visdom_info['use_visdom']`` and a server answers; otherwise None (with a message)."""
    if not visdom_info or not visdom_info.get("use_visdom"):
        return None
    server = visdom_info.get("server", "127.0.0.1")
    port = int(visdom_info.get("port", 8097))
    try:
        import visdom  # optional extra
    except ImportError:
        logger.warning("--use_visdom: the 'visdom' package is not installed (pip install visdom); "
                       "continuing without the live view")
        return None
    address = server if server.startswith("http") else f"http://{server}"
    try:
        viz = visdom.Visdom(server=address, port=port, raise_exceptions=False, use_incoming_socket=False)
        connected = viz.check_connection(timeout_seconds=2)
    except Exception as err:  # noqa: BLE001 - any connection problem means "no view"
        logger.debug("visdom connection error: %s", err)
        connected = False
    if not connected:
        logger.warning("--use_visdom: no visdom server at %s:%d (start one with `python -m visdom.server -port %d`); "
                       "continuing without the live view", address, port, port)
        return None
    return VisdomView(viz)
