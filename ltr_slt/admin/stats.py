"""Training statistics (ltr's ``StatValue`` / ``AverageMeter``), running means, tensorboard, progress.

The meter classes keep ltr's attribute names (``val``, ``avg``, ``sum``, ``count``, ``history``,
``has_new_data``) because the ``stats`` object is pickled into checkpoints and read by users'
scripts. Tensorboard is optional: ``torch.utils.tensorboard`` needs the ``tensorboard`` package,
so it is imported lazily and a missing package is reported once, then writing is a no-op.
"""
from __future__ import annotations

import logging
import math
import os
import time
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Mapping, Optional

logger = logging.getLogger(__name__)

__all__ = ["StatValue", "AverageMeter", "RunningAverage", "TensorboardWriter", "ProgressLogger",
           "format_stats"]


class StatValue:
    """A value recorded once per epoch (e.g. the learning rate)."""

    def __init__(self) -> None:
        self.clear()

    def reset(self) -> None:
        self.val = 0

    def clear(self) -> None:
        self.reset()
        self.history: List[float] = []

    def update(self, val: float) -> None:
        self.val = val
        self.history.append(self.val)


class AverageMeter:
    """Weighted mean over the current epoch; ``new_epoch`` appends it to ``history``."""

    def __init__(self) -> None:
        self.clear()
        self.has_new_data = False

    def reset(self) -> None:
        self.avg = 0
        self.val = 0
        self.sum = 0
        self.count = 0

    def clear(self) -> None:
        self.reset()
        self.history: List[float] = []

    def update(self, val: float, n: int = 1) -> None:
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def new_epoch(self) -> None:
        if self.count > 0:
            self.history.append(self.avg)
            self.reset()
            self.has_new_data = True
        else:
            self.has_new_data = False


class RunningAverage:
    """Mean of the last ``window`` updates, carried across epochs (SLT's ``mIoU10`` / ``mIoU100``)."""

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"running-average window must be >= 1, got {window}")
        self.window = int(window)
        # A plain list, not a deque: checkpoints pickle the stats, and torch's weights_only
        # unpickler (torch >= 2.6) refuses deques.
        self.values: List[float] = []
        self.val = 0.0
        self.history: List[float] = []
        self.has_new_data = False

    @property
    def avg(self) -> float:
        return sum(self.values) / len(self.values) if self.values else 0.0

    def update(self, val: float, n: int = 1) -> None:  # n unused: one value per iteration
        self.val = val
        self.values.append(float(val))
        if len(self.values) > self.window:
            del self.values[0]

    def new_epoch(self) -> None:
        self.has_new_data = bool(self.values)
        if self.values:
            self.history.append(self.avg)


def format_stats(stats: Mapping[str, Any], names: Optional[Iterable[str]] = None) -> str:
    """``name: avg`` pairs of meters (objects with ``avg``), 5 decimals like ltr."""
    wanted = set(names) if names is not None else None
    parts = []
    for name, meter in stats.items():
        if wanted is not None and name not in wanted:
            continue
        if hasattr(meter, "avg"):
            parts.append(f"{name}: {meter.avg:.5f}")
    return "  ".join(parts)


class ProgressLogger:
    """Periodic progress lines ``[train: 3, 10 / 125] 12.3 samples/s (11.9)  Loss/total: ...``.

    Log lines rather than a tqdm bar: they survive redirection to files and interleaved ranks.
    """

    def __init__(self, print_interval: int = 10, print_stats: Optional[Iterable[str]] = None,
                 log: Optional[logging.Logger] = None) -> None:
        self.print_interval = max(1, int(print_interval))
        self.print_stats = list(print_stats) if print_stats is not None else None
        self.log = log or logger
        self.start_epoch()

    def start_epoch(self) -> None:
        self.t0 = self.t_prev = time.perf_counter()
        self.samples = 0

    def update(self, loader_name: str, epoch: int, it: int, num_it: Optional[int], n: int,
               stats: Mapping[str, Any]) -> Optional[str]:
        """Count ``n`` samples of iteration ``it``; return (and log) a line when due."""
        now = time.perf_counter()
        self.samples += n
        batch_rate = n / max(now - self.t_prev, 1e-9)
        self.t_prev = now
        last = num_it is not None and it == num_it
        if it % self.print_interval != 0 and not last:
            return None
        avg_rate = self.samples / max(now - self.t0, 1e-9)
        total = f" / {num_it}" if num_it is not None else ""
        line = (f"[{loader_name}: {epoch}, {it}{total}] {avg_rate:.2f} samples/s ({batch_rate:.2f})  "
                f"{format_stats(stats, self.print_stats)}")
        self.log.info(line)
        return line


class TensorboardWriter:
    """One ``SummaryWriter`` per loader under ``<directory>/<loader_name>`` (ltr's layout).

    Without the ``tensorboard`` package (or tensorboardX) it logs one info line and does nothing.
    """

    _missing_reported = False

    def __init__(self, directory: str, loader_names: Iterable[str]) -> None:
        self.directory = directory
        self.writers: Dict[str, Any] = OrderedDict()
        writer_cls = self._summary_writer_class()
        self.enabled = writer_cls is not None
        if not self.enabled:
            return
        for name in loader_names:
            self.writers[name] = writer_cls(os.path.join(directory, name))
        self._writer_cls = writer_cls

    @classmethod
    def _summary_writer_class(cls) -> Any:
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
            return SummaryWriter
        except ImportError:
            pass
        try:
            from tensorboardX import SummaryWriter  # type: ignore[no-redef]
            return SummaryWriter
        except ImportError:
            pass
        if not cls._missing_reported:
            cls._missing_reported = True
            logger.info("tensorboard is not installed: no tensorboard logs "
                        "(pip install tensorboard, or slt-tracking[tb])")
        return None

    def write_info(self, module_name: str, script_name: str, description: str = "") -> None:
        if not self.enabled:
            return
        writer = self._writer_cls(os.path.join(self.directory, "info"))
        writer.add_text("Module_name", str(module_name))
        writer.add_text("Script_name", str(script_name))
        writer.add_text("Description", str(description or ""))
        writer.close()

    def write_epoch(self, stats: Mapping[str, Mapping[str, Any]], epoch: int, ind: int = -1) -> None:
        """Write the latest history value of every stat with new data."""
        if not self.enabled:
            return
        for loader_name, loader_stats in stats.items():
            if loader_stats is None or loader_name not in self.writers:
                continue
            writer = self.writers[loader_name]
            for name, value in loader_stats.items():
                history = getattr(value, "history", None)
                if history and getattr(value, "has_new_data", True):
                    v = history[ind]
                    if isinstance(v, (int, float)) and math.isfinite(v):
                        writer.add_scalar(name, v, epoch)
            writer.flush()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
