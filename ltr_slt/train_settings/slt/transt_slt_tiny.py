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

import logging
import os
import shutil
import tempfile
from typing import Any

from ltr_slt.train_settings.slt._common import apply_defaults, train_slt_transt

logger = logging.getLogger(__name__)

ENV_PRETRAINED = "SLT_TINY_PRETRAINED"
DATA_SUBDIR = "slt_tiny_lasot"
NUM_SEQUENCES = 4
DATA_SEED = 0


def synthetic_data_dir(settings: Any) -> str:
    """Where the tiny synthetic dataset lives (settings.synthetic_data_dir overrides)."""
    explicit = getattr(settings, "synthetic_data_dir", None)
    if explicit:
        return os.path.expanduser(str(explicit))
    env = settings.env
    base = getattr(env, "synthetic_dir", "") or os.path.join(getattr(env, "workspace_dir", "") or ".", "synthetic")
    return os.path.join(os.path.expanduser(base), DATA_SUBDIR)


def ensure_synthetic_data(root: str) -> str:
    """Generate the tiny dataset once (atomically: a half-written folder is never used)."""
    if os.path.isfile(os.path.join(root, "training_set.txt")):
        return root
    from ltr_slt.dataset.synthetic import SyntheticConfig, generate_dataset

    logger.info("generating the tiny synthetic SLT dataset in %s", root)
    parent = os.path.dirname(os.path.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp_slt_tiny_", dir=parent)
    try:
        config = SyntheticConfig(num_frames=24, width=160, height=120, num_distractors=1)
        generate_dataset(tmp, layout="lasot", num_seq=NUM_SEQUENCES, seed=DATA_SEED, config=config, test_every=0)
        try:
            os.rename(tmp, root)
        except OSError:  # another process finished first
            if not os.path.isfile(os.path.join(root, "training_set.txt")):
                raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return root


# Tiny values; unlike transt_slt these are defaults: attributes already set on ``settings`` (by a
# caller such as the demo or a test) win.
TINY_VALUES = {
    "description": "SLT-TransT, tiny network on synthetic clips (tests / CPU demo)",
    "num_seq": 2,
    "num_frames": 4,
    "samples_per_epoch": 4,        # 2 iterations per epoch
    "num_epochs": 2,
    "num_workers": 0,
    "p_datasets": [1],
    "max_gap": 20,
    "max_interval": 3,
    "min_visible_frames": 8,       # synthetic videos are short
    "num_seq_backward": 1,
    "lr": 1e-4,
    "backbone_lr": 1e-5,
    "print_interval": 1,
}


def run(settings: Any) -> Any:
    apply_defaults(settings, TINY_VALUES)

    from ltr_slt.admin import distributed
    from ltr_slt.dataset import Lasot
    from ltr_slt.models.tracking.transt import transt_tiny

    root = synthetic_data_dir(settings)
    if distributed.is_main_process():
        ensure_synthetic_data(root)
    distributed.barrier()
    datasets = [Lasot(root)]

    # settings.tiny_net_kwargs: TransTConfig overrides, e.g. {'template_size': 64, 'search_size': 128}
    net = transt_tiny(**dict(getattr(settings, "tiny_net_kwargs", None) or {}))
    pretrained = getattr(settings, "pretrained_net_path", None) or os.environ.get(ENV_PRETRAINED, "")
    settings.pretrained_net = pretrained or None
    if pretrained:
        from ltr_slt.admin.loading import load_checkpoint
        load_checkpoint(net, pretrained, strict=True)
        logger.info("tiny SLT starts from %s", pretrained)
    else:
        logger.info("tiny SLT starts from a randomly initialised tiny TransT (set $%s to start from a "
                    "frame-level checkpoint)", ENV_PRETRAINED)
    return train_slt_transt(settings, net, datasets)
