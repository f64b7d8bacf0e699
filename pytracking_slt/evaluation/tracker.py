"""``Tracker``: a (tracker, parameter file, run id) triple that runs one sequence frame by frame.

Mirrors pytracking's ``pytracking/evaluation/tracker.py``:

* ``results_dir = <results_path>/<name>/<parameter_name>[_<run_id:03d>]``;
* the tracker class comes from ``pytracking_slt.tracker.<name>.get_tracker_class()`` and the
  parameters from ``pytracking_slt.parameter.<name>.<parameter_name>.parameters()`` (other modules can
  be named with ``tracker_module`` / ``parameter_module``, e.g. a tracker outside this package);
* fresh parameters and a fresh tracker per sequence; ``params.debug = debug`` and
  ``params.visualization = bool(debug)`` override the parameter file (as in pytracking);
* frames are read one at a time (RGB uint8 HxWx3) and handed to ``initialize`` (frame 0) and
  ``track`` (frames 1..N-1, with ``info['previous_output']``); the per-frame time is measured around
  ``track`` only (image reading is excluded) unless the tracker returns its own ``time``.

Everything here is picklable (names only), so a ``Tracker`` can be sent to spawn workers.
"""
from __future__ import annotations

import importlib
import logging
import os
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from .data import Sequence, UnreadableSequence
from .results_io import results_dir_for

logger = logging.getLogger(__name__)

_STORED_KEYS = ("target_bbox", "time", "object_presence_score")


class SequenceError(RuntimeError):
    """A sequence cannot be run (missing frames, broken annotation, tracker output invalid)."""


def read_image_rgb(path: str) -> np.ndarray:
    """HxWx3 RGB uint8 (cv2 decode + BGR->RGB, as pytracking)."""
    import cv2
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise SequenceError(f"cannot read frame {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_sequence(seq: Sequence) -> None:
    """Fail early, naming the sequence, on missing frames or a broken first-frame annotation."""
    if isinstance(seq, UnreadableSequence):
        raise SequenceError(seq.error)
    if len(seq.frames) == 0:
        raise SequenceError(f"sequence {seq.name}: no frames")
    missing = [f for f in seq.frames if not os.path.isfile(f)]
    if missing:
        raise SequenceError(f"sequence {seq.name}: {len(missing)} of {len(seq.frames)} frames missing "
                            f"(first: {missing[0]})")
    box = seq.init_bbox(0)
    if box is None:
        raise SequenceError(f"sequence {seq.name}: no init box for frame 0")
    arr = np.asarray(box, dtype=np.float64)
    if arr.shape != (4,) or not np.isfinite(arr).all() or arr[2] <= 0 or arr[3] <= 0:
        raise SequenceError(f"sequence {seq.name}: invalid first-frame box {arr.tolist()} (need finite x, y and "
                            f"w, h > 0)")


def _import_attr(module_name: str, what: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise ImportError(f"{what}: module {module_name!r} not found") from err
        raise


class Tracker:
    """One tracker configuration, pytracking-compatible (``name``, ``parameter_name``, ``run_id``,
    ``display_name``, ``results_dir``, ``run_sequence``)."""

    def __init__(self, name: str, parameter_name: str, run_id: Optional[int] = None,
                 display_name: Optional[str] = None, results_path: Optional[str] = None,
                 tracker_module: Optional[str] = None, parameter_module: Optional[str] = None,
                 device: Optional[str] = None, param_overrides: Optional[Dict[str, Any]] = None) -> None:
        if run_id is not None and not isinstance(run_id, (int, np.integer)):
            raise TypeError(f"run_id must be None or int, got {run_id!r}")
        self.name = name
        self.parameter_name = parameter_name
        self.run_id = None if run_id is None else int(run_id)
        self.display_name = display_name
        if results_path is None:
            from ltr_slt.admin.environment import env_settings
            results_path = env_settings().results_path
        self.results_path = results_path
        self.results_dir = results_dir_for(results_path, name, parameter_name, self.run_id)
        self.tracker_module = tracker_module or f"pytracking_slt.tracker.{name}"
        self.parameter_module = parameter_module or f"pytracking_slt.parameter.{name}.{parameter_name}"
        self.device = device
        self.param_overrides = dict(param_overrides or {})

    def __repr__(self) -> str:
        return f"Tracker({self.name!r}, {self.parameter_name!r}, run_id={self.run_id})"

    @property
    def label(self) -> str:
        """Row label as in pytracking's tables: display name or ``<name>_<param>[_<runid:03d>]``."""
        if self.display_name:
            return self.display_name
        base = f"{self.name}_{self.parameter_name}"
        return base if self.run_id is None else f"{base}_{self.run_id:03d}"

    def get_tracker_class(self) -> Callable[..., Any]:
        module = _import_attr(self.tracker_module, f"tracker {self.name!r}")
        if not hasattr(module, "get_tracker_class"):
            raise ImportError(f"tracker module {self.tracker_module} has no get_tracker_class()")
        return module.get_tracker_class()

    def get_parameters(self) -> Any:
        module = _import_attr(self.parameter_module, f"parameters {self.name}/{self.parameter_name}")
        if not hasattr(module, "parameters"):
            raise ImportError(f"parameter module {self.parameter_module} has no parameters()")
        params = module.parameters()
        for key, value in self.param_overrides.items():
            setattr(params, key, value)
        if self.device is not None:
            params.device = self.device
        return params

    def create_tracker(self, params: Any) -> Any:
        tracker = self.get_tracker_class()(params)
        if not hasattr(tracker, "visdom"):
            tracker.visdom = None
        return tracker

    def run_sequence(self, seq: Sequence, debug: int = 0, viewer: Any = None) -> Dict[str, List[Any]]:
        """Track ``seq``; returns pytracking's output dict (``target_bbox``, ``time``[, scores])."""
        check_sequence(seq)
        params = self.get_parameters()
        params.debug = debug
        params.visualization = bool(debug)
        tracker = self.create_tracker(params)
        return track_sequence(tracker, seq, viewer=viewer)


def track_sequence(tracker: Any, seq: Sequence, viewer: Any = None) -> Dict[str, List[Any]]:
    """The per-frame loop (pytracking's ``_track_sequence``), one frame at a time."""
    output: Dict[str, List[Any]] = {key: [] for key in _STORED_KEYS}

    def store(out: Dict[str, Any], defaults: Dict[str, Any]) -> None:
        for key in _STORED_KEYS:
            value = out.get(key, defaults.get(key))
            if key in out or value is not None:
                output[key].append(value)

    image = read_image_rgb(seq.frames[0])
    init_info = seq.init_info()
    start = time.perf_counter()
    out = tracker.initialize(image, init_info)
    elapsed = time.perf_counter() - start
    out = {} if out is None else dict(out)
    first_out = out
    store(out, {"target_bbox": list(init_info["init_bbox"]), "time": elapsed})
    if viewer is not None:
        viewer.show(image, output["target_bbox"][-1], seq.name, 0)

    prev = OrderedDict(out)
    for k in range(1, len(seq.frames)):
        image = read_image_rgb(seq.frames[k])
        info = seq.frame_info(k)
        info["previous_output"] = prev
        start = time.perf_counter()
        out = tracker.track(image, info)
        elapsed = time.perf_counter() - start
        if out is None or "target_bbox" not in out:
            raise SequenceError(f"sequence {seq.name}: tracker.track returned no 'target_bbox' at frame {k}")
        box = np.asarray(out["target_bbox"], dtype=np.float64).reshape(-1)
        if box.shape != (4,) or not np.isfinite(box).all():
            raise SequenceError(f"sequence {seq.name}: invalid target_bbox {box.tolist()} at frame {k}")
        store(out, {"time": elapsed})
        if viewer is not None:
            viewer.show(image, output["target_bbox"][-1], seq.name, k)
        prev = OrderedDict(out)
    scores = output["object_presence_score"]
    if len(scores) == len(seq.frames) - 1 and "object_presence_score" not in first_out:
        scores.insert(0, 1.0)                  # pytracking's frame-0 default
    if len(scores) not in (0, len(seq.frames)):
        output["object_presence_score"] = []   # only some frames reported a score: not storable per frame
    return output


def trackerlist(name: str, parameter_name: str, run_ids: Optional[Any] = None,
                display_name: Optional[str] = None, **kwargs: Any) -> List[Tracker]:
    """One ``Tracker`` per run id (pytracking's ``trackerlist``)."""
    if run_ids is None or isinstance(run_ids, int):
        run_ids = [run_ids]
    return [Tracker(name, parameter_name, r, display_name, **kwargs) for r in run_ids]
