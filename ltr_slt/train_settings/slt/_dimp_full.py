"""Body of the full DiMP-family SLT settings: the recipe SLT-SuperDiMP / SLT-DiMP-50 take from SLT-TrDiMP,
then check weights and datasets, build the net, train."""
from __future__ import annotations

from typing import Any, Callable, Dict

from ltr_slt.train_settings.slt._common import resolve_pretrained
from ltr_slt.train_settings.slt._dimp_common import train_slt_dimp

__all__ = ["slt_recipe", "set_slt_recipe", "run_full"]


def slt_recipe() -> Dict[str, Any]:
    """SLT-TrDiMP's clip, objective and schedule values (``slt_algorithm.md`` 2.1, 7, 8.1) as the families
    without an official SLT run use them: their own FLT rates x 0.04 (the factor SLT-TrDiMP applies to
    TrDiMP's), 8 clips x 24 frames, 40 epochs x 5000 clips, SLT weight 4, chunks of 4, StepLR(8, 0.5), clip 40."""
    return dict(num_seq=8, num_frames=24, samples_per_epoch=5000, num_epochs=40, p_datasets=[1, 1, 1],
                trackingnet_sets=[6, 7, 8, 9, 10, 11], slt_loss_weight=4.0, train_iou_net=False,
                num_seq_backward=4, lr_scale=0.04, lr_step_size=8, lr_gamma=0.5, grad_clip_max_norm=40.0)


def set_slt_recipe(settings: Any, **family_values: Any) -> Any:
    """Set :func:`slt_recipe` and then the family's own values (tracker, kept IoU loss, optimiser recipe)."""
    for key, value in dict(slt_recipe(), **family_values).items():
        setattr(settings, key, value)
    return settings


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
