"""Checkpoint loading: every format, foreign (ltr) pickles, corrupt files, no code execution."""
from __future__ import annotations

import logging
import os
import pickle
import sys

import pytest
import torch
from torch import nn

from ltr_slt.admin.loading import (CheckpointError, ForeignObject, load_checkpoint, load_network,
                                   read_checkpoint)
from ltr_slt.admin.model_constructor import NetConstructor
from ltr_slt.models.tracking.transt import transt_tiny
from helpers import forget_package, write_fake_package

# A fake ltr package written to a temp dir: its classes get pickled, then the package is removed,
# exactly like loading an official checkpoint without pytracking installed.
FAKE_LTR = {
    "ltr/__init__.py": "",
    "ltr/admin/__init__.py": "",
    "ltr/admin/settings.py": """
        class Settings:
            def __init__(self):
                self.hidden_dim = 256
                self.nheads = 8
                self.device = 'cuda'
        class EnvironmentSettings:
            def __init__(self):
                self.pretrained_networks = '/somewhere/pretrained'
        class FancyDict(dict):
            pass
        """,
    "ltr/admin/model_constructor.py": """
        class NetConstructor:
            def __init__(self, fun_name, fun_module, args, kwds):
                self.fun_name, self.fun_module, self.args, self.kwds = fun_name, fun_module, args, kwds
        """,
}


@pytest.fixture
def fake_ltr(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(write_fake_package(tmp_path / "fake_ltr", FAKE_LTR))
    import ltr.admin.model_constructor as mc
    import ltr.admin.settings as st
    yield st, mc
    forget_package("ltr")


def _forget_ltr(monkeypatch):
    for name in [m for m in sys.modules if m == "ltr" or m.startswith("ltr.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "fake_ltr" not in p])


@pytest.fixture
def tiny_pair():
    torch.manual_seed(0)
    src = transt_tiny().eval()
    torch.manual_seed(1)
    dst = transt_tiny().eval()
    assert not torch.equal(src.input_proj.weight, dst.input_proj.weight)
    return src, dst


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("wrap", ["plain", "net", "model", "state_dict", "dataparallel", "ddp_in_net"])
def test_formats(tmp_path, tiny_pair, wrap):
    src, dst = tiny_pair
    sd = src.state_dict()
    obj = {"plain": sd, "net": {"net": sd, "epoch": 3}, "model": {"model": sd},
           "state_dict": {"state_dict": sd},
           "dataparallel": {"module." + k: v for k, v in sd.items()},
           "ddp_in_net": {"net": {"module." + k: v for k, v in sd.items()}}}[wrap]
    path = tmp_path / "ckpt.pth"
    torch.save(obj, path)
    report = load_checkpoint(dst, path)
    assert _same(src, dst) and report.ok and report.num_loaded == len(sd)
    assert report.stripped_prefixes == (["module."] if "d" in wrap[:2] else [])
    assert str(path) in str(report)


def test_in_memory_and_wrapped_net(tiny_pair):
    src, dst = tiny_pair
    report = load_checkpoint(nn.DataParallel(dst), {"net": src.state_dict()})
    assert report.format == "net" and _same(src, dst)


def test_strict_and_nonstrict_key_reports(tiny_pair, caplog):
    src, dst = tiny_pair
    sd = dict(src.state_dict())
    sd.pop("class_embed.layers.2.bias")
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="1 missing keys.*class_embed.layers.2.bias.*extra.weight"):
        load_checkpoint(dst, sd)
    with caplog.at_level(logging.WARNING, logger="ltr_slt.admin.loading"):
        report = load_checkpoint(dst, sd, strict=False)
    assert report.missing_keys == ["class_embed.layers.2.bias"] and report.unexpected_keys == ["extra.weight"]
    assert "missing" in caplog.text
    assert torch.equal(dst.input_proj.weight, src.input_proj.weight)
    big = transt_tiny(hidden_dim=16).state_dict()
    with pytest.raises(CheckpointError, match="shape mismatches"):
        load_checkpoint(dst, big, strict=False)


def test_corrupt_and_truncated_files_name_the_file(tmp_path, tiny_pair):
    src, dst = tiny_pair
    bad = tmp_path / "garbage.pth.tar"
    bad.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="garbage.pth.tar"):
        load_checkpoint(dst, bad)
    good = tmp_path / "good.pth"
    torch.save({"net": src.state_dict()}, good)
    cut = tmp_path / "truncated.pth"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pth"):
        load_checkpoint(dst, cut)
    legacy = tmp_path / "legacy.pth"
    torch.save({"net": src.state_dict()}, legacy, _use_new_zipfile_serialization=False)
    cut_legacy = tmp_path / "legacy_cut.pth"
    cut_legacy.write_bytes(legacy.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="legacy_cut.pth"):
        load_checkpoint(dst, cut_legacy)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(dst, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match="no tensors"):
        load_checkpoint(dst, {"epoch": 1})


def test_ltr_checkpoint_with_foreign_classes_loads_safely(tmp_path, tiny_pair, fake_ltr, monkeypatch):
    st, mc = fake_ltr
    src, dst = tiny_pair
    settings = st.Settings()
    settings.env = st.EnvironmentSettings()
    ckpt = {"epoch": 7, "net_type": "TransT", "net": src.state_dict(), "settings": settings,
            "constructor": NetConstructor("transt_tiny", "ltr_slt.models.tracking.transt", (), {}),
            "stats": {"train": {"Loss/total": mc.NetConstructor("a", "b", (), {})}}}
    zip_path, legacy_path = tmp_path / "TransT_ep0007.pth.tar", tmp_path / "legacy.pth.tar"
    torch.save(ckpt, zip_path)
    torch.save(ckpt, legacy_path, _use_new_zipfile_serialization=False)
    _forget_ltr(monkeypatch)
    with pytest.raises(pickle.UnpicklingError):  # what plain torch.load does on torch >= 2.6
        torch.load(zip_path, map_location="cpu", weights_only=True)
    for path in (zip_path, legacy_path):
        obj = read_checkpoint(path)
        assert obj["epoch"] == 7 and obj["settings"].hidden_dim == 256
        assert obj["settings"].env.pretrained_networks == "/somewhere/pretrained"
        assert type(obj["settings"]).__module__ == "ltr.admin.settings"
        dst2 = transt_tiny()
        load_checkpoint(dst2, path)
        assert _same(src, dst2)
    net, checkpoint = load_network(tmp_path)  # directory: newest *.pth.tar
    assert _same(src, net) and checkpoint["epoch"] == 7 and net.constructor.fun_name == "transt_tiny"


def test_ltr_transt_constructor_maps_to_ours(tmp_path, fake_ltr, monkeypatch):
    """An official-style R50 checkpoint (ltr constructor + pickled Settings) rebuilds without ltr."""
    from ltr_slt.models.tracking.transt import transt_resnet50
    st, mc = fake_ltr
    torch.manual_seed(0)
    src = transt_resnet50(None)
    settings = st.Settings()
    settings.env = st.EnvironmentSettings()
    ckpt = {"net": src.state_dict(), "net_info": "release",
            "constructor": mc.NetConstructor("transt_resnet50", "ltr.models.tracking.transt", (settings,), {})}
    path = tmp_path / "transt.pth"
    torch.save(ckpt, path)
    _forget_ltr(monkeypatch)
    net, _ = load_network(path, backbone_pretrained=False)
    assert _same(src, net) and net.info == "release"
    c = net.constructor
    assert (c.fun_module, c.fun_name) == ("ltr_slt.models.tracking.transt", "transt_resnet50")
    assert isinstance(c.args[0], ForeignObject) and c.args[0].nheads == 8
    assert isinstance(c.args[0].env, ForeignObject)
    pickle.loads(pickle.dumps(c))  # can be saved again in our own checkpoints
    # A release file without constructor record: TransT-R50 keys are recognised.
    torch.save({"net": src.state_dict()}, tmp_path / "bare.pth")
    net2, _ = load_network(tmp_path / "bare.pth")
    assert net2.constructor.fun_name == "transt_resnet50"


def test_dict_subclass_needs_trusted(tmp_path, tiny_pair, fake_ltr, monkeypatch, caplog):
    st, _ = fake_ltr
    src, dst = tiny_pair
    fancy = st.FancyDict(a=1)
    path = tmp_path / "fancy.pth"
    torch.save({"net": src.state_dict(), "extra": fancy}, path)
    _forget_ltr(monkeypatch)
    with pytest.raises(CheckpointError, match="trusted=True"):
        load_checkpoint(dst, path)
    with caplog.at_level(logging.WARNING, logger="ltr_slt.admin.loading"):
        load_checkpoint(dst, path, trusted=True)
    assert _same(src, dst) and "falling back" in caplog.text


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_no_code_from_the_file_runs(tmp_path, tiny_pair):
    src, dst = tiny_pair
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"net": src.state_dict(), "payload": _Evil(marker)}, path)
    with pytest.raises(CheckpointError, match="trusted=True"):  # torch blocks os/posix outright
        read_checkpoint(path)
    assert not marker.exists()
    obj = read_checkpoint(path, trusted=True)
    assert not marker.exists() and "system" in repr(obj["payload"])
    load_checkpoint(dst, path, trusted=True)
    assert not marker.exists() and _same(src, dst)
    # the trusted path's unpickler stubs os.system as well
    from ltr_slt.admin import loading
    torch.load(path, map_location="cpu", weights_only=False, pickle_module=loading._restricted_pickle)
    assert not marker.exists()


def test_load_network_errors_and_kwarg_overrides(tmp_path, tiny_pair, caplog):
    src, _ = tiny_pair
    torch.save({"net": src.state_dict()}, tmp_path / "no_constructor.pth")
    with pytest.raises(CheckpointError, match="No constructor"):
        load_network(tmp_path / "no_constructor.pth")
    with pytest.raises(FileNotFoundError, match="network checkpoint not found.*nowhere"):
        load_network(tmp_path / "nowhere")
    (tmp_path / "d").mkdir()
    with pytest.raises(FileNotFoundError, match="no \\*.pth.tar"):
        load_network(tmp_path / "d")
    custom = transt_tiny(hidden_dim=16)
    torch.save({"net": custom.state_dict(), "constructor": custom.constructor}, tmp_path / "c.pth")
    net, _ = load_network(tmp_path / "c.pth", backbone_pretrained=False)
    assert _same(custom, net) and net.constructor.kwds["hidden_dim"] == 16
    net, _ = load_network(tmp_path / "c.pth", hidden_dim=16)
    assert _same(custom, net)
    r50_ctor = NetConstructor("transt_resnet50", "ltr_slt.models.tracking.transt", (None,), {})
    torch.save({"net": custom.state_dict(), "constructor": r50_ctor}, tmp_path / "r.pth")
    with caplog.at_level(logging.WARNING, logger="ltr_slt.admin.loading"):
        with pytest.raises(CheckpointError):
            load_network(tmp_path / "r.pth", not_an_argument=1)
    assert 'keyword argument "not_an_argument" not found' in caplog.text
