"""Security: no code from a checkpoint, a constructor record or an analysis cache ever runs (issue 13)."""
from __future__ import annotations

import logging
import os
import pickle
import sys

import numpy as np
import pytest
import torch

from ltr_slt.admin import checkpoint as ckpt_io
from ltr_slt.admin import model_constructor as mc
from ltr_slt.admin.loading import CheckpointError, load_checkpoint, load_network, read_checkpoint
from ltr_slt.admin.model_constructor import NetConstructor, UnknownFactoryError
from ltr_slt.admin.stats import AverageMeter, RunningAverage
from ltr_slt.models.tracking.transt import transt_tiny


class _Evil:
    """Unpickling this runs ``touch <marker>`` (a real payload)."""

    def __init__(self, marker, fun=os.system):
        self.marker, self.fun = marker, fun

    def __reduce__(self):
        if self.fun is exec:
            return (exec, (f"open({str(self.marker)!r}, 'w').close()",))
        return (self.fun, (f"touch {self.marker}",))


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return transt_tiny()


# -- 1. constructor records ------------------------------------------------------------------------
@pytest.mark.parametrize("module,name,args", [
    ("os", "system", ("touch {marker}",)),
    ("posix", "system", ("touch {marker}",)),
    ("builtins", "exec", ("open({marker!r}, 'w').close()",)),
    ("subprocess", "call", (["touch", "{marker}"],)),
    ("ltr_slt.admin.fileio", "atomic_write_text", ("{marker}", "x")),  # our module, not a factory
])
def test_constructor_naming_arbitrary_function_is_refused(tmp_path, tiny, module, name, args):
    marker = str(tmp_path / "MARKER")
    args = tuple([a.format(marker=marker) for a in x] if isinstance(x, list) else x.format(marker=marker)
                 for x in args)
    path = tmp_path / "evil_ctor.pth.tar"
    torch.save({"net": tiny.state_dict(), "constructor": NetConstructor(name, module, args, {})}, path)
    with pytest.raises(CheckpointError) as info:
        load_network(path)
    msg = str(info.value)
    assert "evil_ctor.pth.tar" in msg and f"{module}.{name}" in msg and "refused" in msg
    with pytest.raises(UnknownFactoryError, match=f"{module}.{name}"):
        NetConstructor(name, module, args, {}).get()
    assert not os.path.exists(marker)


def test_constructor_module_outside_registry_is_never_imported(tmp_path, tiny, monkeypatch):
    marker = tmp_path / "IMPORTED"
    (tmp_path / "evil_factory_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef build(): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "c.pth"
    torch.save({"net": tiny.state_dict(), "constructor": NetConstructor("build", "evil_factory_mod")}, path)
    with pytest.raises(CheckpointError, match="evil_factory_mod.build"):
        load_network(path)
    assert not marker.exists() and "evil_factory_mod" not in sys.modules


def test_known_and_foreign_factories_resolve():
    from ltr_slt.models.tracking import dimpnet, transt
    assert mc.resolve_factory("ltr_slt.models.tracking.transt", "transt_tiny") is transt.transt_tiny
    assert mc.resolve_factory("ltr.models.tracking.transt", "transt_resnet50") is transt.transt_resnet50
    assert mc.resolve_factory("ltr.models.tracking.transt_slt", "transt_resnet50") is transt.transt_resnet50
    assert mc.resolve_factory("ltr.models.tracking.dimpnet", "dimpnet50") is dimpnet.dimpnet50
    assert mc.resolve_factory("dlframework.models.tracking.dimpnet", "dimpnet50") is dimpnet.dimpnet50
    assert "ltr_slt.models.tracking.transt.transt_tiny" in mc.known_factories()


def test_register_factory_extends_the_registry(tmp_path, tiny):
    def my_tiny(**kw):
        return transt_tiny(**kw)

    mc.register_factory(my_tiny, "my_tiny", "tests.my_family", aliases=[("ltr.models.my_family", "old_tiny")])
    try:
        path = tmp_path / "mine.pth"
        torch.save({"net": tiny.state_dict(), "constructor": NetConstructor("old_tiny", "ltr.models.my_family")}, path)
        net, _ = load_network(path)
        assert all(torch.equal(v, tiny.state_dict()[k]) for k, v in net.state_dict().items())
        assert (net.constructor.fun_module, net.constructor.fun_name) == ("tests.my_family", "my_tiny")
    finally:
        mc._FACTORIES.pop(("tests.my_family", "my_tiny"), None)
        mc._ALIASES.pop(("ltr.models.my_family", "old_tiny"), None)


# -- 2. resume ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fun", [os.system, exec])
def test_planted_epoch_file_cannot_run_code_on_resume(tmp_path, fun):
    from test_base_trainer import make_trainer
    marker = tmp_path / "PWNED"
    t = make_trainer(tmp_path)
    t.train(1)
    planted = tmp_path / "checkpoints/ltr/test/linear/Linear_ep0002.pth.tar"
    state = ckpt_io.read_checkpoint(planted.with_name("Linear_ep0001.pth.tar"))
    state["epoch"] = 2
    state.pop("settings")  # its test env (SimpleNamespace) is read back as a stub, which cannot be saved
    state["payload"] = _Evil(marker, fun)
    torch.save(state, planted)
    t2 = make_trainer(tmp_path)
    try:
        t2.load_checkpoint()
    except CheckpointError as err:  # os.system: torch refuses the file outright
        assert "Linear_ep0002.pth.tar" in str(err)
    else:  # builtins.exec: read as an inert stub, nothing called
        assert "exec" in repr(t2.payload)
    assert not marker.exists()


def test_trainer_checkpoint_is_plain_data_and_resumes(tmp_path, caplog):
    from test_base_trainer import make_trainer
    t = make_trainer(tmp_path)
    t.train(1)
    path = tmp_path / "checkpoints/ltr/test/linear/Linear_ep0001.pth.tar"
    with caplog.at_level(logging.INFO, logger="ltr_slt.admin.loading"):
        state = read_checkpoint(path)
    assert "inert stubs" not in caplog.text or "SimpleNamespace" in caplog.text  # only the test's env
    assert isinstance(state["stats"]["train"]["Loss/total"], AverageMeter)
    assert isinstance(state["stats"]["train"]["mIoU10"], RunningAverage)
    t2 = make_trainer(tmp_path)
    assert t2.load_checkpoint() and t2.epoch == 1
    assert t2.stats["train"]["Loss/total"].history == pytest.approx(t.stats["train"]["Loss/total"].history)


def test_leftover_temp_files_are_removed_when_training_starts(tmp_path, caplog):
    from test_base_trainer import make_trainer
    folder = tmp_path / "checkpoints/ltr/test/linear"
    folder.mkdir(parents=True)
    stale = [folder / ".Linear_ep0001.pth.tar.k3j2h1.tmp", folder / ".Linear_ep0007.pth.tar.zz.tmp"]
    for p in stale:
        p.write_bytes(b"half a checkpoint")
    keep = [folder / "notes.tmp", folder / ".results.txt.ab.tmp"]
    for p in keep:
        p.write_text("x")
    with caplog.at_level(logging.WARNING, logger="ltr_slt.admin.checkpoint"):
        make_trainer(tmp_path).train(1)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)
    lines = [r.getMessage() for r in caplog.records if "leftover temporary" in r.getMessage()]
    assert len(lines) == 1 and "removed 2" in lines[0]


# -- 3. garbage / non-finite ------------------------------------------------------------------------
@pytest.mark.parametrize("data", [os.urandom(4096), b"hello world\n", pickle.dumps({"net": 1}), b""])
def test_not_a_checkpoint_is_one_clear_line(tmp_path, data):
    path = tmp_path / "junk.pth.tar"
    path.write_bytes(data)
    for read in (read_checkpoint, ckpt_io.read_checkpoint):
        with pytest.raises(CheckpointError) as info:
            read(path)
        msg = str(info.value)
        assert "junk.pth.tar" in msg and "not a torch checkpoint" in msg
        assert "trusted" not in msg and "\n" not in msg


def test_nonfinite_weights_warn_or_are_refused(tmp_path, tiny, caplog):
    state = tiny.state_dict()
    names = [k for k, v in state.items() if v.is_floating_point()][:2]
    state[names[0]] = state[names[0]].clone().fill_(float("nan"))
    state[names[1]] = state[names[1]].clone().fill_(float("inf"))
    path = tmp_path / "nan.pth"
    torch.save({"net": state, "constructor": tiny.constructor}, path)
    with caplog.at_level(logging.WARNING, logger="ltr_slt.admin.loading"):
        load_checkpoint(transt_tiny(), path)
    assert "nan.pth" in caplog.text and "2 tensor(s) with NaN/inf" in caplog.text
    with pytest.raises(CheckpointError, match=r"nan\.pth.*2 tensor\(s\) with NaN/inf"):
        load_checkpoint(transt_tiny(), path, refuse_nonfinite=True)
    with pytest.raises(CheckpointError, match=r"nan\.pth"):
        load_network(path, refuse_nonfinite=True)


# -- 4. analysis cache --------------------------------------------------------------------------------
def _eval_setup(tmp_path):
    from pytracking_slt.analysis import trackers_from_specs
    from pytracking_slt.evaluation import Sequence, save_tracker_output
    from pytracking_slt.evaluation.results_io import results_dir_for
    gt = np.array([[1, 1, 10, 10]] * 4, float)
    seqs = [Sequence("s1", ["f"] * 4, "otb", gt), Sequence("s2", ["f"] * 4, "otb", gt)]
    for s in seqs:
        save_tracker_output(results_dir_for(str(tmp_path), "trk", "p", None), s.name,
                            {"target_bbox": gt, "time": [0.1] * 4})
    return trackers_from_specs(["trk:p"], results_path=str(tmp_path)), seqs


def test_analysis_cache_is_npz_and_planted_pickle_never_runs(tmp_path, caplog):
    from pytracking_slt.analysis import evaluate
    trackers, seqs = _eval_setup(tmp_path)
    marker = tmp_path / "CACHE_PWNED"
    evil = pickle.dumps(_Evil(marker))
    old_pkl, npz = tmp_path / "cache.pkl", tmp_path / "cache.npz"
    old_pkl.write_bytes(evil)  # the old pickle cache name
    with caplog.at_level(logging.WARNING, logger="pytracking_slt.analysis.evaluate"):
        ev = evaluate(trackers, seqs, cache_path=str(old_pkl))
    assert ev.cache_misses == 2 and "ignoring old pickle analysis cache" in caplog.text
    assert npz.is_file() and not marker.exists()
    with np.load(npz, allow_pickle=False) as data:  # loads without pickle
        assert "index" in data.files
    assert evaluate(trackers, seqs, cache_path=str(npz)).cache_hits == 2
    for planted in (evil, os.urandom(100), np.zeros(3).tobytes()):
        npz.write_bytes(planted)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pytracking_slt.analysis.evaluate"):
            ev2 = evaluate(trackers, seqs, cache_path=str(npz))
        assert ev2.cache_misses == 2 and "ignoring unreadable analysis cache" in caplog.text
        assert ev2.results[0].scores == pytest.approx(ev.results[0].scores)
        assert not marker.exists()
    # a foreign npz (valid file, other content) is ignored too
    np.savez(str(npz), index=np.array('{"format": "other"}'))
    assert evaluate(trackers, seqs, cache_path=str(npz)).cache_misses == 2
    assert not marker.exists()
