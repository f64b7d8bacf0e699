"""Divergence (a huge learning rate, NaN weights) stops SLT training cleanly, in one line (issue 13, item 11)."""
from __future__ import annotations

import logging

import pytest
import torch

from ltr_slt.trainers.base_trainer import NonFiniteLossError
from test_rollout import make_clips
from test_slt_trainer import ListLoader, make_trainer


def test_huge_learning_rate_is_skipped_then_aborted_in_one_line(tmp_path, caplog):
    """lr=1e8: after one step the network's outputs overflow and the policy's probabilities are NaN.
    The old code crashed inside torch.multinomial; now the batch is skipped (one warning line each)
    and training stops after ``max_consecutive_nonfinite`` with one error line."""
    trainer = make_trainer(tmp_path, lr=1e8, max_consecutive_nonfinite=3)
    trainer.loaders = [ListLoader([make_clips([3, 3], seed=s) for s in range(6)])]
    with caplog.at_level(logging.WARNING, logger="ltr_slt.trainers"):
        with pytest.raises(NonFiniteLossError) as info:
            trainer.train(1)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("training diverged at epoch 1: 3 consecutive iterations")
    assert "policy's probabilities are NaN/inf" in msg and "Lower the learning rate" in msg
    skips = [r.getMessage() for r in caplog.records if "optimizer step skipped" in r.getMessage()]
    assert len(skips) == 3 and all("\n" not in s for s in skips)
    assert "Traceback" not in caplog.text and "Training crashed" not in caplog.text
    assert trainer.skipped_steps == 3


def test_nan_weights_abort_at_once_naming_the_tensor(tmp_path):
    trainer = make_trainer(tmp_path)
    with torch.no_grad():
        trainer.net.class_embed.layers[0].weight.fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match=r"weight tensor\(s\) are NaN/inf \(first: class_embed"):
        trainer.train_step(make_clips([3, 3], seed=1))
    assert trainer.skipped_steps == 0


def test_cli_prints_divergence_as_one_error_line(monkeypatch, capsys):
    from ltr_slt.admin.cli_errors import run_cli

    def body():
        raise NonFiniteLossError("training diverged at epoch 3: ...")

    monkeypatch.delenv("SLT_TRACEBACK", raising=False)
    assert run_cli(body) == 1
    assert capsys.readouterr().err.startswith("error: training diverged at epoch 3")
