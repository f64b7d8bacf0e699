"""Runner: result files, resume after a killed run, --threads 2, bad sequences, timing, visdom message,
and an end-to-end synthetic benchmark with the real TransT tracker (tiny net) -> table + PNG.

This module doubles as a tracker/parameter module for the runner (``--tracker_module test_runner``):
``get_tracker_class()`` / ``parameters()`` below define a tracker that shifts its init box by
``params.shift`` px per frame.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pytracking_slt.evaluation import Tracker, get_dataset, read_results, run_dataset
from pytracking_slt.evaluation.running import RunFailed
from pytracking_slt.run_tracker import main as run_main

from test_eval_datasets import make_lasot

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)


# ------------------------------------------------------------------------------------------------ test tracker
class _Params:
    def __init__(self):
        self.shift = 2.0
        self.sleep = 0.0
        self.raise_at_frame = None


def parameters():
    return _Params()


class ShiftTracker:
    """Moves the init box by ``shift`` px per frame; checks it gets one RGB frame per call."""

    def __init__(self, params):
        self.params = params
        self.calls = 0

    def _check(self, image):
        assert isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8

    def initialize(self, image, info):
        self._check(image)
        self.box = np.array(info["init_bbox"], float)

    def track(self, image, info=None):
        self._check(image)
        assert "previous_output" in info
        self.calls += 1
        kill_after = int(os.environ.get("SLT_TEST_KILL_AFTER", "0"))
        _counter["n"] += 1
        if kill_after and _counter["n"] >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)                  # simulate a killed run mid-sequence
        if self.params.raise_at_frame == self.calls:
            raise RuntimeError("tracker exploded")
        if self.params.sleep:
            time.sleep(self.params.sleep)
        self.box = self.box + [self.params.shift, 0, 0, 0]
        return {"target_bbox": self.box.tolist()}


_counter = {"n": 0}


def get_tracker_class():
    return ShiftTracker


def _tracker(tmp_path, **kw):
    return Tracker("shift", "default", results_path=str(tmp_path / "results"), tracker_module="test_runner",
                   parameter_module="test_runner", **kw)


# ------------------------------------------------------------------------------------------------ tests
def test_run_writes_pytracking_files_and_skips_existing(tmp_path):
    make_lasot(str(tmp_path / "lasot"))
    seqs = get_dataset("lasot", root=str(tmp_path / "lasot"))
    trk = _tracker(tmp_path)
    outcomes = run_dataset(seqs, [trk], progress=False)
    assert [o.status for o in outcomes] == ["done"] * 3
    res = read_results(trk.results_dir, "cat-1")
    expected = seqs["cat-1"].ground_truth_rect[0] + np.outer(np.arange(5), [2, 0, 0, 0])
    np.testing.assert_array_equal(res["target_bbox"], expected.astype(int))
    assert res["time"].shape == (5,)
    mtime = os.stat(os.path.join(trk.results_dir, "cat-1.txt")).st_mtime_ns
    again = run_dataset(seqs, [trk], progress=False)
    assert [o.status for o in again] == ["exists"] * 3
    assert os.stat(os.path.join(trk.results_dir, "cat-1.txt")).st_mtime_ns == mtime


def test_time_is_measured_around_track_only(tmp_path, monkeypatch):
    import pytracking_slt.evaluation.tracker as tracker_mod
    make_lasot(str(tmp_path / "lasot"), names=("cat-1",), n=3)
    real_read = tracker_mod.read_image_rgb

    def slow_read(path):
        time.sleep(0.3)
        return real_read(path)

    monkeypatch.setattr(tracker_mod, "read_image_rgb", slow_read)
    trk = _tracker(tmp_path, param_overrides={"sleep": 0.02})
    run_dataset(get_dataset("lasot", root=str(tmp_path / "lasot")), [trk], progress=False)
    times = read_results(trk.results_dir, "cat-1")["time"]
    assert (times[1:] >= 0.019).all() and (times[1:] < 0.25).all()       # sleep in track counted, reading not


def test_bad_sequences_skip_or_fail(tmp_path, caplog):
    make_lasot(str(tmp_path / "lasot"))
    os.remove(str(tmp_path / "lasot" / "cat" / "cat-3" / "img" / "00000004.jpg"))
    seqs = get_dataset("lasot", root=str(tmp_path / "lasot"))
    trk = _tracker(tmp_path)
    with caplog.at_level(logging.ERROR):
        outcomes = run_dataset(seqs, [trk], on_error="skip", progress=False)
    assert {o.sequence: o.status for o in outcomes} == {"cat-1": "done", "cat-3": "failed", "dog-2": "done"}
    assert "cat-3" in caplog.text and "frames missing" in caplog.text
    assert not os.path.exists(os.path.join(trk.results_dir, "cat-3.txt"))
    with pytest.raises(RunFailed, match="cat-3"):
        run_dataset(seqs, [_tracker(tmp_path / "other")], on_error="fail", progress=False)
    exploding = _tracker(tmp_path / "boom", param_overrides={"raise_at_frame": 2})
    outcomes = run_dataset(seqs[[0]], [exploding], progress=False)
    assert outcomes[0].status == "failed" and "tracker exploded" in outcomes[0].error


def test_debug_writes_nothing_and_raises(tmp_path):
    make_lasot(str(tmp_path / "lasot"), names=("cat-1",))
    seqs = get_dataset("lasot", root=str(tmp_path / "lasot"))
    trk = _tracker(tmp_path)
    run_dataset(seqs, [trk], debug=1, progress=False)
    assert not os.path.exists(os.path.join(trk.results_dir, "cat-1.txt"))
    with pytest.raises(RuntimeError, match="exploded"):
        run_dataset(seqs, [_tracker(tmp_path, param_overrides={"raise_at_frame": 1})], debug=1, progress=False)


def test_visdom_requested_without_server_continues_with_message(tmp_path, caplog):
    make_lasot(str(tmp_path / "lasot"), names=("cat-1",))
    with caplog.at_level(logging.WARNING):
        rc = run_main(["shift", "default", "--dataset_name", "lasot", "--dataset_root", str(tmp_path / "lasot"),
                       "--results_path", str(tmp_path / "res"), "--tracker_module", "test_runner",
                       "--parameter_module", "test_runner", "--use_visdom", "--visdom_port", "1", "--no_progress"])
    assert rc == 0 and os.path.isfile(tmp_path / "res" / "shift" / "default" / "cat-1.txt")
    assert "--use_visdom" in caplog.text and ("not installed" in caplog.text or "no visdom server" in caplog.text)


def test_cli_sequence_selection_and_runid(tmp_path, capsys):
    make_lasot(str(tmp_path / "lasot"))
    common = ["--dataset_name", "lasot", "--dataset_root", str(tmp_path / "lasot"), "--results_path",
              str(tmp_path / "res"), "--tracker_module", "test_runner", "--parameter_module", "test_runner",
              "--no_progress"]
    assert run_main(["shift", "default", "--sequence", "dog-2", "--runid", "7"] + common) == 0
    assert sorted(os.listdir(tmp_path / "res" / "shift" / "default_007")) == ["dog-2.txt", "dog-2_time.txt"]
    assert run_main(["shift", "default", "--sequence", "0"] + common) == 0
    assert sorted(os.listdir(tmp_path / "res" / "shift" / "default")) == ["cat-1.txt", "cat-1_time.txt"]
    assert "1 sequences tracked" in capsys.readouterr().out


def _subprocess_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([TESTS_DIR, REPO_DIR, env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def test_resume_after_killed_run(tmp_path):
    make_lasot(str(tmp_path / "lasot"))                                    # 3 sequences x 5 frames (4 tracks)
    cmd = [sys.executable, "-m", "pytracking_slt.run_tracker", "shift", "default", "--dataset_name", "lasot",
           "--dataset_root", str(tmp_path / "lasot"), "--results_path", str(tmp_path / "res"),
           "--tracker_module", "test_runner", "--parameter_module", "test_runner", "--no_progress"]
    killed = subprocess.run(cmd, env=_subprocess_env(SLT_TEST_KILL_AFTER="10"), capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    rdir = tmp_path / "res" / "shift" / "default"
    assert sorted(os.listdir(rdir)) == ["cat-1.txt", "cat-1_time.txt", "cat-3.txt", "cat-3_time.txt"]
    before = {f: os.stat(rdir / f).st_mtime_ns for f in os.listdir(rdir)}
    done = subprocess.run(cmd, env=_subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 sequences tracked" in done.stdout and "2 already present" in done.stdout
    assert all(os.stat(rdir / f).st_mtime_ns == t for f, t in before.items())
    assert len(np.loadtxt(rdir / "dog-2.txt")) == 5


@pytest.mark.slow
def test_end_to_end_transt_tiny_threads2_table_and_png(tmp_path, monkeypatch, capsys):
    """Synthetic benchmark (H2 generator) -> real TransT tracker (tiny net, 2 workers) -> table + PNG."""
    torch = pytest.importorskip("torch")
    synthetic = pytest.importorskip("ltr_slt.dataset.synthetic")
    transt = pytest.importorskip("ltr_slt.models.tracking.transt")
    pytest.importorskip("pytracking_slt.parameter.slt_transt.slt_transt_tiny")
    pytest.importorskip("matplotlib")
    cfg = synthetic.SyntheticConfig(num_frames=6, width=96, height=72, use_photos=False)
    synthetic.generate_dataset(str(tmp_path / "syn"), layout="lasot", num_seq=3, seed=3, config=cfg, split="test")
    torch.manual_seed(0)
    net = transt.transt_tiny()
    ckpt = tmp_path / "tiny.pth.tar"
    torch.save({"net": net.state_dict(), "constructor": net.constructor, "net_type": "TransT"}, ckpt)
    monkeypatch.setenv("SLT_TINY_NET", str(ckpt))
    monkeypatch.setenv("SLT_DEVICE", "cpu")
    res = str(tmp_path / "res")
    common = ["--dataset_name", "synthetic", "--dataset_root", str(tmp_path / "syn"), "--results_path", res,
              "--no_progress", "--device", "cpu"]
    assert run_main(["slt_transt", "slt_transt_tiny", "--threads", "2", "--on_error", "fail"] + common) == 0
    seqs = get_dataset("synthetic", root=str(tmp_path / "syn"))
    rdir = os.path.join(res, "slt_transt", "slt_transt_tiny")
    for s in seqs:
        boxes = np.loadtxt(os.path.join(rdir, s.name + ".txt"), delimiter="\t")
        assert boxes.shape == (len(s.frames), 4)
        np.testing.assert_array_equal(boxes[0], s.ground_truth_rect[0].astype(int))
    from pytracking_slt.analysis.__main__ import main as analysis_main
    plots = tmp_path / "plots"
    assert analysis_main(["slt_transt:slt_transt_tiny", "--dataset_name", "synthetic", "--dataset_root",
                          str(tmp_path / "syn"), "--results_path", res, "--plot", str(plots), "--no_cache"]) == 0
    out = capsys.readouterr().out
    assert "Convention: pytracking" in out and "slt_transt_slt_transt_tiny" in out and "AUC" in out
    with open(plots / "success_plot.png", "rb") as f:
        assert f.read(4) == b"\x89PNG"
