"""Body of the tiny DiMP-family SLT settings: the full pipeline on generated clips, seconds on a CPU.

Same code path as the full settings (sampler, rollout, reward, proposals, chunked learning,
checkpoints), tiny sizes: a tiny network of the family (``ltr_slt.models.tracking.dimpnet``), 96 px
samples, 2 init augmentations, 2 filter iterations, mean-max range (-2, 2). Data: the synthetic LaSOT-layout set of
``transt_slt_tiny`` (generated once into ``<synthetic_dir or workspace_dir/synthetic>/slt_tiny_lasot``).
Starting weights: ``settings.pretrained_net_path`` or ``$SLT_TINY_DIMP_PRETRAINED``, else a randomly
initialised tiny network. Every value here is only a default: attributes already on ``settings`` win.
"""
from __future__ import annotations

from typing import Any, Dict

from ltr_slt.train_settings.slt._dimp_common import apply_dimp_defaults, train_slt_dimp
from ltr_slt.train_settings.slt._tiny import TINY_CLIP_VALUES, start_tiny_net, tiny_datasets

__all__ = ["ENV_PRETRAINED", "TINY_VALUES", "TINY_TRACKER_PARAMS", "run_tiny"]

ENV_PRETRAINED = "SLT_TINY_DIMP_PRETRAINED"

# score_norm_meanmax: a flatter mean-max range than the official (-7, 7), so that the sampled copies of a
# tiny (random) network leave the greedy action and rewards are non-zero within one iteration.
TINY_TRACKER_PARAMS: Dict[str, Any] = dict(image_sample_size=96, augmentation={"fliplr": True},
                                           net_opt_iter=2, box_refinement_iter=2, num_init_random_boxes=4,
                                           score_norm_meanmax=(-2.0, 2.0))

TINY_VALUES: Dict[str, Any] = dict(
    TINY_CLIP_VALUES,
    samples_per_epoch=2,             # 1 iteration per epoch
    num_epochs=1,
    lr_scale=10.0,
)

_FACTORY = {"trdimp": "trdimpnet_tiny", "super_dimp": "super_dimpnet_tiny", "dimp50": "dimpnet_tiny"}


def run_tiny(settings: Any, family: str) -> Any:
    values = dict(TINY_VALUES, tracker_params=dict(TINY_TRACKER_PARAMS),
                  description=f"SLT ({family}), tiny network on synthetic clips (tests / CPU demo)")
    if family != "dimp50":
        values["num_proposals"] = 16
    apply_dimp_defaults(settings, family, values)

    from ltr_slt.models.tracking import dimpnet

    datasets = tiny_datasets(settings)
    net = getattr(dimpnet, _FACTORY[family])(**dict(getattr(settings, "tiny_net_kwargs", None) or {}))
    start_tiny_net(net, settings, ENV_PRETRAINED, _FACTORY[family], "a checkpoint")
    return train_slt_dimp(settings, net, datasets)
