"""Loading DiMP-family checkpoints in the official layouts (architectures.md 8), without ltr:
``dimp50.pth`` (legacy torch format), ``super_dimp.pth.tar`` (DataParallel ``module.`` keys) and
``trdimp_net.pth.tar`` (TrDiMP recording DiMP's ``dimpnet50``), each an ltr dict whose
``constructor`` is a pickled ``ltr.admin.model_constructor.NetConstructor`` of a package that is gone
when the file is read. Files are synthesized here: the keys of the official TSVs (copied to
tests/data) with per-key constant values stored as broadcast views, so an R50-size checkpoint takes
a few kilobytes."""
from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import pytest
import torch

from ltr_slt.admin.loading import CheckpointError, load_checkpoint, load_network
from ltr_slt.models.tracking.dimpnet import (DIMP50_KWARGS, SUPER_DIMP_KWARGS, TRDIMP_KWARGS, DiMPnet, TrDiMPnet,
                                             trdimpnet_tiny)
from helpers import forget_package, write_fake_package

DATA = Path(__file__).parent / "data"

FAKE_LTR = {
    "ltr/__init__.py": "",
    "ltr/admin/__init__.py": "",
    "ltr/admin/model_constructor.py": """
        class NetConstructor:
            def __init__(self, fun_name, fun_module, args, kwds):
                self.fun_name, self.fun_module, self.args, self.kwds = fun_name, fun_module, args, kwds
        """,
    "ltr/admin/settings.py": """
        class Settings:
            def __init__(self):
                self.batch_size = 20
                self.search_area_factor = 6.0
        """,
}


@pytest.fixture(autouse=True)
def _fast_finite_check(monkeypatch):
    """The synthesized tensors are broadcast constants; the loader's NaN/inf scan (real function)
    looks at one element of each, instead of tens of millions of strided reads."""
    from ltr_slt.admin import loading
    real = loading.nonfinite_tensors

    def on_first_elements(state):
        return real({k: v.as_strided((1,), (1,)) if v.dim() and v.numel() else v for k, v in state.items()})

    monkeypatch.setattr(loading, "nonfinite_tensors", on_first_elements)


@pytest.fixture
def fake_ltr(tmp_path, monkeypatch):
    """ltr's classes, importable while files are written; forgotten before they are read."""
    monkeypatch.syspath_prepend(write_fake_package(tmp_path / "fake_ltr", FAKE_LTR))
    import ltr.admin.model_constructor as mc
    import ltr.admin.settings as st

    def forget() -> None:  # plain deletes: monkeypatch would put the fake modules back afterwards
        forget_package("ltr")
        monkeypatch.setattr(sys, "path", [p for p in sys.path if "fake_ltr" not in p])

    yield mc, st, forget
    forget_package("ltr")


def _value(key: str) -> float:
    return (zlib.crc32(key.encode()) % 1000) / 1000.0 + 0.5


def _synthetic_state(tsv: str, prefix: str = "") -> dict:
    """Every key of the official state-dict table holding one per-key constant (a broadcast view:
    tiny on disk); aliases (TrDiMP's shared self-attention) hold the value of their target."""
    out, rows = {}, [l.split("\t") for l in (DATA / tsv).read_text().splitlines()[1:] if l.strip()]
    for row in rows:
        key, shape, dtype = row[0], () if row[2] == "scalar" else tuple(int(s) for s in row[2].split("x")), row[3]
        source = row[6] if len(row) > 6 and row[6] else key
        if dtype == "float32":
            out[prefix + key] = torch.full((1,) * len(shape), _value(source)).expand(shape)
        else:
            out[prefix + key] = torch.tensor(7, dtype=torch.int64)  # num_batches_tracked
    return out


def _ltr_dict(mc, st, state: dict, kwds: dict, net_type: str = "DiMPnet") -> dict:
    return {"epoch": 50, "actor_type": "DiMPActor", "net_type": net_type, "net": state, "net_info": None,
            "constructor": mc.NetConstructor("dimpnet50", "ltr.models.tracking.dimpnet", (),
                                             dict(kwds, backbone_pretrained=True)),
            "optimizer": {"state": {}, "param_groups": [{"lr": 2e-4, "params": [0, 1]}]},
            "stats": None, "settings": st.Settings()}


def _check_values(net: torch.nn.Module) -> None:
    state = net.state_dict()
    for k, v in state.items():
        if v.dtype.is_floating_point:
            assert torch.all(v == _value(k.replace(".decoder.layers.0.self_attn.", ".encoder.layers.0.self_attn."))), k
        elif not v.dim():
            assert int(v) == 7, k


def test_dimp50_pth_legacy_format_rebuilds_dimpnet50(tmp_path, fake_ltr):
    mc, st, forget = fake_ltr
    path = tmp_path / "dimp50.pth"
    torch.save(_ltr_dict(mc, st, _synthetic_state("dimp50_state_dict.tsv"), DIMP50_KWARGS), path,
               _use_new_zipfile_serialization=False)  # the 2019 release predates the zip format
    forget()
    net, ckpt = load_network(path)
    assert type(net) is DiMPnet and ckpt["epoch"] == 50
    assert (net.constructor.fun_module, net.constructor.fun_name) == ("ltr_slt.models.tracking.dimpnet", "dimpnet50")
    assert net.constructor.kwds["init_gauss_sigma"] == pytest.approx(0.9)
    assert net.constructor.kwds["backbone_pretrained"] is False  # the checkpoint supplies the backbone
    _check_values(net)
    assert all(p.requires_grad for p in net.parameters())


def test_super_dimp_pth_tar_with_module_prefix(tmp_path, fake_ltr):
    mc, st, forget = fake_ltr
    path = tmp_path / "super_dimp.pth.tar"
    torch.save(_ltr_dict(mc, st, _synthetic_state("dimp50_state_dict.tsv", prefix="module."), SUPER_DIMP_KWARGS), path)
    forget()
    net, _ = load_network(path)
    assert type(net) is DiMPnet
    assert net.constructor.kwds["frozen_backbone_layers"] == ["conv1", "bn1", "layer1", "layer2"]
    _check_values(net)
    frozen = {n.split(".")[1] for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1", "bn1", "layer1", "layer2"}
    # one call for a network built yourself (``super_dimpnet50()``; here the one just built)
    for p in net.parameters():
        p.data.zero_()
    report = load_checkpoint(net, path)
    assert report.ok and report.stripped_prefixes == ["module."] and report.num_loaded == 407
    _check_values(net)


def test_trdimp_net_pth_tar_records_dimpnet50_and_rebuilds_trdimp(tmp_path, fake_ltr):
    mc, st, forget = fake_ltr
    state = _synthetic_state("trdimp_state_dict.tsv")
    assert len(state) == 419
    path = tmp_path / "trdimp_net.pth.tar"
    torch.save(_ltr_dict(mc, st, state, TRDIMP_KWARGS), path)
    forget()
    net, _ = load_network(path)
    assert type(net) is TrDiMPnet
    assert (net.constructor.fun_module, net.constructor.fun_name) == ("ltr_slt.models.tracking.dimpnet",
                                                                      "trdimpnet50")
    _check_values(net)
    enc = net.classifier.transformer.encoder.layers[0].self_attn
    assert enc is net.classifier.transformer.decoder.layers[0].self_attn
    # a weights-only file (no record) is recognised by its keys
    bare = tmp_path / "bare_trdimp.pth"
    torch.save({"net": state}, bare)
    net2, _ = load_network(bare)
    assert type(net2) is TrDiMPnet


def test_missing_and_unexpected_keys_one_line_error(tmp_path, fake_ltr):
    mc, st, forget = fake_ltr
    torch.manual_seed(0)
    state = dict(trdimpnet_tiny().state_dict())
    del state["classifier.transformer.decoder.layers.0.cross_attn.head.0.WK.bias"]
    state["classifier.transformer.decoder.layers.0.FFN.weight"] = torch.zeros(3)
    path = tmp_path / "trdimp_broken.pth.tar"
    ckpt = _ltr_dict(mc, st, state, {})
    ckpt["constructor"] = mc.NetConstructor("trdimpnet_tiny", "ltr_slt.models.tracking.dimpnet", (), {})
    torch.save(ckpt, path)
    forget()
    with pytest.raises(CheckpointError) as err:
        load_network(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    assert "1 missing keys ['classifier.transformer.decoder.layers.0.cross_attn.head.0.WK.bias']" in msg
    assert "1 unexpected keys ['classifier.transformer.decoder.layers.0.FFN.weight']" in msg
    net, _ = load_network(path, strict=False)  # reported, the rest loaded
    assert type(net) is TrDiMPnet


def test_tiny_family_round_trip_through_our_own_checkpoints(tmp_path):
    from ltr_slt.models.tracking.dimpnet import dimpnet_tiny, super_dimpnet_tiny
    for factory in (dimpnet_tiny, super_dimpnet_tiny, trdimpnet_tiny):
        torch.manual_seed(1)
        src = factory(width=4)
        path = tmp_path / f"{factory.__name__}.pth.tar"
        torch.save({"net": src.state_dict(), "constructor": src.constructor}, path)
        net, _ = load_network(path)
        assert type(net) is type(src) and net.constructor.kwds == {"width": 4}
        assert all(torch.equal(v, src.state_dict()[k]) for k, v in net.state_dict().items())


def test_hyperparams_constructor_kwargs_match_the_factories():
    hyper = json.loads((DATA / "hyperparams.json").read_text())
    for name, ours in (("dimp50", DIMP50_KWARGS), ("trdimp", TRDIMP_KWARGS)):
        official = hyper[name]["constructor_kwargs_train"]
        for key, value in ours.items():
            assert official[key] == pytest.approx(value) if isinstance(value, float) else official[key] == value, key
