"""Body of the full DiMP-family SLT settings: check weights and datasets, build the net, train."""
from __future__ import annotations

from typing import Any, Callable

from ltr_slt.train_settings.slt._common import resolve_pretrained
from ltr_slt.train_settings.slt._dimp_common import train_slt_dimp

__all__ = ["run_full"]


def run_full(settings: Any, factory: Callable[[], Any]) -> Any:
    """Fail early and clearly on missing weights or datasets, then load the baseline into ``factory()``."""
    pretrained = resolve_pretrained(settings)  # error lists every folder searched and the download source
    from ltr_slt.dataset import Got10k, Lasot, TrackingNet

    datasets = [Lasot(settings.env.lasot_dir or None, split="train"),
                Got10k(settings.env.got10k_dir or None, split="vottrain"),
                TrackingNet(settings.env.trackingnet_dir or None, set_ids=list(settings.trackingnet_sets))]

    from ltr_slt.admin.loading import load_checkpoint

    net = factory()
    load_checkpoint(net, pretrained, strict=True)
    return train_slt_dimp(settings, net, datasets)
