"""DiMP-family SLT through the real CLI (``slt-train slt <family>_slt_tiny``): one iteration per family
changes the weights and writes an ltr checkpoint the DiMP tracker loads; resume is exact; the full
settings fail clearly without their baseline weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ltr_slt import run_training as rt
from ltr_slt.admin import checkpoint as ckpt_io
from ltr_slt.admin.environment import env_settings
from ltr_slt.admin.model_constructor import NetConstructor
from ltr_slt.admin.settings import Settings
from ltr_slt.models.tracking import dimpnet

# family settings -> (tiny factory, network class, pytracking tracker module, tiny parameter module)
FAMILIES = {
    "trdimp_slt_tiny": ("trdimpnet_tiny", "TrDiMPnet", "slt_trdimp", "slt_trdimp.slt_trdimp_tiny"),
    "super_dimp_slt_tiny": ("super_dimpnet_tiny", "DiMPnet", "dimp", "dimp.super_dimp_tiny"),
    "dimp_slt_tiny": ("dimpnet_tiny", "DiMPnet", "dimp", "dimp.dimp50_tiny"),
}


@pytest.fixture()
def no_spawn_switch(monkeypatch):
    monkeypatch.setattr(rt.multiprocessing, "set_start_method", lambda *a, **k: None)


def _start_checkpoint(path, factory_name):
    torch.manual_seed(5)
    net = getattr(dimpnet, factory_name)()
    torch.save({"net": net.state_dict(), "constructor": NetConstructor(factory_name, "ltr_slt.models.tracking.dimpnet",
                                                                        (), {}), "net_type": type(net).__name__}, path)
    return net.state_dict()


def _track_two_frames(tracker_name, param_module, ckpt):
    import importlib

    params = importlib.import_module(f"pytracking_slt.parameter.{param_module}").parameters(net_path=str(ckpt),
                                                                                            device="cpu")
    tracker_cls = importlib.import_module(f"pytracking_slt.tracker.{tracker_name}").get_tracker_class()
    tracker = tracker_cls(params)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 80, size=(90, 120, 3), dtype=np.uint8) for _ in range(2)]
    for f in frames:
        f[30:54, 40:64] = 220
    tracker.initialize(frames[0], {"init_bbox": [40.0, 30.0, 24.0, 24.0]})
    box = tracker.track(frames[1])["target_bbox"]
    assert len(box) == 4 and all(np.isfinite(box))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_one_slt_iteration_per_family_through_the_cli(name, tmp_path, monkeypatch, no_spawn_switch):
    factory, net_type, tracker_name, param_module = FAMILIES[name]
    start = _start_checkpoint(tmp_path / "start.pth.tar", factory)
    monkeypatch.setenv("SLT_TINY_DIMP_PRETRAINED", str(tmp_path / "start.pth.tar"))
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    ws = tmp_path / "ws"
    assert rt.main(["slt", name, "--workspace", str(ws), "--device", "cpu", "--seed", "3"]) == 0
    ckpt = ws / "checkpoints" / "ltr" / "slt" / name / f"{net_type}_ep0001.pth.tar"
    state = ckpt_io.read_checkpoint(ckpt)
    assert state["epoch"] == 1 and state["settings"].num_seq == 2
    trained = state["net"]
    changed = [k for k, v in start.items() if v.is_floating_point() and not torch.equal(v, trained[k])]
    assert any(k.startswith("classifier.") for k in changed), changed
    # official default: the IoU-Net is frozen; the backbone's frozen stem never changes
    assert not any(k.startswith("bb_regressor.") for k in changed), changed
    if name != "dimp_slt_tiny":  # SuperDiMP / TrDiMP recipes freeze conv1, bn1, layer1, layer2
        assert not any(k.startswith(("feature_extractor.conv1", "feature_extractor.bn1", "feature_extractor.layer1",
                                     "feature_extractor.layer2")) for k in changed), changed
        assert any(k.startswith("feature_extractor.layer3") for k in changed), changed
    stats = state["stats"]["train"]
    assert np.isfinite(stats["Loss/sl_clf"].history[0]) and 0.0 <= stats["mIoU"].history[0] <= 1.0
    _track_two_frames(tracker_name, param_module, ckpt)


def _run_tiny(ws, epochs):
    settings = Settings(env_settings(workspace_dir=str(ws)))
    settings.update(device="cpu", num_epochs=epochs)
    return rt.run_training("slt", "trdimp_slt_tiny", settings=settings, seed=4)


def test_resume_is_exact(tmp_path, monkeypatch):
    monkeypatch.delenv("SLT_TINY_DIMP_PRETRAINED", raising=False)
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    straight = _run_tiny(tmp_path / "a", 2)
    _run_tiny(tmp_path / "b", 1)
    resumed = _run_tiny(tmp_path / "b", 2)  # loads epoch 1, trains epoch 2
    assert resumed.epoch == 2 and len(resumed.stats["train"]["mIoU"].history) == 2
    for k, v in straight.net.state_dict().items():
        assert torch.equal(v, resumed.net.state_dict()[k]), k
    assert straight.stats["train"]["reward"].history == resumed.stats["train"]["reward"].history


@pytest.mark.parametrize("module,weights", [("trdimp_slt", "trdimp.pth"), ("super_dimp_slt", "super_dimp.pth.tar"),
                                            ("dimp_slt", "dimp50.pth")])
def test_full_settings_fail_clearly_without_baseline_weights(module, weights, tmp_path, monkeypatch):
    import importlib

    from pytracking_slt.workspace.weights import WeightsNotFoundError

    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    settings = Settings(env_settings(workspace_dir=str(tmp_path), pretrained_networks=str(tmp_path / "nets")))
    mod = importlib.import_module(f"ltr_slt.train_settings.slt.{module}")
    with pytest.raises(WeightsNotFoundError, match=weights.replace(".", r"\.") + r"(.|\n)*nets(.|\n)*github"):
        mod.run(settings)
    assert settings.num_seq == 8 and settings.num_frames == 24 and settings.num_seq_backward == 4
    assert settings.samples_per_epoch == 5000 and settings.num_epochs == 40
    assert settings.slt_loss_weight == 4.0 and settings.grad_clip_max_norm == 40.0
    assert settings.lr_step_size == 8 and settings.lr_gamma == 0.5 and settings.train_iou_net is False
    assert settings.trackingnet_sets == [6, 7, 8, 9, 10, 11]
    if module == "dimp_slt":
        assert settings.iou_loss == "mse" and settings.iou_loss_weight == 1.0 and settings.num_proposals == 8
    else:
        assert settings.iou_loss == "kl" and settings.iou_loss_weight == 0.01 and settings.num_proposals == 128


def test_slt_trdimp_optimizer_groups_are_the_official_rates():
    from ltr_slt.train_settings.slt._dimp_common import apply_dimp_defaults, build_dimp_optimizer

    settings = apply_dimp_defaults(Settings(), "trdimp")
    net = dimpnet.trdimpnet_tiny()
    opt = build_dimp_optimizer(net, settings)
    rates = {g["name"]: g["lr"] for g in opt.param_groups}
    assert rates == pytest.approx({"classifier.filter_initializer": 2e-6, "classifier.filter_optimizer": 2e-5,
                                   "classifier.feature_extractor": 2e-6, "classifier.transformer": 4e-5,
                                   "bb_regressor": 4e-5, "feature_extractor.layer3": 8e-7})
    assert isinstance(opt, torch.optim.Adam) and all(g["weight_decay"] == 0 for g in opt.param_groups)
