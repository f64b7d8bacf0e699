"""DiMP-50 model: official state-dict layout (strict load), keyseeded reference numbers, tracking API."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr_slt.models.keyseed import apply_keyseeded_weights_
from ltr_slt.models.tracking.dimpnet import FACTORIES, dimpnet50, dimpnet_tiny, klcedimpnet50

ARCH = Path("/work/shared/reference/arch")
TSV = ARCH / "dimp50_state_dict.tsv"
REFERENCE = ARCH / "dimp50_reference_numbers.json"
needs_ref = pytest.mark.skipif(not TSV.exists(), reason="reference tables not available")


def _shape_str(t):
    return "x".join(str(s) for s in t.shape) if t.dim() else "scalar"


@pytest.fixture(scope="module")
def r50():
    torch.manual_seed(0)
    return dimpnet50().eval()


@needs_ref
def test_dimp50_state_dict_matches_official_tsv_and_loads_strict(r50):
    rows = [l.split("\t") for l in TSV.read_text().splitlines()[1:] if l.strip()]
    expected = {r[0]: r[2] for r in rows}
    ours = {k: _shape_str(v) for k, v in r50.state_dict().items()}
    assert len(expected) == 407
    assert ours == expected
    fake = {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in r50.state_dict().items()}
    torch.manual_seed(0)
    dimpnet50().load_state_dict(fake, strict=True)


@needs_ref
def test_dimp50_filter_optimizer_init_values(r50):
    opt = r50.classifier.filter_optimizer
    assert opt.log_step_length.item() == pytest.approx(np.log(0.9), abs=1e-6)
    assert opt.filter_reg.item() == pytest.approx(0.1, abs=1e-7)
    ref = json.loads(REFERENCE.read_text())["filter_optimizer_init"]
    params = dict(opt.named_parameters())
    for name, val in ref.items():
        if name in params and isinstance(val, dict):
            np.testing.assert_allclose(params[name].sum().item(), val["sum"], rtol=1e-5)
            np.testing.assert_allclose(params[name].flatten()[:5].detach().numpy(), val["first5"], rtol=1e-5, atol=1e-6)
        elif name in params:
            np.testing.assert_allclose(params[name].detach().numpy(), val, rtol=1e-6)


def _inputs(S=288):
    tr = torch.from_numpy(np.random.RandomState(11).standard_normal((2, 1, 3, S, S)).astype(np.float32))
    te = torch.from_numpy(np.random.RandomState(12).standard_normal((1, 1, 3, S, S)).astype(np.float32))
    ref = json.loads(REFERENCE.read_text())["inputs"]
    bb = torch.tensor(ref["train_bb_xywh"], dtype=torch.float32)
    props = torch.tensor(ref["test_proposals_xywh"], dtype=torch.float32)
    return tr, te, bb, props


@needs_ref
def test_dimp50_keyseeded_reproduces_reference_numbers(r50):
    net = apply_keyseeded_weights_(r50, keep=lambda k: k.startswith("classifier.filter_optimizer.")).eval()
    ref = json.loads(REFERENCE.read_text())["keyseeded"]
    tr, te, bb, props = _inputs()
    with torch.no_grad():
        feat = net.extract_backbone_features(tr.reshape(-1, 3, 288, 288))
        np.testing.assert_allclose(feat["layer3"].sum().item(), ref["backbone_layer3_train"]["sum"], rtol=1e-4)
        np.testing.assert_allclose(feat["layer2"].sum().item(), ref["backbone_layer2_train"]["sum"], rtol=1e-4)
        clf = net.extract_classification_feat(feat)
        np.testing.assert_allclose(clf.sum().item(), ref["clf_feat_train"]["sum"], rtol=1e-4)
        w0 = net.classifier.filter_initializer(clf.reshape(2, 1, *clf.shape[-3:]), bb)
        np.testing.assert_allclose(w0.sum().item(), ref["init_filter"]["sum"], rtol=1e-5)
        scores, iou = net(tr, te, bb, props)
    assert len(scores) == 6 and all(s.shape == (1, 1, 19, 19) for s in scores)
    for s, r in zip(scores, ref["train_forward_scores_per_iter"]):
        np.testing.assert_allclose(s.sum().item(), r["sum"], rtol=1e-5, atol=1e-5)
    assert iou.shape == (1, 1, 8)
    np.testing.assert_allclose(iou.flatten().numpy(), np.asarray(ref["train_forward_iou_pred_values"]).flatten(),
                               rtol=0, atol=1e-5)
    with torch.no_grad():
        w, _, losses = net.classifier.get_filter(clf.reshape(2, 1, *clf.shape[-3:]), bb, num_iter=10)
    np.testing.assert_allclose(w.sum().item(), ref["get_filter_10iter_filter"]["sum"], rtol=1e-5)
    np.testing.assert_allclose([l.item() for l in losses], ref["get_filter_10iter_losses"], rtol=1e-5)


def test_factories_registered():
    assert [f.__name__ for f in FACTORIES] == ["dimpnet50", "klcedimpnet50"]
    torch.manual_seed(0)
    net = klcedimpnet50()
    assert net.constructor.fun_name == "klcedimpnet50"


def test_tiny_training_forward_and_tracking_api():
    torch.manual_seed(0)
    net = dimpnet_tiny().eval()
    tr, te = torch.randn(2, 3, 3, 64, 64), torch.randn(1, 3, 3, 64, 64)
    bb = torch.tensor([16.0, 16.0, 24.0, 20.0]).repeat(2, 3, 1)
    props = torch.tensor([14.0, 15.0, 26.0, 22.0]).repeat(1, 3, 5, 1)
    scores, iou = net(tr, te, bb, props)
    assert len(scores) == 3 and scores[0].shape == (1, 3, 5, 5)
    assert iou.shape == (1, 3, 5)
    (sum(s.sum() for s in scores) + iou.sum()).backward()
    assert net.classifier.filter_optimizer.log_step_length.grad is not None
    # tracking API
    with torch.no_grad():
        feat = net.extract_backbone_features(tr[0])
        assert feat["layer2"].shape[-1] == 8 and feat["layer3"].shape[-1] == 4
        x = net.extract_classification_feat(feat)  # [3, 16, 4, 4]
        w, iters, losses = net.classifier.get_filter(x.reshape(1, 3, *x.shape[-3:]), bb[:1], num_iter=4)
        assert len(iters) == 5 and len(losses) == 5
        s = net.classifier.classify(w, x.reshape(1, 3, *x.shape[-3:]))
        assert s.shape == (1, 3, 5, 5)
        bbf = net.get_backbone_bbreg_feat(feat)
        mod = net.bb_regressor.get_modulation(bbf, bb[0])
        iou_feat = net.bb_regressor.get_iou_feat(bbf)
        p = net.bb_regressor.predict_iou(mod, iou_feat, props[0])
        assert p.shape == (3, 5)
