"""BaseTrainer: resume == uninterrupted run, non-finite step skipping, clipping, crash handling, DDP."""
from __future__ import annotations

import logging
import os
import random
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn as nn

from helpers import exit_worker
from ltr_slt.admin import checkpoint as ckpt_io
from ltr_slt.admin import distributed as ddp
from ltr_slt.admin.seeding import seed_everything
from ltr_slt.admin.settings import Settings
from ltr_slt.admin.stats import AverageMeter, RunningAverage, StatValue
from ltr_slt.trainers import BaseTrainer, NonFiniteLossError


class FakeActor:
    """ltr-style actor: holds the net, moves / switches mode."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net

    def to(self, device):
        self.net.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)


class RandomLoader:
    """Draws its batches from torch's global RNG, so resume needs the RNG state restored."""
    name = "train"
    training = True
    epoch_interval = 1
    batch_size = 8

    def __init__(self, num_batches: int = 3) -> None:
        self.num_batches = num_batches

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self):
        for _ in range(self.num_batches):
            x = torch.randn(self.batch_size, 4)
            yield x, x.sum(dim=1, keepdim=True).repeat(1, 2)


class LinearTrainer(BaseTrainer):
    nan_at = ()            # global iteration indices whose loss is made NaN
    fail_at_epoch = None   # raise inside this epoch (once per entry in fail_budget)
    fail_budget = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.iteration = 0

    def train_step(self, batch):
        if self.fail_at_epoch == self.epoch and self.fail_budget > 0:
            type(self).fail_budget -= 1
            raise RuntimeError("boom in train_step")
        x, y = batch
        # python + numpy randomness too: all three streams must be restored on resume
        noise = random.random() * 1e-3 + float(np.random.rand()) * 1e-3
        loss = ((self.actor.net(x) - y) ** 2).mean() + noise
        if self.iteration in self.nan_at:
            loss = loss * float("nan")
        self.iteration += 1
        self.optimizer.zero_grad()
        result = self.optimizer_step(loss)
        return {"Loss/total": loss.item() if result.stepped else 0.0, "mIoU": 0.5}


def make_trainer(workspace, seed=0, cls=LinearTrainer, **settings_kw):
    seed_everything(seed)
    net = nn.Linear(4, 2)
    settings = Settings(env=SimpleNamespace(workspace_dir=str(workspace), tensorboard_dir=""))
    settings.project_path = "ltr/test/linear"
    settings.device = "cpu"
    settings.print_interval = 100
    settings.update(settings_kw)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    return cls(FakeActor(net), [RandomLoader()], optimizer, settings, scheduler)


def test_resume_equals_uninterrupted_run(tmp_path):
    # interrupted: 2 epochs, new process-like objects with a different seed, resume to 3
    t = make_trainer(tmp_path / "a", seed=0)
    t.train(2)
    ckpt_dir = tmp_path / "a" / "checkpoints" / "ltr" / "test" / "linear"
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["Linear_ep0001.pth.tar", "Linear_ep0002.pth.tar"]
    resumed = make_trainer(tmp_path / "a", seed=999)
    assert resumed.load_checkpoint() is True
    assert resumed.epoch == 2
    resumed.train(3)
    # uninterrupted: 3 epochs straight
    straight = make_trainer(tmp_path / "b", seed=0)
    straight.train(3)

    for a, b in zip(resumed.net.parameters(), straight.net.parameters()):
        assert torch.equal(a, b)
    assert resumed.epoch == straight.epoch == 3
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"] == 1e-2 / 8
    assert resumed.lr_scheduler.last_epoch == 3
    # stats history continues across the resume (restored from the checkpoint)
    hist_r = resumed.stats["train"]["Loss/total"].history
    hist_s = straight.stats["train"]["Loss/total"].history
    assert len(hist_r) == 3 and hist_r == pytest.approx(hist_s)
    assert resumed.stats["train"]["LearningRate/group0"].history == pytest.approx([1e-2, 5e-3, 2.5e-3])


def test_train_load_latest_and_checkpoint_contents(tmp_path):
    t = make_trainer(tmp_path, seed=1)
    t.train(1)
    t2 = make_trainer(tmp_path, seed=2)
    t2.train(2, load_latest=True)  # resumes after epoch 1, runs epoch 2 only
    assert t2.epoch == 2 and t2.iteration == 3
    state = ckpt_io.read_checkpoint(tmp_path / "checkpoints/ltr/test/linear/Linear_ep0002.pth.tar")
    for key in ("epoch", "actor_type", "net_type", "net", "net_info", "constructor", "optimizer",
                "stats", "settings", "lr_scheduler", "rng_state"):
        assert key in state
    assert state["epoch"] == 2 and state["net_type"] == "Linear" and state["actor_type"] == "FakeActor"
    assert isinstance(state["settings"], Settings) and state["settings"].project_path == "ltr/test/linear"
    assert isinstance(state["stats"]["train"]["Loss/total"], AverageMeter)
    assert isinstance(state["stats"]["train"]["mIoU10"], RunningAverage)
    assert state["stats"]["train"]["mIoU100"].avg == pytest.approx(0.5)
    assert len(state["rng_state"]["rank_states"]) == 1


def test_load_specific_epoch_and_wrong_net_type(tmp_path):
    t = make_trainer(tmp_path)
    t.train(2)
    t2 = make_trainer(tmp_path)
    assert t2.load_checkpoint(1) and t2.epoch == 1
    with pytest.raises(ckpt_io.CheckpointError, match="epoch 7"):
        t2.load_checkpoint(7)

    class Other(nn.Linear):
        pass

    net = Other(4, 2)
    other = LinearTrainer(FakeActor(net), [RandomLoader()], torch.optim.SGD(net.parameters(), lr=0.1),
                          t.settings)
    path = tmp_path / "checkpoints/ltr/test/linear/Linear_ep0002.pth.tar"
    with pytest.raises(ckpt_io.CheckpointError, match="'Linear' network"):
        other.load_checkpoint(str(path))


def test_corrupt_latest_is_an_error_unless_fallback(tmp_path):
    t = make_trainer(tmp_path)
    t.train(2)
    latest = tmp_path / "checkpoints/ltr/test/linear/Linear_ep0002.pth.tar"
    latest.write_bytes(latest.read_bytes()[:100])  # truncated
    t2 = make_trainer(tmp_path)
    with pytest.raises(ckpt_io.CheckpointError, match="Linear_ep0002.pth.tar"):
        t2.load_checkpoint()
    assert t2.epoch == 0
    assert t2.load_checkpoint(fallback=True) and t2.epoch == 1


def test_no_checkpoint_starts_from_scratch(tmp_path):
    t = make_trainer(tmp_path)
    assert t.load_checkpoint() is False and t.epoch == 0


def test_keep_last_checkpoints(tmp_path):
    t = make_trainer(tmp_path, keep_last_checkpoints=2)
    t.train(4)
    names = sorted(p.name for p in (tmp_path / "checkpoints/ltr/test/linear").iterdir())
    assert names == ["Linear_ep0003.pth.tar", "Linear_ep0004.pth.tar"]


def test_nonfinite_loss_skips_step_and_counts(tmp_path, caplog):
    t = make_trainer(tmp_path)
    t.nan_at = (1, 2)
    before = [p.detach().clone() for p in t.net.parameters()]
    batches = list(RandomLoader(3))
    t.epoch = 1
    t.train_step(batches[0])  # good step
    after_good = [p.detach().clone() for p in t.net.parameters()]
    assert not all(torch.equal(a, b) for a, b in zip(before, after_good))
    with caplog.at_level(logging.WARNING):
        t.train_step(batches[1])
        t.train_step(batches[2])
    for a, b in zip(after_good, t.net.parameters()):
        assert torch.equal(a, b)  # skipped: weights untouched
    assert t.skipped_steps == 2 and t.consecutive_nonfinite == 2
    assert "non-finite loss" in caplog.text and "skipped" in caplog.text
    assert all(p.grad is None for p in t.net.parameters())  # no stale gradient leaks into the next step
    t.train_step(batches[0])
    assert t.consecutive_nonfinite == 0 and t.skipped_steps == 2


def test_skipped_steps_in_epoch_stats(tmp_path):
    t = make_trainer(tmp_path)
    t.nan_at = (0,)
    t.train(1)
    assert t.stats["train"]["skipped_steps"].history == [1]
    assert isinstance(t.stats["train"]["skipped_steps"], StatValue)


def test_nonfinite_gradient_with_finite_loss_is_skipped(tmp_path):
    t = make_trainer(tmp_path)
    w = t.net.weight
    t.optimizer.zero_grad()
    (t.net(torch.ones(1, 4)).sum()).backward()
    w.grad[0, 0] = float("inf")
    before = w.detach().clone()
    res = t.optimizer_step(1.0)
    assert not res.stepped and res.reason == "non-finite gradient"
    assert torch.equal(before, w) and t.skipped_steps == 1


def test_abort_after_max_consecutive_nonfinite(tmp_path):
    t = make_trainer(tmp_path, max_consecutive_nonfinite=3)
    t.nan_at = tuple(range(100))
    with pytest.raises(NonFiniteLossError, match="3 consecutive"):
        t.train(2, fail_safe=True)  # never retried: it would recur
    assert t.skipped_steps == 3 and t.epoch == 1


def test_grad_clipping_uses_settings_max_norm(tmp_path):
    seed_everything(0)
    net = nn.Linear(4, 1, bias=False)
    settings = Settings(env=SimpleNamespace(workspace_dir=None, tensorboard_dir=""))
    settings.device = "cpu"
    settings.grad_clip_max_norm = 0.1
    t = BaseTrainer(net, None, torch.optim.SGD(net.parameters(), lr=1.0), settings)
    before = net.weight.detach().clone()
    loss = net(torch.full((1, 4), 10.0)).sum()
    res = t.optimizer_step(loss)  # backward happens inside
    assert res.stepped and res.grad_norm == pytest.approx(20.0)  # grad = [10,10,10,10]
    assert torch.linalg.vector_norm(net.weight.detach() - before).item() == pytest.approx(0.1, rel=1e-4)


def test_crash_is_logged_and_reraised(tmp_path, caplog):
    class Crashing(LinearTrainer):
        fail_at_epoch = 2
        fail_budget = 5

    t = make_trainer(tmp_path, cls=Crashing)
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="boom"):
        t.train(3)
    assert "Training crashed at epoch 2" in caplog.text and "Traceback" in caplog.text
    assert Crashing.fail_budget == 4  # tried once, no retry


def test_fail_safe_resumes_a_bounded_number_of_times(tmp_path, caplog):
    class FlakyOnce(LinearTrainer):
        fail_at_epoch = 2
        fail_budget = 1

    t = make_trainer(tmp_path, cls=FlakyOnce)
    with caplog.at_level(logging.ERROR):
        t.train(3, fail_safe=True)
    assert t.epoch == 3 and "RETRY 1/3" in caplog.text

    class AlwaysFails(LinearTrainer):
        fail_at_epoch = 2
        fail_budget = 100

    t = make_trainer(tmp_path / "x", cls=AlwaysFails)
    with pytest.raises(RuntimeError, match="boom"):
        t.train(3, fail_safe=True, max_retries=2)
    assert AlwaysFails.fail_budget == 100 - 3  # first try + 2 retries


def test_bad_amp_setting_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="settings.amp"):
        make_trainer(tmp_path, amp="int8")
    t = make_trainer(tmp_path, amp="fp16")  # CPU: fp16 needs CUDA -> disabled with a warning, no scaler
    assert t.amp_dtype is None and t.scaler is None
    t = make_trainer(tmp_path, amp="bf16")  # CPU bf16 autocast exists: enabled, no scaler
    assert t.amp_dtype == torch.bfloat16 and t.scaler is None
    with t.autocast():
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16
    with t.autocast():
        pass


def test_unpicklable_settings_named_on_save(tmp_path):
    t = make_trainer(tmp_path)
    t.settings.bad_loader = lambda x: x
    t.epoch = 1
    with pytest.raises(ckpt_io.CheckpointError, match="bad_loader"):
        t.save_checkpoint()
    assert not list((tmp_path / "checkpoints/ltr/test/linear").glob("*"))


# ---------------------------------------------------------------------------------------- DDP
X = torch.arange(24, dtype=torch.float32).reshape(8, 3) / 10.0
Y = torch.linspace(-1, 1, 8).reshape(8, 1)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 1)
        self.b = nn.Linear(3, 1)  # used only by rank 0's data in the test (unused params elsewhere)

    def forward(self, x, use_b):
        return self.a(x) + (self.b(x) if use_b else 0.0)


def _chunked_backward(net, rank, world):
    rows = X.shape[0] // world
    xs, ys = X[rank * rows:(rank + 1) * rows], Y[rank * rows:(rank + 1) * rows]
    for c in range(2):  # two backward passes per step, like SLT's chunks
        sl = slice(c * rows // 2, (c + 1) * rows // 2)
        loss = ((net(xs[sl], use_b=(rank == 0)) - ys[sl]) ** 2).sum() / rows
        loss.backward()


def _ddp_worker(rank, world, init_file, out_dir):
    torch.set_num_threads(1)
    ddp.init_distributed(device="cpu", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.manual_seed(100 + rank)  # different init per rank: the trainer must broadcast rank 0's
        net = TwoHeads()
        settings = Settings(env=SimpleNamespace(workspace_dir=out_dir, tensorboard_dir=""))
        settings.device, settings.project_path = "cpu", "ltr/test/ddp"
        trainer = BaseTrainer(net, None, torch.optim.SGD(net.parameters(), lr=0.1), settings)
        init = {k: v.clone() for k, v in net.state_dict().items()}
        _chunked_backward(net, rank, world)
        ddp.all_reduce_gradients(net.parameters())
        grads = {n: p.grad.clone() for n, p in net.named_parameters()}
        net.zero_grad(set_to_none=True)
        _chunked_backward(net, rank, world)
        step = trainer.optimizer_step(None)
        after = {k: v.clone() for k, v in net.state_dict().items()}
        _chunked_backward(net, rank, world)  # a NaN loss on rank 1 only: every rank must skip
        skip = trainer.optimizer_step(float("nan") if rank == 1 else 1.0)
        trainer.epoch = 1
        trainer.save_checkpoint()
        torch.save({"init": init, "grads": grads, "after": after, "stepped": step.stepped,
                    "skipped": not skip.stepped, "is_main": ddp.is_main_process(),
                    "world": ddp.get_world_size()}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        ddp.cleanup()
    exit_worker()


def test_ddp_gradient_average_equals_single_process_on_union(tmp_path):
    world = 2
    init_file = tempfile.mktemp(dir=str(tmp_path))
    mp.start_processes(_ddp_worker, args=(world, init_file, str(tmp_path)), nprocs=world,
                       join=True, start_method="spawn")
    res = [torch.load(tmp_path / f"rank{r}.pt") for r in range(world)]
    assert res[0]["is_main"] and not res[1]["is_main"] and res[0]["world"] == 2

    # reference: one process, rank 0's initial weights, the union of both ranks' data
    ref = TwoHeads()
    ref.load_state_dict(res[0]["init"])
    loss = sum(((ref(X[r * 4:(r + 1) * 4], use_b=(r == 0)) - Y[r * 4:(r + 1) * 4]) ** 2).sum()
               for r in range(world)) / X.shape[0]
    loss.backward()
    for r in range(world):
        for k in res[0]["init"]:
            assert torch.equal(res[r]["init"][k], res[0]["init"][k])  # broadcast from rank 0
        for n, p in ref.named_parameters():
            torch.testing.assert_close(res[r]["grads"][n], p.grad, rtol=1e-5, atol=1e-6)
        assert res[r]["stepped"] and res[r]["skipped"]
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.1 * p.grad
    for n, v in ref.state_dict().items():
        torch.testing.assert_close(res[0]["after"][n], v, rtol=1e-5, atol=1e-6)
        assert torch.equal(res[0]["after"][n], res[1]["after"][n])
    state = ckpt_io.read_checkpoint(tmp_path / "checkpoints/ltr/test/ddp/TwoHeads_ep0001.pth.tar")
    assert len(state["rng_state"]["rank_states"]) == 2 and state["world_size"] == 2


# ---------------------------------------------------------------------------------------- stats / tensorboard
def test_running_average_spans_epochs():
    r = RunningAverage(3)
    for v in (1.0, 2.0, 3.0):
        r.update(v)
    r.new_epoch()
    r.update(10.0)  # window keeps the last 3: 2, 3, 10
    assert r.avg == pytest.approx(5.0) and r.history == [2.0]
    m = AverageMeter()
    m.update(1.0, 3)
    m.update(5.0, 1)
    m.new_epoch()
    assert m.history == [2.0] and m.count == 0 and m.has_new_data
    m.new_epoch()
    assert not m.has_new_data


def test_tensorboard_written_when_available(tmp_path, monkeypatch):
    """With a SummaryWriter importable, each epoch's stats land under <tb_dir>/<project_path>/<loader>."""
    import sys
    import types

    calls = []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, tag, value, step):
            calls.append((self.log_dir, tag, value, step))

        def add_text(self, tag, text):
            calls.append((self.log_dir, tag, text, None))

        def flush(self):
            pass

        def close(self):
            pass

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    t = make_trainer(tmp_path)
    t.settings.env.tensorboard_dir = str(tmp_path / "tb")
    t.settings.module_name, t.settings.script_name = "test", "linear"
    t.train(2)
    train_dir = str(tmp_path / "tb" / "ltr/test/linear" / "train")
    loss = [(c[2], c[3]) for c in calls if c[0] == train_dir and c[1] == "Loss/total"]
    assert [step for _, step in loss] == [1, 2]
    assert loss[1][0] == pytest.approx(t.stats["train"]["Loss/total"].history[1])
    assert any(c[1] == "LearningRate/group0" and c[3] == 2 for c in calls)
    assert any(c[1] == "Module_name" and c[2] == "test" for c in calls)


def test_tensorboard_missing_is_reported_once(tmp_path, monkeypatch, caplog):
    import sys

    from ltr_slt.admin import stats as stats_mod

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    monkeypatch.setattr(stats_mod.TensorboardWriter, "_missing_reported", False)
    with caplog.at_level(logging.INFO, logger="ltr_slt.admin.stats"):
        w1 = stats_mod.TensorboardWriter(str(tmp_path), ["train"])
        w2 = stats_mod.TensorboardWriter(str(tmp_path), ["train"])
    assert not w1.enabled and not w2.enabled
    assert caplog.text.count("tensorboard is not installed") == 1
    w1.write_epoch({"train": {}}, 1)  # no-op, no error
