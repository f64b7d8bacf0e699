"""Official-mode switches where we deliberately differ and it changes the loss (issue 13, item 8).

``matcher_clamp=False`` reproduces the official TransT matcher (numpy slicing of the token grid,
which drops or wraps positives for boxes past the crop border); ``short_clip='pad'`` the official
padding of short clips; both are documented in experiments/README.md's official-mode table.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ltr_slt.models.loss import positive_mask
from helpers import official_slice_cells
from test_rollout import make_clips
from test_slt_trainer import make_trainer

README = Path(__file__).resolve().parents[1] / "experiments" / "README.md"


def test_unclamped_matcher_is_the_official_slicing():
    rng = np.random.default_rng(0)
    n = 32
    boxes = np.concatenate([rng.uniform(-0.6, 1.6, (400, 2)), rng.uniform(0.0, 0.7, (400, 2))], 1)
    boxes[::7, 2:] = 0.0  # degenerate boxes too
    mask = positive_mask(torch.tensor(boxes), n, clamp=False)
    differs = 0
    for b, m in zip(boxes.tolist(), mask):
        official = official_slice_cells(b, n)
        assert set(m.nonzero()[:, 0].tolist()) == official, b
        differs += set(positive_mask(torch.tensor([b]), n)[0].nonzero()[:, 0].tolist()) != official
    assert differs > 50  # the border cases really are there, and the default (clamped) mask differs on them


def test_matcher_clamp_switch_reaches_the_actor_loss(tmp_path):
    """A GT box half outside the crop's left border: the official matcher gives it no positive cell."""
    clamped = make_trainer(tmp_path / "a")
    official = make_trainer(tmp_path / "b", matcher_clamp=False)
    assert clamped.actor.matcher_clamp and not official.actor.matcher_clamp
    traj = clamped.explore(make_clips([3, 3], seed=3))
    size = clamped.actor.search_size
    traj.gt_crop[0, 0] = torch.tensor([-0.1 * size, 0.4 * size, 0.3 * size, 0.2 * size])  # xywh in the crop
    n_clamped = clamped.actor.normaliser(traj).num_pos
    n_official = official.actor.normaliser(traj).num_pos
    gt = clamped.actor._gt_targets(traj)[0, 0]
    lost = len(positive_mask(gt[None], clamped.actor.feature_size)[0].nonzero())
    assert lost > 0 and official_slice_cells(gt.double().tolist(), clamped.actor.feature_size) == set()
    assert n_clamped - n_official == lost
    adv = torch.zeros_like(traj.frame_mask, dtype=torch.float32)
    loss_c, stats_c = clamped.actor.learn(traj, adv, clamped.actor.normaliser(traj))
    loss_o, stats_o = official.actor.learn(traj, adv, official.actor.normaliser(traj))
    assert stats_c["Loss/bbox"] != stats_o["Loss/bbox"]


def test_official_mode_table_lists_every_switch():
    text = README.read_text()
    section = text.split("### Official-mode switches", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| `")]
    switches = {re.match(r"\| `([a-z_]+)", r).group(1) for r in rows}
    assert {"matcher_clamp", "short_clip", "grad_clip_units", "slt_reward_invisible"} <= switches
