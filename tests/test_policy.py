"""The SLT policy object shared by rollout and learner (ltr_slt.slt.policy)."""
import math

import numpy as np
import pytest
import torch

from ltr_slt.slt.policy import Policy, TransTPolicy, hanning_window


def _out(batch=4, n=32, seed=0, scale=3.0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return {"pred_logits": (torch.randn(batch, n * n, 2, generator=g) * scale).to(dtype),
            "pred_boxes": torch.rand(batch, n * n, 4, generator=g)}


def _classic_decision(out, window_influence=0.49):
    """Official TransT tracker: numpy float64 softmax fg prob blended with outer(hanning, hanning)."""
    logits = out["pred_logits"].double().numpy()
    e = np.exp(logits - logits.max(-1, keepdims=True))
    score = (e / e.sum(-1, keepdims=True))[..., 0]
    h = np.hanning(32)
    window = np.outer(h, h).flatten()
    pscore = score * (1 - window_influence) + window * window_influence
    return pscore.argmax(-1)


def test_window_is_float32_outer_hanning():
    w = hanning_window(32)
    assert w.dtype == torch.float32 and w.shape == (1024,)
    assert np.allclose(w.numpy(), np.outer(np.hanning(32), np.hanning(32)).ravel(), atol=1e-7)
    assert w[0] == 0  # zero border


def test_greedy_equals_classic_transt_decision():
    pol = TransTPolicy()
    for seed in range(5):
        out = _out(batch=8, seed=seed)
        classic = _classic_decision(out)
        logits = pol.logits(out)
        assert np.array_equal(pol.greedy(logits).numpy(), classic)
        assert np.array_equal(pol.greedy_from_output(out).numpy(), classic)
    # the window matters: a flat score map picks the centre region
    flat = {"pred_logits": torch.zeros(1, 1024, 2)}
    r, c = divmod(int(pol.greedy(pol.logits(flat))[0]), 32)
    assert 15 <= r <= 16 and 15 <= c <= 16


def test_scores_and_blend_definitions():
    pol = TransTPolicy(window_influence=0.3)
    out = _out(batch=2)
    s = pol.scores(out)
    assert torch.allclose(s, torch.softmax(out["pred_logits"], -1)[..., 0], atol=1e-6)
    assert torch.allclose(pol.blended(out), 0.7 * s + 0.3 * hanning_window(32), atol=1e-7)


def test_probabilities_sum_to_one_and_float32():
    pol = TransTPolicy()
    for dtype in (torch.float32, torch.float64):
        logits = pol.logits(_out(dtype=dtype))
        assert logits.dtype == torch.float32 and logits.shape == (4, 1024)
        p = Policy.probs(logits)
        assert torch.allclose(p.sum(-1), torch.ones(4), atol=1e-5)
        assert pol.log_prob(_out(dtype=dtype), torch.zeros(4, dtype=torch.long)).dtype == torch.float32


def test_eps_bounds_logits():
    for eps, temp in [(0.01, 4.0), (0.1, 2.0)]:
        pol = TransTPolicy(window_influence=0.0, temperature=temp, sig_eps=eps)
        bound = temp * math.log((1 - eps) / eps)
        assert pol.max_abs_logit == pytest.approx(bound)
        out = {"pred_logits": torch.tensor([[[60.0, -60.0], [-60.0, 60.0], [0.0, 0.0]] + [[0.0, 0.0]] * 1021])}
        logits = pol.logits(out)
        assert torch.isfinite(logits).all()
        assert logits.abs().max() <= bound * (1 + 1e-5)
        assert logits[0, 0].item() == pytest.approx(bound, rel=1e-4)   # score 1 -> +T logit(1-eps)
        assert logits[0, 1].item() == pytest.approx(-bound, rel=1e-4)  # score 0 -> -T logit(1-eps)
        assert logits[0, 2].item() == pytest.approx(0.0, abs=1e-5)     # score 0.5 -> 0
    # a smaller eps allows more extreme logits (more peaked policies)
    out = _out()
    assert TransTPolicy(sig_eps=0.001).logits(out).abs().max() > TransTPolicy(sig_eps=0.1).logits(out).abs().max()


def test_higher_temperature_lowers_entropy():
    out = _out(batch=3)
    ent = [TransTPolicy(temperature=t).entropy(TransTPolicy(temperature=t).logits(out)) for t in (0.5, 1.0, 4.0, 16.0)]
    for a, b in zip(ent, ent[1:]):
        assert (b < a).all()
    assert (ent[0] <= math.log(1024) + 1e-4).all()


def test_log_prob_matches_sample_frequencies():
    pol = TransTPolicy(feature_size=3, temperature=1.5)  # 9 actions: frequencies are measurable
    out = {"pred_logits": torch.tensor([[[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, -1.0], [0.0, 0.0],
                                         [-2.0, 0.0], [0.5, 0.0], [0.0, 0.5], [1.0, -1.0]]])}
    logits = pol.logits(out)
    n = 40000
    g = torch.Generator().manual_seed(0)
    samples = pol.sample(logits.expand(n, 9), generator=g)
    freq = torch.bincount(samples, minlength=9).double() / n
    probs = torch.stack([pol.log_prob(out, torch.tensor([a])).exp()[0] for a in range(9)]).double()
    assert torch.allclose(probs.sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(freq, probs, atol=0.01)
    # same generator seed -> same samples
    again = pol.sample(logits.expand(n, 9), generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples, again)


def test_log_prob_is_differentiable_and_checks_shapes():
    pol = TransTPolicy()
    out = _out(batch=2)
    out["pred_logits"].requires_grad_(True)
    lp = pol.log_prob(out, torch.tensor([5, 700]))
    assert lp.shape == (2,)
    lp.sum().backward()
    assert out["pred_logits"].grad.abs().sum() > 0
    assert torch.allclose(lp, torch.log_softmax(pol.logits(out), -1)[[0, 1], [5, 700]])
    with pytest.raises(ValueError, match="actions"):
        pol.log_prob(out, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="pred_logits"):
        pol.logits({"pred_logits": torch.zeros(1, 100, 2)})
    for bad in (dict(window_influence=1.5), dict(temperature=0.0), dict(sig_eps=0.0), dict(sig_eps=0.5)):
        with pytest.raises(ValueError):
            TransTPolicy(**bad)
