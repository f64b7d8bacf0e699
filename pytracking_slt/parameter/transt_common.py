"""Shared body of the TransT / SLT-TransT parameter files (they differ only in the weight file).

Which network a parameter file uses follows one rule for every family
(:func:`pytracking_slt.workspace.weights.tracker_weights`): ``net_path``; the family's environment
variable (tiny files: ``$SLT_TINY_NET``); the well-known file name in the network folders; the newest
checkpoint that training wrote to ``<workspace_dir>/checkpoints/ltr/<module>/<settings name>/``.
The file used is printed once.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from pytracking_slt.parameter.params import TrackerParams
from pytracking_slt.tracker.base.net_wrappers import NetWithBackbone, default_device
from pytracking_slt.workspace.weights import default_tracker_weights, tracker_weights

__all__ = ["TINY_NET_ENV_VAR", "transt_parameters", "tiny_transt_parameters"]

# Where the tiny parameter files find their checkpoint when no ``net_path`` is given.
TINY_NET_ENV_VAR = "SLT_TINY_NET"


def transt_parameters(net_path: str, device: Optional[str] = None, use_gpu: bool = True, net: Any = None,
                      train_settings: Optional[Tuple[str, str]] = None, **overrides: Any) -> TrackerParams:
    """TrackerParams for :class:`~pytracking_slt.tracker.transt.TransT` (values of ``architectures.md`` 7.1).

    Args:
        net_path: weight file / checkpoint folder; a bare name is looked up in ``network_path`` /
            ``pretrained_networks`` when the tracker first initialises (lazy, picklable).
        device: 'cpu', 'cuda', 'cuda:1' ...; default ``$SLT_DEVICE``, else cuda when available.
        net: an in-memory network (or wrapper) to use instead of loading ``net_path``.
        train_settings: ``(train_module, train_name)`` whose newest training checkpoint is used when
            ``net_path`` (a bare default name such as ``'slt_transt.pth'``) is in no network folder;
            when neither exists, the name is kept and loading fails listing every folder consulted.
        **overrides: any parameter below (e.g. ``window_influence=0.4``).
    """
    params = TrackerParams()
    params.debug = 0
    params.visualization = False
    params.use_gpu = use_gpu
    params.device = device or default_device(use_gpu)
    # Tracker geometry and decision (TransT / SLT-TransT configs).
    params.template_area_factor = 2.0   # s_z: template crop, resized to exemplar_size
    params.search_area_factor = 4.0     # s_x: search crop, resized to instance_size
    params.exemplar_size = 128
    params.instance_size = 256
    params.window_influence = 0.49
    params.min_box_size = 10.0
    # Stochastic policy of the SLT rollout (unused by greedy evaluation, kept in one place).
    params.temperature = 4.0
    params.sig_eps = 0.01
    if net is None and train_settings is not None:
        net_path = default_tracker_weights(str(net_path), train_settings)
    params.net_path = str(net_path)
    params.net = net if net is not None else NetWithBackbone(net_path=str(net_path), use_gpu=use_gpu,
                                                             device=params.device)
    for name, value in overrides.items():
        setattr(params, name, value)
    return params


def tiny_transt_parameters(param_name: str, net_path: Optional[str] = None, device: Optional[str] = None,
                           train_settings: Optional[Tuple[str, str]] = None, **overrides: Any) -> TrackerParams:
    """Parameters of a tiny-network file (``transt_tiny`` / ``slt_transt_tiny``): CPU unless told otherwise.

    The checkpoint comes from ``net_path``, ``$SLT_TINY_NET`` (file or checkpoint folder), or the
    newest checkpoint of the training run ``train_settings`` (e.g. ``('slt', 'transt_slt_tiny')``)
    in this workspace; an in-memory ``net=`` override needs none. Nothing found:
    :class:`~pytracking_slt.workspace.weights.WeightsNotFoundError` naming ``param_name`` and what was tried.
    """
    import os
    if "net" in overrides:
        path = net_path or "<in-memory>"
    else:
        path = tracker_weights(param_name, net_path, env_var=TINY_NET_ENV_VAR, train_settings=train_settings)
    return transt_parameters(path, device=device or os.environ.get("SLT_DEVICE") or "cpu",
                             use_gpu=False, **overrides)
