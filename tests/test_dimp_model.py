"""DiMP-50 / SuperDiMP networks: official state-dict layout (strict load), every recorded reference
stage (keyseeded weights, architectures.md 9), frozen parts, tiny variants and the tracking API."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr_slt.models.dimp.reference import compare_stages, reference_stages
from ltr_slt.models.keyseed import apply_keyseeded_weights_
from ltr_slt.models.tracking.dimpnet import (FACTORIES, SUPER_DIMP_KWARGS, DiMPnet, dimpnet50, dimpnet_tiny,
                                             super_dimpnet50, super_dimpnet_tiny)
from helpers import tiny_dimp_batch

DATA = Path(__file__).parent / "data"
TSV = DATA / "dimp50_state_dict.tsv"
REFERENCE = json.loads((DATA / "dimp50_reference_numbers.json").read_text())
HYPER = json.loads((DATA / "hyperparams.json").read_text())
# float32 on another BLAS reduces in another order: ~1e-5 relative on the recorded statistics
STAGE_RTOL = 1e-4
# scores after 10 Gauss-Newton steps on the raw filter amplify those differences (measured 1.5e-5 to 1.7e-4
# depending on the thread count); every other stage keeps STAGE_RTOL
AMPLIFIED_RTOL = {"scores_after_10iter": 1e-3}


def _over_tolerance(errors):
    return {k: v for k, v in errors.items() if not v <= AMPLIFIED_RTOL.get(k, STAGE_RTOL)}


def _shape_str(t: torch.Tensor) -> str:
    return "x".join(str(s) for s in t.shape) if t.dim() else "scalar"


def tsv_rows(path: Path):
    return [l.split("\t") for l in path.read_text().splitlines()[1:] if l.strip()]


@pytest.fixture(scope="module")
def r50() -> DiMPnet:
    torch.manual_seed(0)
    return dimpnet50(**HYPER["dimp50"]["constructor_kwargs_train"]).eval()


@pytest.fixture(scope="module")
def keyseeded_stages(r50):
    apply_keyseeded_weights_(r50, keep=lambda k: k.startswith("classifier.filter_optimizer."))
    return reference_stages(r50, REFERENCE)


def test_dimp50_state_dict_matches_official_tsv_and_loads_strict(r50):
    rows = tsv_rows(TSV)
    assert len(rows) == REFERENCE["tables"]["num_state_dict_keys"] == 407
    assert [(k, _shape_str(v)) for k, v in r50.state_dict().items()] == [(r[0], r[2]) for r in rows]
    unique = {p.data_ptr(): p.numel() for p in r50.parameters()}
    assert sum(unique.values()) == REFERENCE["tables"]["num_parameters_unique"]
    own = r50.state_dict()
    from_tsv = {r[0]: own[r[0]].clone() for r in rows}  # the official key set, values unchanged
    result = r50.load_state_dict(from_tsv, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_dimp50_filter_optimizer_init_values(r50):
    opt = r50.classifier.filter_optimizer
    ref = REFERENCE["filter_optimizer_init"]
    np.testing.assert_allclose(opt.log_step_length.detach().numpy(), ref["log_step_length"], rtol=1e-7)
    np.testing.assert_allclose(opt.filter_reg.detach().numpy(), ref["filter_reg"], rtol=1e-7)
    params = dict(opt.named_parameters())
    checked = 0
    for name, val in ref.items():
        if name in params and isinstance(val, dict):
            np.testing.assert_allclose(params[name].sum().item(), val["sum"], rtol=1e-6)
            np.testing.assert_allclose(params[name].flatten()[:5].detach().numpy(), val["first5"], rtol=1e-6, atol=1e-7)
            checked += 1
    assert checked == 3  # label map, target mask, spatial weight


def test_dimp50_keyseeded_reproduces_every_recorded_stage(keyseeded_stages):
    recorded = REFERENCE["keyseeded"]
    errors = compare_stages(keyseeded_stages, recorded)
    assert set(errors) == set(recorded) - {"scores_after_10iter_argmax_yx"}
    bad = _over_tolerance(errors)
    assert not bad, f"stages off the reference (max rel. error): {bad}"
    s = keyseeded_stages["scores_after_10iter"][0, 0]
    assert list(divmod(int(s.argmax()), s.shape[-1])) == recorded["scores_after_10iter_argmax_yx"]


def test_dimp50_reference_selected_values(keyseeded_stages):
    """The values quoted in architectures.md 9.3 (independent of the statistics helper)."""
    sums = [s.sum().item() for s in keyseeded_stages["train_forward_scores_per_iter"]]
    np.testing.assert_allclose(sums, [90.3833, 15.4111, 6.83654, 4.37836, 8.62631, 5.82], rtol=2e-5, atol=1e-4)
    np.testing.assert_allclose(keyseeded_stages["train_forward_iou_pred"].flatten().numpy(),
                               [-0.82391, -0.847468, -0.823637, -0.692626, -0.768059, -0.864403, -0.789533,
                                -0.81866], atol=2e-6)
    np.testing.assert_allclose(keyseeded_stages["init_filter"].sum().item(), 15.0606, rtol=1e-5)
    losses = keyseeded_stages["get_filter_10iter_losses"]
    assert losses.numel() == 11
    np.testing.assert_allclose([losses[0].item(), losses[-1].item()], [25.1283, 3.2433], rtol=1e-5)


def test_registry_names():
    assert [f.__name__ for f in FACTORIES] == ["dimpnet50", "trdimpnet50", "dimpnet_tiny", "super_dimpnet_tiny",
                                               "trdimpnet_tiny"]
    from ltr_slt.admin.model_constructor import resolve_factory
    assert resolve_factory("ltr.models.tracking.dimpnet", "dimpnet50") is dimpnet50


def test_super_dimp_is_dimpnet50_with_official_arguments(r50):
    """pytracking's super_dimp.py builds ``dimpnet.dimpnet50`` (same sizes as DiMP-50), sigma (1/4/6)*22,
    stem/layer1/layer2 frozen; its checkpoints record that call, so ours does too."""
    assert SUPER_DIMP_KWARGS["init_gauss_sigma"] == pytest.approx(HYPER["trdimp"]["constructor_kwargs_train"]["init_gauss_sigma"])
    torch.manual_seed(0)
    net = super_dimpnet50()
    assert (net.constructor.fun_module, net.constructor.fun_name) == ("ltr_slt.models.tracking.dimpnet", "dimpnet50")
    assert net.constructor.kwds["frozen_backbone_layers"] == ["conv1", "bn1", "layer1", "layer2"]
    assert [(k, tuple(v.shape)) for k, v in net.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in r50.state_dict().items()]
    label_w = net.classifier.filter_optimizer.label_map_predictor.weight.flatten()
    d = torch.arange(100) * 0.1
    g = torch.exp(-0.5 * (d / (22 / 24)) ** 2)
    torch.testing.assert_close(label_w, g - g.min())
    frozen = {n.split(".")[1] for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1", "bn1", "layer1", "layer2"}


def test_frozen_layers_stay_in_eval_mode_and_get_no_gradient():
    torch.manual_seed(0)
    net = super_dimpnet_tiny().train()
    fe = net.feature_extractor
    assert not fe.layer2.training and not fe.bn1.training and fe.layer3.training
    before = fe.layer1[0].bn1.running_mean.clone()
    tr, te, bb, props = _tiny_batch()
    scores, iou = net(tr, te, bb, props)
    (sum(s.sum() for s in scores) + iou.sum()).backward()
    torch.testing.assert_close(fe.layer1[0].bn1.running_mean, before)  # frozen BN statistics unchanged
    assert fe.conv1.weight.grad is None and fe.layer3[0].conv1.weight.grad is not None
    with pytest.raises(ValueError, match="layer9"):
        from ltr_slt.models.dimp.resnet50 import ResNetFull
        ResNetFull((1, 1, 1, 1), 8, frozen_layers=["layer9"])


def test_unsupported_constructor_arguments_are_named():
    with pytest.raises(ValueError, match="clf_feat_blocks"):
        dimpnet50(clf_feat_blocks=1)


def _tiny_batch(seq: int = 3):
    return tiny_dimp_batch(seed=1, seq=seq, num_test=1, num_proposals=5, box=(16, 16, 24, 20))


def test_tiny_training_forward_returns_every_iterate_and_backpropagates():
    torch.manual_seed(0)
    net = dimpnet_tiny().train()
    tr, te, bb, props = _tiny_batch()
    scores, iou = net(tr, te, bb, props)
    assert len(scores) == 3 and all(s.shape == (1, 3, 5, 5) for s in scores)  # optim_iter 2 + initial
    assert iou.shape == (1, 3, 5)
    (sum(s.sum() for s in scores) + iou.sum()).backward()
    opt = net.classifier.filter_optimizer
    assert opt.log_step_length.grad is not None and opt.label_map_predictor.weight.grad is not None
    assert net.classifier.filter_initializer.filter_conv.weight.grad is not None
    scores5, _ = net(tr, te, bb, props, num_iter=4)
    assert len(scores5) == 5


def test_tracking_api_accepts_the_trackers_4d_shapes():
    """The DiMP tracker passes [N, C, H, W] features and [N, 4] boxes (one sequence) like ltr."""
    torch.manual_seed(0)
    net = dimpnet_tiny().eval()
    tr, _, bb, props = _tiny_batch()
    with torch.no_grad():
        feat = net.extract_backbone_features(tr[0])  # 3 images
        assert feat["layer2"].shape == (3, 64, 8, 8) and feat["layer3"].shape == (3, 128, 4, 4)
        x = net.extract_classification_feat(feat)  # [3, 16, 4, 4]
        assert x.shape == (3, 16, 4, 4)
        boxes = bb[0]  # [3, 4]
        w, iters, losses = net.classifier.get_filter(x, boxes, num_iter=4, compute_losses=True)
        assert w.shape == (1, 16, 4, 4) and len(iters) == 5 and len(losses) == 5
        assert all(not l.requires_grad for l in losses) and losses[-1] < losses[0]
        # same result as the 5-dim (images, sequences=1) form
        w5, _, _ = net.classifier.get_filter(x.unsqueeze(1), boxes.unsqueeze(1), num_iter=4)
        torch.testing.assert_close(w, w5)
        s = net.classifier.classify(w, x)
        assert s.shape == (3, 1, 5, 5)
        w2, _, l2 = net.classifier.filter_optimizer(w, feat=x, bb=boxes, sample_weight=torch.full((3,), 1 / 3),
                                                    num_iter=2, compute_losses=False)
        assert w2.shape == w.shape and l2 == []
        bbf = net.get_backbone_bbreg_feat(feat)
        mod = net.bb_regressor.get_modulation([f[:1] for f in bbf], boxes[:1])
        iou_feat = net.bb_regressor.get_iou_feat([f[:1] for f in bbf])
        p = net.bb_regressor.predict_iou(mod, iou_feat, props[0, :1])
        assert p.shape == (1, 5)
        mean_mod = [m.mean(0) for m in mod]  # the tracker keeps [D, 1, 1] (mean over init samples)
        torch.testing.assert_close(net.bb_regressor.predict_iou(mean_mod, iou_feat, props[0, :1]), p)
        allf = net.extract_features(tr[0, :1])
        assert list(allf) == ["layer2", "layer3", "classification"] and allf["classification"].shape == (1, 16, 4, 4)


# -- learning-rate groups and frozen parts of the official train settings ---------------------------
from ltr_slt.models.tracking.param_groups import RECIPES, dimp_param_groups  # noqa: E402
from ltr_slt.models.tracking.dimpnet import trdimpnet_tiny  # noqa: E402


def _group_lrs(groups, default):
    return {g["name"]: g.get("lr", default) for g in groups}


def test_param_groups_follow_the_official_settings():
    torch.manual_seed(0)
    net = dimpnet_tiny()
    groups, lr = dimp_param_groups(net, "dimp50")
    assert lr == 2e-4
    assert _group_lrs(groups, lr) == {"classifier.filter_initializer": 5e-5, "classifier.filter_optimizer": 5e-4,
                                      "classifier.feature_extractor": 5e-5, "bb_regressor": 2e-4,
                                      "feature_extractor": 2e-5}
    assert all(p.requires_grad for p in net.parameters())  # DiMP-50 freezes nothing
    optim = torch.optim.Adam(groups, lr=lr)  # no parameter in two groups
    assert sum(len(g["params"]) for g in optim.param_groups) == len(list(net.parameters()))

    net = trdimpnet_tiny()
    groups, lr = dimp_param_groups(net, "trdimp")
    assert _group_lrs(groups, lr) == {"classifier.filter_initializer": 5e-5, "classifier.filter_optimizer": 5e-4,
                                      "classifier.feature_extractor": 5e-5, "classifier.transformer": 1e-3,
                                      "bb_regressor": 1e-3, "feature_extractor.layer3": 2e-5}
    transformer_group = next(g for g in groups if g["name"] == "classifier.transformer")
    assert len(transformer_group["params"]) == 8  # shared self-attention counted once: 2 x (WK, WV) x (w, b)
    torch.optim.Adam(groups, lr=lr)
    frozen = {n.split(".")[1] for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1", "bn1", "layer1", "layer2"}

    slt, slt_lr = dimp_param_groups(net, "slt_trdimp")
    ratios = [g["lr"] / t["lr"] for g, t in zip(slt, groups)]
    assert slt_lr == pytest.approx(lr / 25) and ratios == pytest.approx([1 / 25] * 6)
    assert RECIPES["super_dimp"].frozen_backbone_layers == ("conv1", "bn1", "layer1", "layer2")


def test_param_groups_freeze_a_net_built_without_frozen_layers_and_name_bad_input():
    torch.manual_seed(0)
    net = dimpnet_tiny().train()
    groups, _ = dimp_param_groups(net, "super_dimp", lr_scale=0.5)
    assert groups[3]["lr"] == pytest.approx(5e-4) and groups[3]["name"] == "bb_regressor"
    assert not net.feature_extractor.layer2.training and not net.feature_extractor.conv1.weight.requires_grad
    with pytest.raises(ValueError, match="transformer"):
        dimp_param_groups(dimpnet_tiny(), "trdimp")
    with pytest.raises(ValueError, match="unknown recipe 'prdimp'"):
        dimp_param_groups(net, "prdimp")


@pytest.mark.slow
def test_dimp50_seed0_reproduces_every_recorded_stage():
    """Seed-0 initialisation in ltr's module order gives the official seed-0 numbers."""
    torch.manual_seed(0)
    net = dimpnet50(**HYPER["dimp50"]["constructor_kwargs_train"])
    errors = compare_stages(reference_stages(net, REFERENCE), REFERENCE["seed0"])
    bad = _over_tolerance(errors)
    assert len(errors) == len(REFERENCE["seed0"]) - 1 and not bad, bad
