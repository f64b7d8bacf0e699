"""SLT with a tiny TransT on synthetic clips: the whole pipeline in seconds on a CPU.

    python -m ltr_slt.run_training slt transt_slt_tiny [--workspace DIR]

Same code path as ``transt_slt`` (sampler, rollout, reward, chunked learning, checkpoints), tiny
sizes. The synthetic LaSOT-layout data is generated on first use into
``<synthetic_dir or workspace_dir/synthetic>/slt_tiny_lasot`` (deterministic, reused afterwards).
Starting weights: ``settings.pretrained_net_path`` or ``$SLT_TINY_PRETRAINED`` (e.g. the demo's
frame-level tiny checkpoint); otherwise a randomly initialised tiny TransT. Every value in
``TINY_VALUES`` is only a default: set it on ``settings`` before ``run`` to change it.
"""
from __future__ import annotations

from typing import Any

from ltr_slt.train_settings.slt._common import apply_defaults, train_slt_transt
from ltr_slt.train_settings.slt._tiny import ensure_synthetic_data, synthetic_data_dir  # noqa: F401 (public)
from ltr_slt.train_settings.slt._tiny import TINY_CLIP_VALUES, start_tiny_net, tiny_datasets

ENV_PRETRAINED = "SLT_TINY_PRETRAINED"

# Tiny values; unlike transt_slt these are defaults: attributes already set on ``settings`` (by a
# caller such as the demo or a test) win.
TINY_VALUES = dict(
    TINY_CLIP_VALUES,
    description="SLT-TransT, tiny network on synthetic clips (tests / CPU demo)",
    samples_per_epoch=4,           # 2 iterations per epoch
    num_epochs=2,
    lr=1e-4,
    backbone_lr=1e-5,
)


def run(settings: Any) -> Any:
    apply_defaults(settings, TINY_VALUES)

    from ltr_slt.models.tracking.transt import transt_tiny

    datasets = tiny_datasets(settings)
    # settings.tiny_net_kwargs: TransTConfig overrides, e.g. {'template_size': 64, 'search_size': 128}
    net = transt_tiny(**dict(getattr(settings, "tiny_net_kwargs", None) or {}))
    start_tiny_net(net, settings, ENV_PRETRAINED, "tiny TransT", "a frame-level checkpoint")
    return train_slt_transt(settings, net, datasets)
