"""Lazy network wrappers for parameter files (pytracking's ``NetWrapper`` / ``NetWithBackbone`` API).

A parameter file must be cheap and picklable: it names a weight file, and the network is only built
and loaded when the tracker calls ``params.net.initialize()``. Unknown attributes are forwarded to
the loaded network (``wrapper.encode_template(...)``), and ``wrapper.net = module`` injects an
in-memory network (tests, training-time evaluation).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Optional, Sequence

import torch

__all__ = ["NetWrapper", "NetWithBackbone", "resolve_network_path", "default_device", "unwrap_net"]

logger = logging.getLogger(__name__)


def default_device(use_gpu: bool = True) -> str:
    """``$SLT_DEVICE`` if set, else 'cuda' when requested and available, else 'cpu'."""
    env = os.environ.get("SLT_DEVICE", "").strip()
    if env:
        return env
    return "cuda" if use_gpu and torch.cuda.is_available() else "cpu"


def unwrap_net(net: Any) -> Any:
    """A pytracking-style wrapper (``wrapper.net``) -> the network itself; a network -> itself."""
    inner = net.__dict__.get("net") if hasattr(net, "__dict__") else None
    if inner is not None and not isinstance(net, torch.nn.Module):
        return inner
    return net


def resolve_network_path(net_path: str) -> str:
    """Existing file or checkpoint folder for ``net_path``.

    An existing (absolute or cwd-relative) path is used as is; a bare name such as ``'transt.pth'``
    is looked up in the pytracking workspace / ``network_path`` / ``pretrained_networks`` folders
    (:func:`pytracking_slt.workspace.weights.resolve_weights`). Missing -> ``FileNotFoundError``
    listing every folder consulted.
    """
    from pytracking_slt.workspace.weights import resolve_weights  # lazy: reads config files

    return resolve_weights(net_path, allow_dir=True)


class NetWrapper:
    """Holds a network that is loaded on :meth:`initialize` from ``net_path``.

    Args:
        net_path: file or checkpoint folder, absolute or a name resolved by :func:`resolve_network_path`.
        use_gpu: default device choice when ``device`` is None.
        initialize: load immediately.
        device: where to put the network ('cpu', 'cuda', 'cuda:1'); None -> :func:`default_device`.
        **kwargs: passed to the network factory (``load_network``), e.g. ``backbone_pretrained=False``.
    """

    _rec_guard = False

    def __init__(self, net_path: str, use_gpu: bool = True, initialize: bool = False,
                 device: Optional[str] = None, **kwargs: Any) -> None:
        self.net_path = net_path
        self.use_gpu = use_gpu
        self.device = device
        self.net_kwargs = kwargs
        self.net = None
        if initialize:
            self.initialize()

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes missing on the wrapper; never recurse during (un)pickling.
        if name.startswith("__") or name in ("net", "_rec_guard") or self.__dict__.get("net") is None:
            raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'"
                                 + ("" if name.startswith("__") or self.__dict__.get("net") is not None
                                    else " (network not loaded yet: call initialize())"))
        return getattr(self.__dict__["net"], name)

    def load_network(self) -> torch.nn.Module:
        from ltr_slt.admin.loading import load_network  # lazy: heavy
        path = resolve_network_path(self.net_path)
        kwargs = dict(self.net_kwargs)
        kwargs.setdefault("backbone_pretrained", False)  # never fetch ImageNet weights for tracking
        kwargs.setdefault("refuse_nonfinite", True)  # NaN/inf weights would only produce garbage results
        net, _ = load_network(path, **kwargs)
        logger.info("loaded network %s", path)
        return net

    def initialize(self) -> None:
        """Load the network (once), move it to the device, eval mode."""
        if self.__dict__.get("net") is None:
            self.net = self.load_network()
        device = self.device or default_device(self.use_gpu)
        self.net = self.net.to(device).eval()


class NetWithBackbone(NetWrapper):
    """``NetWrapper`` plus pytracking's ``preprocess_image`` (0..255 RGB float -> normalised)."""

    def __init__(self, net_path: str, use_gpu: bool = True, initialize: bool = False, image_format: str = "rgb",
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 device: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(net_path, use_gpu, initialize=False, device=device, **kwargs)
        self.image_format = image_format
        self._mean = tuple(mean)
        self._std = tuple(std)
        if initialize:
            self.initialize()

    def preprocess_image(self, im: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` float image in 0..255 -> normalised, on the network's device."""
        if self.image_format in ("rgb", "bgr"):
            im = im / 255.0
        if self.image_format in ("bgr", "bgr255"):
            im = im[:, [2, 1, 0], :, :]
        mean = torch.tensor(self._mean, dtype=im.dtype, device=im.device).view(1, -1, 1, 1)
        std = torch.tensor(self._std, dtype=im.dtype, device=im.device).view(1, -1, 1, 1)
        im = (im - mean) / std
        return im.to(self.device or default_device(self.use_gpu))
