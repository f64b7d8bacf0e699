"""Candidate-scoring policies: one object picks actions in the rollout AND gives log pi to the learner.

SLT's loss is ``-r * log pi(a_t)`` with ``pi`` the same distribution the exploration tracker sampled
``a_t`` from. If the rollout and the learner each rebuilt the transform (as the official code does,
with two copies of ``window_influence`` in two config files) they could silently drift apart; here a
tracker and an actor hold the very same :class:`Policy` instance.

TransT (``slt_algorithm.md`` 5.2, 7.1)::

    s  = sigmoid(l_fg - l_bg)                  # = softmax foreground prob, channel 0 = target
    p  = (1 - w) * s + w * hanning             # classic TransT pscore (w = window_influence)
    z  = log(p' / (1 - p')), p' = eps + (1 - 2 eps) p   # stable inverse sigmoid, |z| <= logit(1-eps)
    pi = softmax(temperature * z)

The inverse sigmoid is strictly increasing, so ``argmax pi == argmax p``: the greedy action is exactly
the classic TransT decision. Everything is float32 (the official code promotes to float64 through its
numpy window; we keep float32 so rollout and learner give bit-identical logits on one device).
"""
from __future__ import annotations

import abc
import math
from typing import Callable, Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ROLLOUT_MODES", "Policy", "WindowedSigmoidPolicy", "TransTPolicy", "MeanMaxPolicy", "WindowedScoreMapPolicy", "hanning_window"]

NetOutput = Dict[str, torch.Tensor]


ROLLOUT_MODES = ("greedy", "sample", "half")


def hanning_window(n: int) -> torch.Tensor:
    """Flattened ``outer(np.hanning(n), np.hanning(n))`` as float32 ``[n*n]`` (zero border, like TransT)."""
    if n < 1:
        raise ValueError(f"hanning_window: size must be >= 1, got {n}")
    h = np.hanning(n)
    return torch.from_numpy(np.outer(h, h).reshape(-1).astype(np.float32))


class Policy(abc.ABC):
    """A stochastic policy over a tracker family's candidates (e.g. TransT's 1024 grid cells).

    Subclasses define :meth:`logits`; the distribution is ``softmax(logits)`` over the last dim.
    Other families (TrDiMP's mean-max normalised score map, SiamRPN's penalised anchors) plug in by
    implementing :meth:`logits` from their own network output.
    """

    @abc.abstractmethod
    def logits(self, out: NetOutput) -> torch.Tensor:
        """Network output -> unnormalised log-probabilities ``[B, A]`` (float32)."""

    def log_prob(self, out: NetOutput, actions: torch.Tensor) -> torch.Tensor:
        """log pi(actions | out) ``[B]``; differentiable w.r.t. the network output."""
        logp = F.log_softmax(self.logits(out), dim=-1)  # [B, A]
        actions = actions.to(device=logp.device, dtype=torch.long)
        if actions.shape != logp.shape[:1]:
            raise ValueError(f"log_prob: actions must have shape [{logp.shape[0]}], got {tuple(actions.shape)}")
        return logp.gather(1, actions[:, None])[:, 0]  # [B]

    def greedy_from_output(self, out: NetOutput) -> torch.Tensor:
        """The family's classic deterministic decision ``[B]`` (= ``greedy(logits(out))``)."""
        return self.greedy(self.logits(out))

    @staticmethod
    def greedy(logits: torch.Tensor) -> torch.Tensor:
        """Most probable candidate ``[B]`` (long)."""
        return logits.argmax(dim=-1)

    @staticmethod
    def sample(logits: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """One candidate per row ``[B]`` (long), drawn from ``softmax(logits)``.

        ``generator`` must live on the logits' device; without one torch's global RNG is used.
        """
        probs = torch.softmax(logits.float(), dim=-1)  # [B, A]
        return torch.multinomial(probs, 1, generator=generator)[:, 0]

    def choose(self, logits: torch.Tensor, greedy: Callable[[slice], torch.Tensor], mode: str,
               generator: Optional[torch.Generator] = None, who: str = "step") -> torch.Tensor:
        """Actions ``[B]`` of one rollout step: ``mode`` 'greedy' (``greedy(rows)`` gives the family's
        deterministic decision for a row slice), 'sample' (from ``softmax(logits)``) or 'half' (the first
        half of the batch greedy, the second half sampled: the self-critical pair in one batch)."""
        if mode == "greedy":
            return greedy(slice(None))
        if mode == "sample":
            return self.sample(logits, generator)
        if mode == "half":
            b = logits.shape[0]
            if b % 2:
                raise ValueError(f"{who}: mode 'half' needs an even batch, got {b}")
            return torch.cat([greedy(slice(0, b // 2)), self.sample(logits[b // 2:], generator)])
        raise ValueError(f"{who}: mode must be one of {ROLLOUT_MODES}, got {mode!r}")

    @staticmethod
    def probs(logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits, dim=-1)

    @staticmethod
    def entropy(logits: torch.Tensor) -> torch.Tensor:
        """Entropy (nats) of ``softmax(logits)`` per row ``[B]`` (logged to watch exploration)."""
        logp = F.log_softmax(logits, dim=-1)
        return -(logp.exp() * logp).sum(dim=-1)


class WindowedSigmoidPolicy(Policy):
    """TransT's policy transform on window-blended scores ``p`` in [0, 1] (:meth:`blended`, per family):
    stable inverse sigmoid ``isig_eps(p)`` -> ``softmax(temperature * z)``; greedy = ``argmax p``."""

    def __init__(self, window_influence: float = 0.49, temperature: float = 4.0, sig_eps: float = 0.01) -> None:
        name = type(self).__name__
        if not 0.0 <= window_influence <= 1.0:
            raise ValueError(f"{name}: window_influence must be in [0, 1], got {window_influence}")
        if not temperature > 0:
            raise ValueError(f"{name}: temperature must be > 0, got {temperature}")
        if not 0.0 < sig_eps < 0.5:
            raise ValueError(f"{name}: sig_eps must be in (0, 0.5), got {sig_eps}")
        self.window_influence = float(window_influence)
        self.temperature = float(temperature)
        self.sig_eps = float(sig_eps)

    @property
    def max_abs_logit(self) -> float:
        """Bound on ``|logits|``: ``temperature * logit(1 - sig_eps)``."""
        return self.temperature * math.log((1.0 - self.sig_eps) / self.sig_eps)

    @abc.abstractmethod
    def blended(self, out: NetOutput) -> torch.Tensor:
        """Window-blended scores ``[B, A]`` in [0, 1]."""

    def greedy_from_output(self, out: NetOutput) -> torch.Tensor:
        """``argmax(p)``, taken before the monotone inverse sigmoid so float rounding can never merge two
        nearly equal scores into a tie."""
        return self.blended(out).argmax(dim=-1)

    def logits(self, out: NetOutput) -> torch.Tensor:
        """``temperature * isig_eps(p)`` ``[B, A]``, bounded by :attr:`max_abs_logit`."""
        eps = self.sig_eps
        p = eps + (1.0 - 2.0 * eps) * self.blended(out)  # in [eps, 1 - eps]
        return self.temperature * (torch.log(p) - torch.log1p(-p))


class TransTPolicy(WindowedSigmoidPolicy):
    """TransT's SLT policy: window-blended foreground score -> stable inverse sigmoid -> softmax(T z)."""

    def __init__(self, window_influence: float = 0.49, temperature: float = 4.0, sig_eps: float = 0.01,
                 feature_size: int = 32) -> None:
        super().__init__(window_influence, temperature, sig_eps)
        self.feature_size = int(feature_size)
        self._window_cpu = hanning_window(self.feature_size)  # [A]
        self._window_cache: Dict[torch.device, torch.Tensor] = {}

    def __repr__(self) -> str:
        return (f"TransTPolicy(window_influence={self.window_influence}, temperature={self.temperature}, "
                f"sig_eps={self.sig_eps}, feature_size={self.feature_size})")

    @property
    def num_actions(self) -> int:
        return self.feature_size * self.feature_size

    def window(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The float32 Hanning window ``[A]`` on ``device`` (cached per device)."""
        device = torch.device(device)
        win = self._window_cache.get(device)
        if win is None:
            win = self._window_cpu.to(device)
            self._window_cache[device] = win
        return win

    def _pred_logits(self, out: NetOutput) -> torch.Tensor:
        logits = out["pred_logits"] if isinstance(out, dict) else out
        if logits.dim() != 3 or logits.shape[-1] != 2 or logits.shape[1] != self.num_actions:
            raise ValueError(f"TransTPolicy(feature_size={self.feature_size}) expects pred_logits "
                             f"[B, {self.num_actions}, 2], got {tuple(logits.shape)}")
        return logits.float()

    def scores(self, out: NetOutput) -> torch.Tensor:
        """Foreground probability ``sigmoid(l_fg - l_bg)`` ``[B, A]`` (= softmax channel 0)."""
        logits = self._pred_logits(out)  # [B, A, 2]
        return torch.sigmoid(logits[..., 0] - logits[..., 1])

    def blended(self, out: NetOutput) -> torch.Tensor:
        """Classic TransT ``pscore = (1 - w) * score + w * window`` ``[B, A]``."""
        s = self.scores(out)
        w = self.window_influence
        return (1.0 - w) * s + w * self.window(s.device)


class MeanMaxPolicy(Policy):
    """SLT-TrDiMP's policy over a score map (``slt_algorithm.md`` 5.5, 9), generic over map sizes.

    ``z = (s - mean) / (max - mean) * (hi - lo) + lo`` per map (the maximum goes to ``hi``, the mean
    to ``lo``; official range (-7, 7)), then ``pi = softmax(z)`` over all H*W cells. The transform is
    affine and increasing in ``s``, so ``argmax pi == argmax s``: the greedy action is the classic
    score-map maximum. A constant map (max == mean) gives ``z = lo`` everywhere (uniform ``pi``)
    instead of the official 0/0.

    Actions are flat cell indices ``row * W + col``; :meth:`displacement` maps them to the offset from
    the map centre ``(size - 1) / 2`` in cells (row, col), which a tracker scales to pixels.
    """

    def __init__(self, norm_range: tuple = (-7.0, 7.0)) -> None:
        lo, hi = (float(v) for v in norm_range)
        if not hi > lo:
            raise ValueError(f"MeanMaxPolicy: norm_range must be (lo, hi) with hi > lo, got {norm_range}")
        self.norm_range = (lo, hi)

    def __repr__(self) -> str:
        return f"MeanMaxPolicy(norm_range={self.norm_range})"

    @staticmethod
    def score_map(out: NetOutput) -> torch.Tensor:
        """``out['scores']`` (or a tensor) ``[B, H, W]`` / ``[B, 1, H, W]`` -> float32 ``[B, H, W]``."""
        s = out["scores"] if isinstance(out, dict) else out
        if s.dim() == 4 and s.shape[1] == 1:
            s = s[:, 0]
        if s.dim() != 3:
            raise ValueError(f"MeanMaxPolicy expects score maps [B, H, W] or [B, 1, H, W], got {tuple(s.shape)}")
        return s.float()

    def logits(self, out: NetOutput) -> torch.Tensor:
        """Mean-max normalised scores ``[B, H*W]`` in ``[lo, hi]``."""
        s = self.score_map(out).flatten(1)  # [B, A]
        lo, hi = self.norm_range
        mean = s.mean(dim=1, keepdim=True)
        span = s.max(dim=1, keepdim=True)[0] - mean
        z = (s - mean) / torch.where(span > 0, span, torch.ones_like(span))
        return z * (hi - lo) + lo

    def greedy_from_output(self, out: NetOutput) -> torch.Tensor:
        """``argmax`` of the raw score map (the official DiMP decision), flat index ``[B]``."""
        return self.score_map(out).flatten(1).argmax(dim=-1)

    @staticmethod
    def cells(actions: torch.Tensor, map_size: tuple) -> torch.Tensor:
        """Flat actions ``[B]`` -> (row, col) ``[B, 2]`` long."""
        w = int(map_size[1])
        return torch.stack([torch.div(actions, w, rounding_mode="floor"), actions % w], dim=1)

    @staticmethod
    def displacement(actions: torch.Tensor, map_size: tuple) -> torch.Tensor:
        """Flat actions ``[B]`` -> offset from the map centre ``[B, 2]`` (rows, cols) in cells, float32."""
        centre = torch.tensor([(int(map_size[0]) - 1) / 2.0, (int(map_size[1]) - 1) / 2.0],
                              dtype=torch.float32, device=actions.device)
        return MeanMaxPolicy.cells(actions, map_size).float() - centre


class WindowedScoreMapPolicy(WindowedSigmoidPolicy):
    """TransT's policy transform on a generic score map (an option for DiMP-family trackers).

    ``p = (1 - w) * clamp(s, 0, 1) + w * hanning`` (2-D Hann window of the map size), then the stable
    inverse sigmoid and ``softmax(temperature * z)`` exactly as :class:`TransTPolicy`. The greedy action
    is ``argmax p``: the window changes the tracker's own decision, unlike :class:`MeanMaxPolicy`.
    """

    def __repr__(self) -> str:
        return (f"WindowedScoreMapPolicy(window_influence={self.window_influence}, temperature={self.temperature}, "
                f"sig_eps={self.sig_eps})")

    def blended(self, out: NetOutput) -> torch.Tensor:
        s = MeanMaxPolicy.score_map(out)  # [B, H, W]
        h, w = s.shape[-2:]
        win = torch.from_numpy(np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)).to(s.device)
        wi = self.window_influence
        return ((1.0 - wi) * s.clamp(0.0, 1.0) + wi * win).flatten(1)  # [B, H*W]
