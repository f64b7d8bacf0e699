"""SLTTrainer: one full SLT iteration changes the weights, writes a loadable checkpoint, resumes."""
from __future__ import annotations

import math

import pytest
import torch

from ltr_slt.admin.environment import env_settings
from ltr_slt.admin.loading import load_network
from ltr_slt.admin.settings import Settings
from ltr_slt.train_settings.slt._common import (apply_defaults, build_lr_scheduler, build_optimizer,
                                                build_tracker_and_actor)
from ltr_slt.trainers.slt_trainer import SLTTrainer, chunk_indices
from test_rollout import make_clips, make_net


class ListLoader:
    """Minimal loader: a fixed list of clip batches per epoch."""

    name = "train"
    training = True
    epoch_interval = 1

    def __init__(self, batches):
        self.batches = batches
        self.batch_size = len(batches[0])

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


def make_trainer(tmp_path, lr=1e-3, seed=0, **overrides):
    settings = Settings(env_settings(workspace_dir=str(tmp_path)))
    settings.project_path = "ltr/slt/test_slt"
    settings.device = "cpu"
    settings.module_name, settings.script_name = "slt", "test_slt"
    apply_defaults(settings, {"lr": lr, "backbone_lr": lr, "num_seq_backward": 2, "print_interval": 100})
    for k, v in overrides.items():
        setattr(settings, k, v)
    net = make_net(seed)
    tracker, actor = build_tracker_and_actor(net, settings, "cpu")
    optimizer = build_optimizer(net, settings)
    loader = ListLoader([make_clips([3, 3], seed=1)])
    trainer = SLTTrainer(actor, [loader], optimizer, settings, build_lr_scheduler(optimizer, settings),
                         tracker=tracker)
    return trainer


def test_chunk_indices():
    assert chunk_indices(5, 2) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="num_seq_backward"):
        chunk_indices(3, 0)


def test_one_iteration_updates_weights_and_logs_official_stats(tmp_path):
    trainer = make_trainer(tmp_path)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    stats = trainer.train_step(make_clips([3, 3, 2], seed=2))
    after = trainer.net.state_dict()
    changed = [k for k in before if before[k].dtype.is_floating_point and not torch.equal(before[k], after[k])]
    assert any(k.startswith("class_embed") for k in changed) and any(k.startswith("backbone") for k in changed)
    for key in ("Loss/total", "Loss/sl_clf", "Loss/bbox", "Loss/giou", "reward", "mIoU", "e_mIoU", "entropy",
                "clips/s", "FPS", "bbox_iou"):
        assert key in stats and math.isfinite(stats[key]), key
    assert stats["skipped"] == 0.0
    assert stats["reward"] == pytest.approx(stats["e_mIoU"] - stats["mIoU"], abs=1e-6)
    assert not trainer.net.training  # SLT learns in eval mode


def test_bf16_autocast_iteration_on_cpu(tmp_path):
    """The AMP path (autocast in learning and, optionally, in the rollout) runs end to end; bf16
    autocast exists on the CPU, so this is checked without a GPU (fp16 + GradScaler needs CUDA)."""
    trainer = make_trainer(tmp_path, amp="bf16", amp_rollout=True)
    assert trainer.amp_dtype == torch.bfloat16
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    stats = trainer.train_step(make_clips([3, 3], seed=4))
    assert stats["skipped"] == 0.0 and math.isfinite(stats["Loss/total"])
    after = trainer.net.state_dict()
    assert all(v.dtype == before[k].dtype for k, v in after.items())  # weights stay float32
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].dtype.is_floating_point)


def test_train_writes_loadable_checkpoint_and_resumes(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.train(1)
    ckpt = tmp_path / "checkpoints" / "ltr" / "slt" / "test_slt" / "TransT_ep0001.pth.tar"
    assert ckpt.is_file()
    net, state = load_network(str(ckpt))  # our own checkpoints load without trusted=True
    assert state["epoch"] == 1
    for k, v in trainer.net.state_dict().items():
        assert torch.equal(net.state_dict()[k], v), k
    train_stats = trainer.stats["train"]
    assert "mIoU" in train_stats and "Loss/sl_clf" in train_stats and "grad_norm" in train_stats

    resumed = make_trainer(tmp_path, seed=123)  # different init: must be overwritten by the checkpoint
    seen = []
    original = resumed.train_epoch
    resumed.train_epoch = lambda: (seen.append(resumed.epoch), original())[1]
    resumed.train(2, load_latest=True)
    assert seen == [2]  # epoch 1 is not repeated
    assert (ckpt.parent / "TransT_ep0002.pth.tar").is_file()
    assert resumed.lr_scheduler.last_epoch == 2


def test_nonfinite_loss_skips_the_step(tmp_path):
    trainer = make_trainer(tmp_path)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    original = trainer.actor.learn

    def poisoned(chunk, adv, norm=None):
        loss, stats = original(chunk, adv, norm)
        return loss * float("nan"), stats

    trainer.actor.learn = poisoned
    stats = trainer.train_step(make_clips([2, 2], seed=4))
    assert stats["skipped"] == 1.0 and trainer.skipped_steps == 1
    for k, v in trainer.net.state_dict().items():
        assert torch.equal(before[k], v), k


def test_tiny_settings_run_end_to_end_through_run_training(tmp_path):
    """`python -m ltr_slt.run_training slt transt_slt_tiny`: synthetic data, sampler, rollout, checkpoint."""
    from ltr_slt.run_training import run_training

    settings = Settings(env_settings(workspace_dir=str(tmp_path)))
    settings.update(num_epochs=1, samples_per_epoch=4, num_frames=3, device="cpu",
                    tiny_net_kwargs={"template_size": 64, "search_size": 128})
    trainer = run_training("slt", "transt_slt_tiny", settings=settings, seed=3)
    assert trainer.net.search_size == 128 and settings.num_seq == 2  # caller values win, tiny defaults fill in
    assert trainer.epoch == 1
    assert (tmp_path / "synthetic" / "slt_tiny_lasot" / "training_set.txt").is_file()
    ckpt = tmp_path / "checkpoints" / "ltr" / "slt" / "transt_slt_tiny" / "TransT_ep0001.pth.tar"
    assert ckpt.is_file()
    stats = trainer.stats["train"]
    assert len(stats["mIoU"].history) == 1 and 0.0 <= stats["mIoU"].history[0] <= 1.0
    assert math.isfinite(stats["Loss/total"].history[0]) and math.isfinite(stats["Loss/sl_clf"].history[0])
    # The written checkpoint rebuilds the same (half-size) tiny net.
    net, _ = load_network(str(ckpt))
    assert net.search_size == 128 and all(torch.equal(v, trainer.net.state_dict()[k])
                                          for k, v in net.state_dict().items())


def test_full_settings_fail_clearly_without_pretrained_weights(tmp_path, monkeypatch):
    from ltr_slt.train_settings.slt import transt_slt
    from pytracking_slt.workspace.weights import WeightsNotFoundError

    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    settings = Settings(env_settings(workspace_dir=str(tmp_path), pretrained_networks=str(tmp_path / "nets")))
    with pytest.raises(WeightsNotFoundError, match=r"transt\.pth(.|\n)*nets(.|\n)*TransT"):
        transt_slt.run(settings)
    assert settings.num_seq == 8 and settings.num_frames == 24 and settings.num_seq_backward == 2
    assert settings.slt_loss_weight == 15.0 and settings.temperature == 4.0 and settings.sig_eps == 0.01
    assert settings.interval_prob == 0.3 and settings.max_interval == 10 and settings.max_gap == 300
