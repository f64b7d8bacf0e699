"""TrDiMP network: official state-dict layout with the shared self-attention tensor, every recorded
reference stage (seed0 and keyseeded weights), the transformer's definition, labels, tiny variant
and the calls the official TrDiMP tracker makes."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltr_slt.models.dimp.labels import gaussian_label_function
from ltr_slt.models.dimp.reference import compare_stages, reference_stages
from ltr_slt.models.dimp.transformer import RelationUnit, Transformer
from ltr_slt.models.keyseed import apply_keyseeded_weights_
from ltr_slt.models.tracking.dimpnet import TrDiMPnet, transformer_train_label, trdimpnet50, trdimpnet_tiny
from helpers import tiny_dimp_batch

DATA = Path(__file__).parent / "data"
TSV = DATA / "trdimp_state_dict.tsv"
REFERENCE = json.loads((DATA / "trdimp_reference_numbers.json").read_text())
HYPER = json.loads((DATA / "hyperparams.json").read_text())
STAGE_RTOL = 1e-4
SHARED = "classifier.transformer.{}.layers.0.self_attn.head.0.{}.{}"


def _shape_str(t: torch.Tensor) -> str:
    return "x".join(str(s) for s in t.shape) if t.dim() else "scalar"


def _build() -> TrDiMPnet:
    torch.manual_seed(0)  # ltr's module order: seed-0 weights equal the official seed-0 weights
    return trdimpnet50(**HYPER["trdimp"]["constructor_kwargs_train"])


@pytest.fixture(scope="module")
def r50_stages():
    """(net with keyseeded weights, layout, requires_grad, None, keyseeded stages)."""
    net = _build()
    layout = [(k, _shape_str(v)) for k, v in net.state_dict().items()]
    requires_grad = {n: p.requires_grad for n, p in net.named_parameters(remove_duplicate=False)}
    apply_keyseeded_weights_(net, keep=lambda k: k.startswith("classifier.filter_optimizer."))
    return net, layout, requires_grad, None, reference_stages(net, REFERENCE)


def test_trdimp_state_dict_matches_official_tsv(r50_stages):
    net, layout, requires_grad, _, _ = r50_stages
    rows = [l.split("\t") for l in TSV.read_text().splitlines()[1:] if l.strip()]
    assert len(rows) == REFERENCE["tables"]["num_state_dict_keys"] == 419
    assert layout == [(r[0], r[2]) for r in rows]
    # frozen stem/layer1/layer2 (requires_grad column, recorded after .eval())
    assert {r[0]: r[5] == "True" for r in rows if r[1] == "param"} == requires_grad
    assert sum(p.numel() for p in net.parameters()) == REFERENCE["tables"]["num_parameters_unique"]
    state = net.state_dict()
    aliases = [(r[0], r[6]) for r in rows if len(r) > 6 and r[6]]
    assert len(aliases) == 4
    for key, target in aliases:
        assert state[key].data_ptr() == state[target].data_ptr()  # one shared module, as official


def test_trdimp_loads_strict_with_either_alias_winning(r50_stages):
    net = r50_stages[0]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    enc, dec = SHARED.format("encoder", "WK", "weight"), SHARED.format("decoder", "WK", "weight")
    state[dec] = state[dec] + 1.0  # checkpoints hold both aliases; the later one in the dict wins
    before = net.state_dict()[enc].clone()
    net.load_state_dict(state, strict=True)
    torch.testing.assert_close(net.state_dict()[enc], before + 1.0)
    state[dec] = before
    net.load_state_dict(state, strict=True)


def _check_stages(stages, setting: str) -> None:
    recorded = REFERENCE[setting]
    errors = compare_stages(stages, recorded)
    assert set(errors) == set(recorded)
    bad = {k: v for k, v in errors.items() if not v <= STAGE_RTOL}
    assert not bad, f"{setting} stages off the reference (max rel. error): {bad}"


def test_trdimp_keyseeded_reproduces_every_recorded_stage(r50_stages):
    _check_stages(r50_stages[4], "keyseeded")


@pytest.mark.slow
def test_trdimp_seed0_reproduces_every_recorded_stage():
    """The seed-0 initialisation (module creation and init order of ltr) gives the official numbers."""
    _check_stages(reference_stages(_build(), REFERENCE), "seed0")


def test_trdimp_reference_selected_values(r50_stages):
    st = r50_stages[4]
    np.testing.assert_allclose([s.sum().item() for s in st["train_forward_scores_per_iter"]],
                               [140.453, 18.6334, 6.22443, 3.96376, 2.38229, 4.36936], rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(st["train_forward_iou_pred"].flatten().numpy(),
                               [-0.664616, -0.676347, -0.670823, -0.740532, -0.690771, -0.876967, -0.790409,
                                -0.664362], atol=3e-6)
    assert st["transformer_encoder_memory"].shape == (968, 1, 512)
    np.testing.assert_allclose(st["transformer_encoder_memory"].sum().item(), -203.704, rtol=1e-5)
    np.testing.assert_allclose(st["transformer_decoded_test_feat"].sum().item(), -101.346, rtol=1e-5)
    np.testing.assert_allclose(st["train_label_transformer"].sum().item(), 60.8211, rtol=1e-6)


def test_relation_unit_definition_temperature_and_unused_value_projection():
    torch.manual_seed(0)
    unit = RelationUnit(feature_dim=6, key_feature_dim=4).double()
    q, k, v = torch.randn(5, 2, 6).double(), torch.randn(7, 2, 6).double(), torch.randn(7, 2, 3).double()
    out = unit(q, k, v)
    for b in range(2):  # softmax_k(30 * cos(WK q, WK k)) @ v, per sequence
        wq, wk = F.normalize(unit.WK(q[:, b]), dim=-1), F.normalize(unit.WK(k[:, b]), dim=-1)
        torch.testing.assert_close(out[:, b], torch.softmax(30 * wq @ wk.T, dim=-1) @ v[:, b])
    unit.WV.weight.data.normal_()
    torch.testing.assert_close(unit(q, k, v), out)  # WV is never used


def test_instance_norm_after_every_residual_and_per_image_decoding():
    torch.manual_seed(0)
    tf = Transformer(d_model=8, key_feature_dim=4)
    train, test = torch.randn(3, 2, 8, 5, 5), torch.randn(2, 2, 8, 5, 5)
    label = torch.rand(3, 2, 5, 5)
    memory, maps = tf.encoder(train)
    assert memory.shape == (75, 2, 8) and maps.shape == (6, 8, 5, 5)
    scale = math.sqrt(1 / (8 * 16))
    rms = maps.pow(2).mean(dim=(1, 2, 3)).sqrt()
    torch.testing.assert_close(rms, torch.full_like(rms, scale), rtol=1e-4, atol=0)
    encoded, decoded = tf(train, test, label)
    assert encoded.shape == (6, 8, 5, 5) and decoded.shape == (4, 8, 5, 5)
    # the decoder sees one query image at a time: decoding image 1 alone gives the same result
    _, alone = tf.decoder(test[1:2], memory=memory, pos=label)
    torch.testing.assert_close(alone, decoded[2:])
    with pytest.raises(ValueError, match="pos"):
        tf.decoder(test[:1], memory=memory)


def test_gaussian_label_function_formula():
    bb = torch.tensor([[136.0, 146.0, 80.0, 60.0]])  # centre (176, 176) = crop centre of 352
    lab = gaussian_label_function(bb, 0.1, 4, 22, 352, end_pad_if_even=False)
    assert lab.shape == (1, 22, 22)
    g = torch.arange(-10.5, 11.0) - 0.5  # grid -(22-1)/2 .. ; centre 0 + 0.5 (even kernel)
    expected = torch.exp(-g[:, None] ** 2 / (2 * 2.2 ** 2)) * torch.exp(-g[None, :] ** 2 / (2 * 2.2 ** 2))
    torch.testing.assert_close(lab[0], expected)
    padded = gaussian_label_function(bb, 1 / 4 / 6, 4, 22, 352, end_pad_if_even=True)
    assert padded.shape == (1, 23, 23)
    assert divmod(int(padded[0].argmax()), 23) == (11, 11)  # peak at (cy/16, cx/16)
    with pytest.raises(ValueError, match="target_bb"):
        gaussian_label_function(torch.zeros(4), 0.1, 4, 22, 352)


def _tiny_batch(seq: int = 2):
    return tiny_dimp_batch(seed=2, seq=seq, num_test=2, num_proposals=4, box=(16, 18, 24, 20))


def test_tiny_trdimp_training_forward_and_backward():
    torch.manual_seed(0)
    net = trdimpnet_tiny().train()
    assert isinstance(net, TrDiMPnet)
    tr, te, bb, props = _tiny_batch()
    scores, iou = net(tr, te, bb, props)
    assert len(scores) == 3 and all(s.shape == (2, 2, 5, 5) for s in scores) and iou.shape == (2, 2, 4)
    (sum(s.sum() for s in scores) + iou.sum()).backward()
    wk = net.classifier.transformer.encoder.layers[0].self_attn.head[0].WK.weight
    assert wk.grad is not None and wk.grad.abs().sum() > 0
    assert net.feature_extractor.layer1[0].conv1.weight.grad is None  # frozen as TrDiMP's settings
    # an explicit label equal to the default gives the same scores
    label = transformer_train_label(bb, 4, 4, 64)
    net.eval()
    with torch.no_grad():
        a, _ = net(tr, te, bb, props)
        b, _ = net(tr, te, bb, props, train_label=label)
        c, _ = net(tr, te, bb, props, train_label=torch.zeros_like(label))
    torch.testing.assert_close(a[-1], b[-1])
    assert not torch.allclose(a[-1], c[-1])


def test_official_trdimp_tracker_calls():
    """The calls of TransformerTrack's ``trdimp.py`` (init and per frame), with its argument names."""
    torch.manual_seed(0)
    net = trdimpnet_tiny().eval()
    tr, te, bb, _ = _tiny_batch()
    with torch.no_grad():
        x = net.extract_classification_feat(net.extract_backbone_features(tr[:, 0]))  # [2, 16, 4, 4]
        boxes = bb[:, 0]  # [2, 4]
        label = gaussian_label_function(boxes.view(-1, 4), 0.1, net.classifier.filter_size, 4, 64,
                                        end_pad_if_even=False).unsqueeze(1)  # [2, 1, 4, 4]
        memory, _ = net.classifier.transformer.encoder(x.unsqueeze(1), pos=None)
        encoded = torch.cat([net.classifier.transformer.decoder(x[i].unsqueeze(0).unsqueeze(0), memory=memory,
                                                                pos=label, query_pos=None)[1]
                             for i in range(x.shape[0])])
        assert encoded.shape == (2, 16, 4, 4)
        w, _, losses = net.classifier.get_filter(encoded, boxes, num_iter=3, compute_losses=False)
        test_x = net.extract_classification_feat(net.extract_backbone_features(te[:1, 0]))
        decoded, test_dec = net.classifier.transformer.decoder(test_x.unsqueeze(0), memory=memory, pos=label,
                                                               query_pos=None)
        scores = net.classifier.classify(w, test_dec)
        assert decoded.shape == (16, 1, 16) and scores.shape == (1, 1, 5, 5)
        # the same as the training path for one sequence
        tr_scores = net.classifier(net.get_backbone_clf_feat(net.extract_backbone_features(tr[:, 0])),
                                   net.get_backbone_clf_feat(net.extract_backbone_features(te[:1, 0])),
                                   bb[:, :1], num_iter=3, train_label=label)
        torch.testing.assert_close(tr_scores[-1], scores, rtol=1e-4, atol=1e-6)
        assert net.transformer_label(boxes, 4, 64).shape == (2, 1, 4, 4)
