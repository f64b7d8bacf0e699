"""run_training: CLI errors, settings lookup, and real runs of a tiny settings file (plain and torchrun x2)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ltr_slt import run_training as rt
from ltr_slt.admin import checkpoint as ckpt_io

REPO = Path(__file__).resolve().parents[1]

TINY_SETTINGS = textwrap.dedent('''
    """A tiny train settings file: nn.Linear, a random loader, BaseTrainer."""
    import os
    import torch
    import torch.nn as nn
    from ltr_slt.trainers import BaseTrainer


    class Loader:
        name, training, epoch_interval, batch_size = "train", True, 1, 4

        def __len__(self):
            return 2

        def __iter__(self):
            for _ in range(2):
                x = torch.randn(4, 3)
                yield [x, x.sum(1, keepdim=True)]


    class Trainer(BaseTrainer):
        def train_step(self, batch):
            x, y = batch
            loss = ((self.actor(x) - y) ** 2).mean()
            self.optimizer.zero_grad()
            self.optimizer_step(loss)
            return {"Loss/total": loss.item()}

        def samples_in(self, batch, loader):
            return 4


    def run(settings):
        settings.description = "tiny test run"
        settings.print_interval = 1
        net = nn.Linear(3, 1)
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        Trainer(net, [Loader()], opt, settings).train(2)
        with open(os.path.join(settings.env.workspace_dir, f"rank{settings.rank}.txt"), "w") as f:
            f.write(f"{settings.rank} {settings.world_size} {settings.seed} {settings.device}")
''')


@pytest.fixture()
def settings_pkg(tmp_path):
    pkg = tmp_path / "fake_ts"
    (pkg / "tiny").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tiny" / "__init__.py").write_text("")
    (pkg / "tiny" / "lin.py").write_text(TINY_SETTINGS)
    (pkg / "tiny" / "norun.py").write_text("X = 1\n")
    (pkg / "tiny" / "baddep.py").write_text("import slt_no_such_dependency_xyz\n\ndef run(s):\n    pass\n")
    return tmp_path


def _env(extra_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(extra_path), str(REPO), env.get("PYTHONPATH", "")])
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(cmd, env, timeout=90):
    """subprocess.run that kills the whole process group on timeout (no orphaned ranks)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{cmd} timed out after {timeout} s; stderr tail:\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture()
def no_spawn_switch(monkeypatch):
    # main() forces the spawn start method; keep the test process's own setting
    monkeypatch.setattr(rt.multiprocessing, "set_start_method", lambda *a, **k: None)


def test_unknown_settings_lists_available(settings_pkg, monkeypatch, capsys, no_spawn_switch):
    monkeypatch.syspath_prepend(str(settings_pkg))
    code = rt.main(["tiny", "nope", "--settings_package", "fake_ts", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown train settings 'tiny nope'" in err and "fake_ts.tiny.nope" in err
    assert "tiny/lin" in err and "tiny/norun" in err
    with pytest.raises(rt.TrainSettingsNotFoundError, match="unknown train settings 'nomodule lin'"):
        rt.run_training("nomodule", "lin", settings_package="fake_ts")
    with pytest.raises(rt.TrainSettingsNotFoundError, match="not a valid Python module name"):
        rt.run_training("tiny", "lin.py", settings_package="fake_ts")


def test_settings_file_without_run_and_missing_dependency(settings_pkg, monkeypatch):
    monkeypatch.syspath_prepend(str(settings_pkg))
    with pytest.raises(rt.TrainSettingsNotFoundError, match=r"fake_ts\.tiny\.norun .*no run\(settings\)"):
        rt.run_training("tiny", "norun", settings_package="fake_ts")
    # a missing import *inside* the settings file is not disguised as "unknown settings"
    with pytest.raises(ModuleNotFoundError, match="slt_no_such_dependency_xyz"):
        rt.run_training("tiny", "baddep", settings_package="fake_ts")


def test_cli_flags_are_real_flags(capsys, no_spawn_switch):
    with pytest.raises(SystemExit) as exc:
        rt.main(["slt", "transt_slt", "--cudnn_benchmark", "False"])
    assert exc.value.code == 2 and "--cudnn_benchmark" in capsys.readouterr().err
    assert rt.main(["tiny", "x", "--device", "gpu0"]) == 2
    assert "--device 'gpu0'" in capsys.readouterr().err
    args = rt._build_parser().parse_args(["a", "b", "--cudnn_benchmark", "0", "--seed", "7"])
    assert args.cudnn_benchmark == 0 and args.seed == 7


def test_run_training_in_process_with_settings_module(tmp_path):
    """The shim path: the caller hands over its own module and settings object."""
    import types

    from ltr_slt.admin.settings import Settings

    seen = {}
    mod = types.ModuleType("shim_mod")
    mod.run = lambda s: seen.update(vars(s)) or "done"
    s = Settings(env=types.SimpleNamespace(workspace_dir=str(tmp_path)))
    out = rt.run_training("slt", "transt_slt", cudnn_benchmark=False, seed=5, settings=s, settings_module=mod)
    assert out == "done"
    assert seen["module_name"] == "slt" and seen["script_name"] == "transt_slt"
    assert seen["project_path"] == "ltr/slt/transt_slt" and seen["seed"] == 5
    assert seen["rank"] == 0 and seen["world_size"] == 1
    assert torch.initial_seed() == 5


def test_cli_subprocess_trains_and_checkpoints(settings_pkg, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    proc = _run([sys.executable, "-m", "ltr_slt.run_training", "tiny", "lin", "--settings_package", "fake_ts",
                 "--workspace", str(ws), "--device", "cpu", "--seed", "3", "--cudnn_benchmark", "0"],
                _env(settings_pkg))
    assert proc.returncode == 0, proc.stderr
    assert "Training:  tiny  lin" in proc.stdout
    assert "[train: 2, 2 / 2]" in proc.stderr and "samples/s" in proc.stderr  # progress lines (logging)
    path = ws / "checkpoints" / "ltr" / "tiny" / "lin" / "Linear_ep0002.pth.tar"
    state = ckpt_io.read_checkpoint(path)
    assert state["epoch"] == 2 and state["settings"].module_name == "tiny"
    assert state["settings"].project_path == "ltr/tiny/lin" and state["settings"].seed == 3
    assert (ws / "rank0.txt").read_text() == "0 1 3 cpu"


def test_torchrun_two_ranks(settings_pkg, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    proc = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                 "-m", "ltr_slt.run_training", "tiny", "lin", "--settings_package", "fake_ts",
                 "--workspace", str(ws), "--device", "cpu"],
                _env(settings_pkg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("Training:  tiny  lin") == 1  # printed by rank 0 only
    assert (ws / "rank0.txt").read_text() == "0 2 12345 cpu"
    assert (ws / "rank1.txt").read_text() == "1 2 12345 cpu"
    state = ckpt_io.read_checkpoint(ws / "checkpoints/ltr/tiny/lin/Linear_ep0002.pth.tar")
    assert state["world_size"] == 2 and len(state["rng_state"]["rank_states"]) == 2
