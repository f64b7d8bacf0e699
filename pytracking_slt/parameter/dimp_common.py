"""Shared body of the DiMP-family parameter files: pytracking's / TransformerTrack's / SLTtrack's values.

Every released file of the family sets the same ~45 attributes; they differ in a handful
(``architectures.md`` 7.2-7.3, ``slt_algorithm.md`` 9). :data:`VARIANTS` holds each file's values as
the difference from DiMP-50's; :func:`dimp_parameters` builds a ``TrackerParams`` from a variant name.

Which network a parameter file uses follows the rule every family shares
(:func:`pytracking_slt.workspace.weights.tracker_weights`): ``net_path``; for tiny files
``$SLT_TINY_DIMP_NET``; the released file name in the network folders; the newest checkpoint that the
file's training run wrote to ``<workspace_dir>/checkpoints/ltr/slt/<settings name>/``. The file used
is printed once.
"""
from __future__ import annotations

import copy
import os
from typing import Any, Dict, Optional, Tuple

from pytracking_slt.parameter.params import TrackerParams
from pytracking_slt.tracker.base.net_wrappers import NetWithBackbone, default_device
from pytracking_slt.workspace.weights import default_tracker_weights, tracker_weights

__all__ = ["VARIANTS", "WEIGHTS", "TINY_DIMP_NET_ENV_VAR", "dimp_parameters", "tiny_dimp_parameters",
           "slt_rollout_overrides"]

TINY_DIMP_NET_ENV_VAR = "SLT_TINY_DIMP_NET"

_AUGMENTATION = {"fliplr": True,
                 "rotate": [10, -10, 45, -45],
                 "blur": [(3, 1), (1, 3), (2, 2)],
                 "relativeshift": [(0.6, 0.6), (-0.6, 0.6), (0.6, -0.6), (-0.6, -0.6)],
                 "dropout": (2, 0.2)}

# pytracking/parameter/dimp/dimp50.py
_DIMP50: Dict[str, Any] = dict(
    image_sample_size=18 * 16, search_area_scale=5, border_mode="replicate",
    sample_memory_size=50, learning_rate=0.01, init_samples_minimum_weight=0.25, train_skipping=20,
    update_classifier=True, net_opt_iter=10, net_opt_update_iter=2, net_opt_hn_iter=1,
    window_output=False, use_augmentation=True, augmentation=_AUGMENTATION,
    augmentation_expansion_factor=2, random_shift_factor=1 / 3,
    advanced_localization=True, target_not_found_threshold=0.25, distractor_threshold=0.8,
    hard_negative_threshold=0.5, target_neighborhood_scale=2.2, dispalcement_scale=0.8,
    hard_negative_learning_rate=0.02, update_scale_when_uncertain=True,
    iounet_augmentation=False, iounet_use_log_scale=True, iounet_k=3, num_init_random_boxes=9,
    box_jitter_pos=0.1, box_jitter_sz=0.5, maximal_aspect_ratio=6, box_refinement_iter=5,
    box_refinement_step_length=1, box_refinement_step_decay=1, box_refinement_space="default",
    use_transformer=False, vot_anno_conversion_type="preserve_area",
)
# pytracking/parameter/dimp/super_dimp.py
_SUPER = dict(image_sample_size=22 * 16, search_area_scale=6, border_mode="inside_major", patch_max_scale_change=1.5,
              box_refinement_space="relative", box_refinement_iter=10, box_refinement_step_length=2.5e-3)
# TransformerTrack pytracking/parameter/trdimp/trdimp.py (= SLTtrack's slt_trdimp.py)
_TRDIMP = dict(_SUPER, transformer_skipping=5, transformer_memory_size=20, use_transformer=True)
# trdimp_lasot.py: the memory is never updated ((frame - 1) % 0.1 is never 0 for integer frames)
_TRDIMP_LASOT = dict(_TRDIMP, transformer_skipping=1e-1, transformer_memory_size=-1)


def slt_rollout_overrides(net_opt_iter: int = 5) -> Dict[str, Any]:
    """SLT-TrDiMP's rollout-time tracker (``get_tracker_params`` of its train setting, ``slt_algorithm.md`` 9):
    no online update, no advanced localization, no dropout sample, mean-max softmax policy, refinement on."""
    aug = {k: v for k, v in _AUGMENTATION.items() if k != "dropout"}
    return dict(update_classifier=False, net_opt_iter=net_opt_iter, augmentation=aug, advanced_localization=False,
                score_preprocess="softmax", score_norm_meanmax=(-7, 7), use_iou_net=True)


VARIANTS: Dict[str, Dict[str, Any]] = {
    "dimp50": _DIMP50,
    "super_dimp": dict(_DIMP50, **_SUPER),
    "trdimp": dict(_DIMP50, **_TRDIMP),
    "trdimp_lasot": dict(_DIMP50, **_TRDIMP_LASOT),
    "slt_trdimp": dict(_DIMP50, **_TRDIMP),
    # SLTtrack's slt_trdimp_lasot.py: as trdimp_lasot but without the dropout augmentation
    "slt_trdimp_lasot": dict(_DIMP50, **_TRDIMP_LASOT,
                             augmentation={k: v for k, v in _AUGMENTATION.items() if k != "dropout"}),
    "slt_trdimp_rollout": dict(_DIMP50, **_TRDIMP, **slt_rollout_overrides()),
    # SLT on DiMP-50 (our addition, no official file): DiMP-50 evaluation values / the SLT rollout recipe
    "slt_dimp": _DIMP50,
    "slt_dimp_rollout": dict(_DIMP50, **slt_rollout_overrides()),
}

WEIGHTS = {"dimp50": "dimp50.pth", "super_dimp": "super_dimp.pth.tar", "trdimp": "trdimp_net.pth.tar",
           "trdimp_lasot": "trdimp_net.pth.tar", "slt_trdimp": "slt_trdimp.pth", "slt_trdimp_lasot": "slt_trdimp.pth",
           "slt_trdimp_rollout": "slt_trdimp.pth", "slt_dimp": "slt_dimp.pth", "slt_dimp_rollout": "slt_dimp.pth"}


def dimp_parameters(variant: str, net_path: Optional[str] = None, device: Optional[str] = None,
                    use_gpu: bool = True, net: Any = None, train_settings: Optional[Tuple[str, str]] = None,
                    **overrides: Any) -> TrackerParams:
    """TrackerParams of ``variant`` (a key of :data:`VARIANTS`) for the DiMP-family tracker.

    Args:
        net_path: weight file / checkpoint folder (default: the released file name of the variant,
            looked up in ``network_path`` / ``pretrained_networks`` when the tracker first initialises).
        device: 'cpu', 'cuda', 'cuda:1' ...; default ``$SLT_DEVICE``, else cuda when available.
        net: an in-memory network (or wrapper) to use instead of loading ``net_path``.
        train_settings: ``(train_module, train_name)`` whose newest training checkpoint is used when no
            ``net_path`` is given and the released file is in no network folder.
        **overrides: any tracker parameter (e.g. ``num_init_random_boxes=0``, ``seed=3``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown DiMP-family parameter set {variant!r}; known: {sorted(VARIANTS)}")
    params = TrackerParams()
    params.debug = 0
    params.visualization = False
    params.use_gpu = use_gpu
    params.device = device or default_device(use_gpu)
    for name, value in copy.deepcopy(VARIANTS[variant]).items():
        setattr(params, name, value)
    params.seed = 0  # per-sequence RNG seed (init shifts, dropout, jitter boxes)
    path = str(net_path or WEIGHTS[variant])
    if not net_path and net is None and train_settings is not None:
        path = default_tracker_weights(path, train_settings)
    params.net_path = path
    params.net = net if net is not None else NetWithBackbone(net_path=path, use_gpu=use_gpu, device=params.device)
    for name, value in overrides.items():
        setattr(params, name, value)
    return params


def tiny_dimp_parameters(variant: str, param_name: str, net_path: Optional[str] = None,
                         device: Optional[str] = None, train_settings: Optional[Tuple[str, str]] = None,
                         **overrides: Any) -> TrackerParams:
    """``variant``'s values with a tiny checkpoint (CPU unless told otherwise).

    The checkpoint comes from ``net_path``, ``$SLT_TINY_DIMP_NET`` (file or checkpoint folder), or the
    newest checkpoint of the training run ``train_settings`` (e.g. ``('slt', 'trdimp_slt_tiny')``) in this
    workspace; an in-memory ``net=`` override needs none. Nothing found:
    :class:`~pytracking_slt.workspace.weights.WeightsNotFoundError` naming ``param_name`` and what was tried.
    """
    if "net" in overrides:
        path = net_path or "<in-memory>"
    else:
        path = tracker_weights(param_name, net_path, env_var=TINY_DIMP_NET_ENV_VAR, train_settings=train_settings)
    return dimp_parameters(variant, path, device=device or os.environ.get("SLT_DEVICE") or "cpu",
                           use_gpu=False, **overrides)
