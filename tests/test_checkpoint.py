"""Checkpoint files: ltr naming, atomic writes (a crash mid-write never replaces a good file), listing, pruning."""
from __future__ import annotations

import os
import pickle
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ltr_slt.admin import checkpoint as ckpt_io
from ltr_slt.admin.seeding import get_rng_state, rank_seed, set_rng_state, worker_seed, WorkerSeeder
from ltr_slt.admin.settings import Settings


def _good(path):
    return ckpt_io.atomic_torch_save({"epoch": 1, "net": {"w": torch.arange(1000.0)}}, path)


class ExplodesWhenPickled:
    def __reduce__(self):
        raise pickle.PicklingError("simulated crash while writing")


def test_checkpoint_dir_and_ltr_naming(tmp_path):
    s = Settings(env=SimpleNamespace(workspace_dir=str(tmp_path)))
    s.project_path = "ltr/slt/transt_slt"
    d = ckpt_io.checkpoint_dir(s)
    assert d == tmp_path / "checkpoints" / "ltr" / "slt" / "transt_slt"
    assert ckpt_io.checkpoint_path(d, "TransT", 7).name == "TransT_ep0007.pth.tar"
    assert ckpt_io.checkpoint_dir(Settings(env=SimpleNamespace(workspace_dir=None))) is None
    s.checkpoint_dir = str(tmp_path / "elsewhere")
    assert ckpt_io.checkpoint_dir(s) == tmp_path / "elsewhere"


def test_crash_during_pickling_keeps_the_good_file(tmp_path):
    path = tmp_path / "Net_ep0001.pth.tar"
    _good(path)
    good_bytes = path.read_bytes()
    with pytest.raises(pickle.PicklingError):
        ckpt_io.atomic_torch_save({"net": {"w": torch.zeros(10_000)}, "bad": ExplodesWhenPickled()}, path)
    assert path.read_bytes() == good_bytes
    assert os.listdir(tmp_path) == [path.name]  # no temp file left behind
    assert torch.equal(ckpt_io.read_checkpoint(path)["net"]["w"], torch.arange(1000.0))


def test_crash_before_rename_keeps_the_good_file(tmp_path, monkeypatch):
    """Simulated power loss after part of the data hit the disk: the final name is untouched."""
    path = tmp_path / "Net_ep0001.pth.tar"
    _good(path)
    good_bytes = path.read_bytes()

    def dying_fsync(fd):
        raise OSError("simulated crash at fsync")

    monkeypatch.setattr(ckpt_io.os, "fsync", dying_fsync)
    with pytest.raises(OSError, match="simulated crash"):
        ckpt_io.atomic_torch_save({"epoch": 2, "net": {"w": torch.ones(5000)}}, path)
    assert path.read_bytes() == good_bytes
    assert os.listdir(tmp_path) == [path.name]


def test_new_file_is_never_visible_half_written(tmp_path, monkeypatch):
    """The final name only ever appears through os.replace of a complete file."""
    path = tmp_path / "Net_ep0003.pth.tar"
    seen = []
    real_replace = os.replace

    def spy_replace(src, dst):
        seen.append((os.path.dirname(src), os.path.exists(dst), os.path.getsize(src)))
        return real_replace(src, dst)

    monkeypatch.setattr(ckpt_io.os, "replace", spy_replace)
    _good(path)
    assert seen and seen[0][0] == str(tmp_path) and seen[0][1] is False and seen[0][2] == path.stat().st_size


def test_corrupt_file_error_names_it(tmp_path):
    path = tmp_path / "Net_ep0002.pth.tar"
    _good(path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ckpt_io.CheckpointError, match="Net_ep0002.pth.tar.*corrupt"):
        ckpt_io.read_checkpoint(path)
    with pytest.raises(ckpt_io.CheckpointError, match="does not exist"):
        ckpt_io.read_checkpoint(tmp_path / "missing.pth.tar")
    torch.save([1, 2], tmp_path / "list.pth.tar")
    with pytest.raises(ckpt_io.CheckpointError, match="expected a dict"):
        ckpt_io.read_checkpoint(tmp_path / "list.pth.tar")


def test_listing_resolving_and_pruning(tmp_path):
    for ep in (1, 2, 10):
        _good(ckpt_io.checkpoint_path(tmp_path, "TransT", ep))
    _good(ckpt_io.checkpoint_path(tmp_path, "Other", 50))
    (tmp_path / "TransT_ep0011.pth.tar.tmp").write_text("partial")  # never listed
    assert [e for e, _ in ckpt_io.list_checkpoints(tmp_path, "TransT")] == [1, 2, 10]  # numeric, not lexical
    assert ckpt_io.latest_checkpoint(tmp_path, "TransT").name == "TransT_ep0010.pth.tar"
    assert ckpt_io.resolve_checkpoint(None, tmp_path, "TransT").name == "TransT_ep0010.pth.tar"
    assert ckpt_io.resolve_checkpoint(2, tmp_path, "TransT").name == "TransT_ep0002.pth.tar"
    assert ckpt_io.resolve_checkpoint(str(tmp_path), None, "Other").name == "Other_ep0050.pth.tar"
    with pytest.raises(ckpt_io.CheckpointError, match=r"epochs available .*\[1, 2, 10\]"):
        ckpt_io.resolve_checkpoint(3, tmp_path, "TransT")
    with pytest.raises(ckpt_io.CheckpointError, match="does not exist"):
        ckpt_io.resolve_checkpoint(str(tmp_path / "nope.pth.tar"), tmp_path, "TransT")
    assert ckpt_io.resolve_checkpoint(None, tmp_path / "empty", "TransT") is None

    removed = ckpt_io.prune_checkpoints(tmp_path, "TransT", keep_last=1)
    assert sorted(p.name for p in removed) == ["TransT_ep0001.pth.tar", "TransT_ep0002.pth.tar"]
    assert (tmp_path / "Other_ep0050.pth.tar").exists()
    assert ckpt_io.prune_checkpoints(tmp_path, "TransT", keep_last=None) == []


def test_rng_state_roundtrip_through_a_checkpoint(tmp_path):
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    ckpt_io.atomic_torch_save({"rng": get_rng_state()}, tmp_path / "r.pth.tar")
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    set_rng_state(ckpt_io.read_checkpoint(tmp_path / "r.pth.tar")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]


def test_derived_seeds_are_deterministic_and_distinct():
    assert rank_seed(12345, 0) == 12345
    assert rank_seed(12345, 1) == rank_seed(12345, 1) != rank_seed(12345, 2)
    seeds = {worker_seed(12345, r, w) for r in range(4) for w in range(8)} | {rank_seed(12345, r) for r in range(4)}
    assert len(seeds) == 36
    pickle.loads(pickle.dumps(WorkerSeeder(1, 2)))  # usable as a spawn worker_init_fn


def test_settings_picklable_and_reports_offenders():
    s = Settings(env=SimpleNamespace(workspace_dir="/w"))
    s.update(batch_size=4, module_name="slt")
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.batch_size == 4 and s2.env.workspace_dir == "/w" and s2.use_gpu is True
    assert s.get("missing", 7) == 7
    s.fn = lambda: 0
    assert s.unpicklable_attributes() == ["fn"]
