"""REINFORCE with the self-critical (greedy) baseline is an unbiased estimate of grad E[r].

Toy problem: the "network output" is a leaf tensor of TransT-style logits over a 3x3 grid (9
actions), rewards are a fixed function of the action. The gradient estimator is built with the
real code path: ``TransTPolicy.sample`` / ``log_prob`` and ``reward.self_critical_loss``.
"""
from __future__ import annotations

import torch

from ltr_slt.slt.policy import TransTPolicy
from ltr_slt.slt.reward import self_critical_loss


def _setup():
    g = torch.Generator().manual_seed(0)
    policy = TransTPolicy(window_influence=0.3, temperature=1.5, sig_eps=0.01, feature_size=3)
    theta = torch.randn(1, 9, 2, generator=g).mul_(2.0).requires_grad_(True)  # [1, A, 2] pred_logits
    reward = torch.rand(9, generator=g)  # r(a), e.g. the AO a trajectory would reach
    return policy, theta, reward


def _exact_gradient(policy, theta, reward):
    """grad_theta of J = sum_a pi(a) r(a), by autograd on the enumerated expectation."""
    pi = torch.softmax(policy.logits({"pred_logits": theta}), -1)[0]
    (grad,) = torch.autograd.grad((pi * reward).sum(), theta)
    return grad


def _estimator_gradient(policy, theta, actions, weights, reward):
    """-grad of sum_k w_k * self_critical_loss term for actions a_k (normaliser 1)."""
    out = {"pred_logits": theta.expand(len(actions), -1, -1)}
    greedy = policy.greedy(policy.logits({"pred_logits": theta.detach()}))[0]
    adv = (reward[actions] - reward[greedy]) * weights  # self-critical advantage, weighted
    loss = self_critical_loss(policy.log_prob(out, actions), adv, normaliser=1.0)
    (grad,) = torch.autograd.grad(loss, theta)
    return -grad


def test_self_critical_estimator_expectation_is_exact_gradient():
    policy, theta, reward = _setup()
    exact = _exact_gradient(policy, theta, reward)
    # Enumerate the estimator's expectation: sum_a pi(a) * estimator(a).
    pi = torch.softmax(policy.logits({"pred_logits": theta.detach()}), -1)[0]
    expected = _estimator_gradient(policy, theta, torch.arange(9), pi, reward)
    assert exact.abs().max() > 1e-3  # a non-trivial gradient
    torch.testing.assert_close(expected, exact, rtol=1e-5, atol=1e-6)


def test_self_critical_monte_carlo_converges_to_exact_gradient():
    policy, theta, reward = _setup()
    exact = _exact_gradient(policy, theta, reward)
    k = 40000
    gen = torch.Generator().manual_seed(1)
    logits = policy.logits({"pred_logits": theta.detach()}).expand(k, -1)
    actions = policy.sample(logits, generator=gen)  # [K] from the real sampler
    # Per-sample estimates, for the Monte-Carlo standard error.
    per_sample = torch.stack([_estimator_gradient(policy, theta, torch.tensor([a]), torch.ones(1), reward)
                              for a in range(9)])  # [A, 1, 9, 2]: estimator for each action
    est = per_sample[actions]  # [K, 1, 9, 2]
    mc = est.mean(0)
    se = est.std(0) / k ** 0.5
    assert ((mc - exact).abs() <= 5 * se + 1e-6).all(), (mc - exact).abs().max()
    # The batched real path gives the same Monte-Carlo average as the per-action table.
    batched = _estimator_gradient(policy, theta, actions, torch.full((k,), 1.0 / k), reward)
    torch.testing.assert_close(batched, mc, rtol=1e-4, atol=1e-6)
    # And sampling frequencies follow pi (sanity of the sampler feeding the estimator).
    freq = torch.bincount(actions, minlength=9).float() / k
    pi = torch.softmax(logits[0], -1)
    assert (freq - pi).abs().max() < 0.02
