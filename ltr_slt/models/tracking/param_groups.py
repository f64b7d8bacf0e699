"""Per-module learning rates and frozen backbone layers of the official DiMP-family train settings.

architectures.md 6.2 / 6.3 (pytracking ``dimp50.py`` / ``super_dimp.py``, TransformerTrack
``transformer_dimp.py``, SLTtrack ``slt_trdimp.py``). A settings file does::

    groups, lr = dimp_param_groups(net, "trdimp")
    optimizer = torch.optim.Adam(groups, lr=lr)

Each group is ``{'params', 'lr', 'name'}`` (``lr`` absent where the official group uses the default);
modules the recipe does not list (e.g. DiMP-50's unused ``layer4``/``fc`` inside the whole-backbone
group, or TrDiMP's ``layer4``) are treated exactly as the official code treats them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from torch import nn

__all__ = ["DimpRecipe", "RECIPES", "dimp_param_groups", "apply_frozen_layers"]


@dataclass(frozen=True)
class DimpRecipe:
    """Adam default lr, ``(module path, lr or None for the default)`` groups, frozen backbone layers."""

    lr: float
    groups: Tuple[Tuple[str, Optional[float]], ...]
    frozen_backbone_layers: Tuple[str, ...] = ()


_FROZEN = ("conv1", "bn1", "layer1", "layer2")
RECIPES: Dict[str, DimpRecipe] = {
    "dimp50": DimpRecipe(2e-4, (("classifier.filter_initializer", 5e-5), ("classifier.filter_optimizer", 5e-4),
                                ("classifier.feature_extractor", 5e-5), ("bb_regressor", None),
                                ("feature_extractor", 2e-5))),
    "super_dimp": DimpRecipe(2e-4, (("classifier.filter_initializer", 5e-5), ("classifier.filter_optimizer", 5e-4),
                                    ("classifier.feature_extractor", 5e-5), ("bb_regressor", 1e-3),
                                    ("feature_extractor.layer3", 2e-5)), _FROZEN),
    "trdimp": DimpRecipe(2e-4, (("classifier.filter_initializer", 5e-5), ("classifier.filter_optimizer", 5e-4),
                                ("classifier.feature_extractor", 5e-5), ("classifier.transformer", 1e-3),
                                ("bb_regressor", 1e-3), ("feature_extractor.layer3", 2e-5)), _FROZEN),
    # SLT-TrDiMP: the TrDiMP rates / 25 (SLTtrack slt_trdimp.py)
    "slt_trdimp": DimpRecipe(8e-6, (("classifier.filter_initializer", 2e-6), ("classifier.filter_optimizer", 2e-5),
                                    ("classifier.feature_extractor", 2e-6), ("classifier.transformer", 4e-5),
                                    ("bb_regressor", 4e-5), ("feature_extractor.layer3", 8e-7)), _FROZEN),
}


def _unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, (nn.DataParallel, nn.parallel.DistributedDataParallel)) else net


def apply_frozen_layers(net: nn.Module, layers: Sequence[str]) -> None:
    """Freeze these backbone layers (no gradient, eval-mode BatchNorm in training), as ltr's ``Backbone``."""
    _unwrap(net).feature_extractor.set_frozen_layers(layers)


def dimp_param_groups(net: nn.Module, recipe: str = "trdimp", lr_scale: float = 1.0,
                      freeze: bool = True) -> Tuple[List[Dict[str, Any]], float]:
    """(Adam parameter groups, default lr) of the official ``recipe``; all rates times ``lr_scale``.

    ``freeze`` also applies the recipe's frozen backbone layers to ``net`` (the factories already
    do for networks built with the recipe's constructor arguments).
    """
    if recipe not in RECIPES:
        raise ValueError(f"dimp_param_groups: unknown recipe '{recipe}' (known: {', '.join(RECIPES)})")
    spec = RECIPES[recipe]
    net = _unwrap(net)
    if freeze and spec.frozen_backbone_layers:
        apply_frozen_layers(net, spec.frozen_backbone_layers)
    groups: List[Dict[str, Any]] = []
    for path, lr in spec.groups:
        try:
            module = net.get_submodule(path)
        except AttributeError as err:
            raise ValueError(f"dimp_param_groups: recipe '{recipe}' needs module '{path}', which "
                             f"{type(net).__name__} lacks") from err
        group: Dict[str, Any] = {"params": list(module.parameters()), "name": path}
        if lr is not None:
            group["lr"] = lr * lr_scale
        groups.append(group)
    return groups, spec.lr * lr_scale
