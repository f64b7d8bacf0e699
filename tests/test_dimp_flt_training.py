"""DiMP-family frame-level training end to end: trainer wiring, overfitting a batch, exact resume, CLI, settings."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from helpers import assert_resumes_exactly
from ltr_slt.actors.dimp_flt import FAMILY_PROCESSING, DiMPFLTActor, DiMPProcessingSettings
from ltr_slt.admin.settings import Settings
from ltr_slt.data.frame_set_sampler import FrameSetSampler
from ltr_slt.models.tracking.dimpnet import trdimpnet_tiny
from ltr_slt.trainers.flt_trainer import DIMP_FLT_DEFAULTS, FLTTrainer, build_dimp_flt_trainer

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    from ltr_slt.dataset import Lasot
    from ltr_slt.dataset.synthetic import SyntheticConfig, generate_dataset
    root = tmp_path_factory.mktemp("dimp_flt_videos")
    generate_dataset(str(root), "lasot", 3, 7, SyntheticConfig(num_frames=24, width=160, height=120), test_every=0)
    return Lasot(str(root))


def _settings(ws: Path, **kw) -> Settings:
    s = Settings(SimpleNamespace(workspace_dir=str(ws), tensorboard_dir=""))
    s.update(module_name="dimp", script_name="test", project_path="ltr/dimp/test", device="cpu", seed=3,
             batch_size=2, samples_per_epoch=4, num_workers=0, max_gap=10, min_visible_frames=6, min_length=10,
             output_sz=64, num_proposals=8, optimizer_recipe=None, lr=1e-3, print_interval=100)
    s.update(kw)
    return s


def test_fixed_batch_overfits(videos):
    torch.manual_seed(0)
    net = trdimpnet_tiny()
    batch = [FrameSetSampler([videos], samples_per_epoch=4, max_gap=10, min_visible=6, min_length=10, seed=1)[i]
             for i in range(2)]
    still = dict(output_sz=64, num_proposals=8, center_jitter_factor={"train": 0, "test": 0},
                 scale_jitter_factor={"train": 0, "test": 0}, brightness_jitter=0.0, grayscale_probability=0.0,
                 hflip_joint_probability=0.0, hflip_split_probability=0.0)
    actor = DiMPFLTActor(net, DiMPProcessingSettings.for_family("trdimp", still),
                         generator=torch.Generator().manual_seed(0))
    net.train()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=2e-3)
    first = None
    for _ in range(15):
        actor.generator.manual_seed(0)   # the same proposals every step: a fixed batch
        loss, _ = actor(batch)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    actor.generator.manual_seed(0)
    final = float(actor(batch)[0].detach())
    assert final < 0.5 * first, (first, final)


def test_trainer_checkpoints_and_resumes_exactly(tmp_path, videos):
    def make(ws):
        torch.manual_seed(0)
        return build_dimp_flt_trainer(_settings(ws), trdimpnet_tiny(), [videos], "trdimp")

    straight = assert_resumes_exactly(make, tmp_path)
    assert isinstance(straight, FLTTrainer)
    assert "Loss/bb_ce" in straight.stats["train"] and "ClfTrain/peak_dist" in straight.stats["train"]


def test_official_recipe_values():
    dimp50 = DiMPProcessingSettings.for_family("dimp50")
    assert (dimp50.search_area_factor, dimp50.output_sz, dimp50.feature_sz, dimp50.crop_type) == (5.0, 288, 18, "replicate")
    assert dimp50.center_jitter_factor == {"train": 3.0, "test": 4.5} and dimp50.scale_jitter_factor["test"] == 0.5
    assert (dimp50.iou_loss, dimp50.num_proposals, dimp50.loss_weight["iou"]) == ("mse", 8, 1.0)
    for family in ("super_dimp", "trdimp"):
        p = DiMPProcessingSettings.for_family(family)
        assert (p.search_area_factor, p.output_sz, p.feature_sz, p.crop_type, p.max_scale_change) == \
            (6.0, 352, 22, "inside_major", 1.5)
        assert p.center_jitter_factor == {"train": 3.0, "test": 5.5}
        assert (p.iou_loss, p.num_proposals, p.proposal_sigma, p.gt_sigma) == ("kl", 128, ((0.05, 0.05), (0.5, 0.5)),
                                                                             (0.05, 0.05))
        assert p.loss_weight == {"bb_ce": 0.01, "test_clf": 100.0, "test_init_clf": 100.0, "test_iter_clf": 400.0}
        assert (p.hflip_joint_probability, p.hflip_split_probability, p.grayscale_probability) == (0.5, 0.5, 0.05)
    assert set(FAMILY_PROCESSING) == set(DIMP_FLT_DEFAULTS)
    assert DIMP_FLT_DEFAULTS["trdimp"]["max_gap"] == 500 and DIMP_FLT_DEFAULTS["dimp50"]["samples_per_epoch"] == 26000


def test_official_recipe_groups_and_frozen_layers(tmp_path, videos):
    """Default optimizer: the family's per-module Adam rates; the frozen stem gets no group."""
    s = _settings(tmp_path)
    del s.optimizer_recipe
    trainer = build_dimp_flt_trainer(s, trdimpnet_tiny(), [videos], "trdimp")
    lrs = {g["name"]: g["lr"] for g in trainer.optimizer.param_groups}
    assert lrs["classifier.filter_optimizer"] == 5e-4 and lrs["feature_extractor.layer3"] == 2e-5
    assert lrs["classifier.transformer"] == 1e-3
    assert trainer.lr_scheduler.step_size == 15 and trainer.lr_scheduler.gamma == 0.2


def test_run_training_trdimp_tiny_cli(tmp_path, monkeypatch, videos):
    """`python -m ltr_slt.run_training dimp trdimp_tiny`, shrunk to seconds; the checkpoint loads."""
    from ltr_slt.admin.loading import load_network
    from ltr_slt.run_training import run_training
    from ltr_slt.train_settings.dimp import _tiny_flt
    from ltr_slt.train_settings.transt import transt_tiny

    monkeypatch.setattr(_tiny_flt, "TINY_FLT_VALUES", dict(_tiny_flt.TINY_FLT_VALUES, batch_size=2, samples_per_epoch=2,
                                                           num_epochs=1, output_sz=64, num_proposals=8,
                                                           min_visible_frames=6, min_length=10))
    monkeypatch.setattr(transt_tiny, "datasets", lambda settings, name="": [videos])
    run_training("dimp", "trdimp_tiny", seed=1, workspace=str(tmp_path), device="cpu")
    files = list((tmp_path / "checkpoints" / "ltr" / "dimp" / "trdimp_tiny").glob("TrDiMPnet_ep0001.pth.tar"))
    assert len(files) == 1
    net, _ = load_network(str(files[0]), trusted=True)
    assert type(net).__name__ == "TrDiMPnet"
    fresh = trdimpnet_tiny()
    changed = [n for n, p in net.state_dict().items() if not torch.equal(p, fresh.state_dict()[n])]
    assert any(n.startswith("feature_extractor.conv1") for n in changed)  # the tiny recipe trains the stem too


def test_slt_vs_flt_experiment_quick(tmp_path):
    """experiments/dimp_slt_vs_flt.py --quick: every stage runs and the report has the four rows."""
    sys.path.insert(0, str(REPO))
    from experiments import dimp_slt_vs_flt

    assert dimp_slt_vs_flt.main(["--quick", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["evaluation"]["scores"]) == {"flt", "flt_continued", "flt_continued_time", "slt"}
    assert all(0.0 <= s["AUC"] <= 100.0 for s in report["evaluation"]["scores"].values())
    assert report["slt"]["settings"]["optimizer_recipe"] == "slt_trdimp"


@pytest.mark.parametrize("family,net_type", [("super_dimp", "DiMPnet"), ("dimp50", "DiMPnet")])
def test_tiny_flt_other_families_train_one_step(tmp_path, videos, family, net_type):
    from ltr_slt.train_settings.dimp._tiny_flt import build_tiny_flt

    s = _settings(tmp_path, module_name="dimp", script_name=f"{family}_tiny", num_epochs=1, samples_per_epoch=2)
    del s.optimizer_recipe, s.num_proposals  # the tiny recipe's own values
    s.synthetic_train_root = videos.root
    net, trainer = build_tiny_flt(s, family)
    assert type(net).__name__ == net_type and all(p.requires_grad for p in net.feature_extractor.conv1.parameters())
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    trainer.train(1)
    key = "Loss/iou" if family == "dimp50" else "Loss/bb_ce"
    assert key in trainer.stats["train"]
    assert any(not torch.equal(before[n], p) for n, p in net.named_parameters() if n.startswith("classifier"))


@pytest.mark.parametrize("module,p_datasets", [("trdimp", [1, 1, 1]), ("super_dimp", [1, 1, 1]),
                                               ("dimp50", [0.25, 1, 1])])
def test_full_flt_settings_wire_the_official_recipe(module, p_datasets, tmp_path, monkeypatch, videos):
    """`dimp trdimp` & co: official values reach the trainer; missing data / weights stop with one clear error."""
    import importlib

    from ltr_slt.admin.environment import env_settings
    from ltr_slt.trainers import flt_trainer
    from pytracking_slt.workspace.weights import WeightsNotFoundError

    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    mod = importlib.import_module(f"ltr_slt.train_settings.dimp.{module}")
    settings = Settings(env_settings(workspace_dir=str(tmp_path), pretrained_networks=str(tmp_path / "nets")))
    with pytest.raises(Exception, match="(?i)lasot"):  # no dataset configured
        mod.run(settings)
    settings = Settings(env_settings(workspace_dir=str(tmp_path), pretrained_networks=str(tmp_path / "nets")))
    settings.pretrained_net = "released.pth"
    with pytest.raises(WeightsNotFoundError, match=r"released\.pth"):
        mod.run(settings)

    seen = {}

    class Stop(Exception):
        pass

    def fake_builder(s, net, datasets, family, p_datasets=None):
        seen.update(net=net, family=family, p=p_datasets, n=len(datasets))
        raise Stop

    monkeypatch.setattr(flt_trainer, "build_dimp_flt_trainer", fake_builder)
    import ltr_slt.dataset as ds
    for name in ("Lasot", "Got10k", "TrackingNet"):
        monkeypatch.setattr(ds, name, lambda *a, **k: videos)
    from ltr_slt.models.tracking import dimpnet
    tiny = {"trdimp": dimpnet.trdimpnet_tiny, "super_dimp": dimpnet.super_dimpnet_tiny, "dimp50": dimpnet.dimpnet_tiny}
    factory = getattr(dimpnet, {"trdimp": "trdimpnet50", "super_dimp": "super_dimpnet50", "dimp50": "dimpnet50"}[module])
    monkeypatch.setattr(dimpnet, factory.__name__, lambda **kw: tiny[module]())
    settings = Settings(env_settings(workspace_dir=str(tmp_path)))
    with pytest.raises(Stop):
        mod.run(settings)
    assert seen["family"] == module and seen["p"] == p_datasets and seen["n"] == 3
    assert (settings.num_epochs, settings.lr_step, settings.lr_gamma, settings.num_workers) == (50, 15, 0.2, 8)
