"""Benchmark runs fail loudly and lose nothing (issue 13, items 4, 9, 10, 13, 14).

Path escapes through sequence names, a non-zero exit when any sequence failed, truncated result
files tracked again, one broken groundtruth failing one sequence only, and one-line errors for an
unknown dataset or a device this machine does not have.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from pytracking_slt.evaluation import Sequence, get_dataset, run_dataset, save_tracker_output
from pytracking_slt.evaluation.data import UnreadableSequence
from pytracking_slt.evaluation.results_io import UnsafeSequenceNameError, check_sequence_name
from pytracking_slt.run_tracker import main as run_main

from test_eval_datasets import make_lasot
from test_runner import _tracker


def _cli(tmp_path, *extra):
    return ["shift", "default", "--dataset_name", "lasot", "--dataset_root", str(tmp_path / "lasot"),
            "--results_path", str(tmp_path / "res"), "--tracker_module", "test_runner",
            "--parameter_module", "test_runner", "--no_progress", *extra]


# -- item 4: sequence names never escape their folders ---------------------------------------------
@pytest.mark.parametrize("name", ["../x", "../../x", "a/b", "a\\b", "..", ".", "", "x\0y"])
def test_unsafe_sequence_names_are_refused(name):
    with pytest.raises(UnsafeSequenceNameError, match="refusing sequence name"):
        check_sequence_name(name)
    assert check_sequence_name("GOT-10k_Val_000001") == "GOT-10k_Val_000001"
    assert check_sequence_name("a..b") == "a..b"  # dots inside a name are harmless


def test_result_writer_refuses_a_path_escape(tmp_path):
    results_dir = tmp_path / "res" / "trk" / "param"
    marker = tmp_path / "res" / "PWNED.txt"  # where '../../PWNED' would land
    with pytest.raises(UnsafeSequenceNameError, match=r"\.\./\.\./PWNED"):
        save_tracker_output(str(results_dir), "../../PWNED", {"target_bbox": [[1, 2, 3, 4]], "time": [0.1]})
    assert not marker.exists() and not any((tmp_path / "res").rglob("*.txt"))


def test_planted_split_entry_cannot_read_or_write_outside(tmp_path):
    """testing_set.txt names '../esc-1', a real LaSOT-layout sequence planted next to the dataset root:
    it must neither be read (frames outside the root) nor written (results outside the tracker folder)."""
    make_lasot(str(tmp_path / "lasot"), names=("cat-1",))
    make_lasot(str(tmp_path / "plant"), names=("esc-1",), testing_set=False)
    shutil.move(str(tmp_path / "plant" / "esc" / "esc-1"), str(tmp_path / "esc-1"))
    (tmp_path / "esc").mkdir()  # so that <root>/../esc/../esc-1 resolves on the old code
    (tmp_path / "lasot" / "testing_set.txt").write_text("cat-1\n../esc-1\n")
    seqs = get_dataset("lasot", root=str(tmp_path / "lasot"))
    assert isinstance(seqs[1], UnreadableSequence) and "refusing sequence name '../esc-1'" in seqs[1].error
    trk = _tracker(tmp_path)
    outcomes = run_dataset(seqs, [trk], progress=False)
    assert [o.status for o in outcomes] == ["done", "failed"]
    escaped = os.path.join(os.path.dirname(trk.results_dir), "esc-1.txt")
    assert not os.path.exists(escaped)
    assert sorted(os.listdir(trk.results_dir)) == ["cat-1.txt", "cat-1_time.txt"]


def test_runner_refuses_an_unsafe_name_given_directly(tmp_path):
    make_lasot(str(tmp_path / "lasot"), names=("cat-1",))
    good = get_dataset("lasot", root=str(tmp_path / "lasot"))[0]
    evil = Sequence("../../PWNED", good.frames, "lasot", good.ground_truth_rect)
    trk = _tracker(tmp_path)
    outcomes = run_dataset([evil], [trk], progress=False)
    assert outcomes[0].status == "failed" and "refusing sequence name" in outcomes[0].error
    assert not list(tmp_path.rglob("PWNED*"))


# -- items 9 and 13: a failed sequence makes the exit code non-zero; one bad GT fails one sequence -----
def test_bad_groundtruth_fails_that_sequence_and_the_exit_code(tmp_path, capsys):
    make_lasot(str(tmp_path / "lasot"))
    (tmp_path / "lasot" / "dog" / "dog-2" / "groundtruth.txt").write_text("1,2,3,4\n5,6,seven,8\n")
    rc = run_main(_cli(tmp_path))
    captured = capsys.readouterr()
    assert rc == 1
    assert "2 sequences tracked" in captured.out and "1 failed" in captured.out
    assert "dog-2" in captured.out and "groundtruth.txt" in captured.out
    assert "error: 1 of 3 sequences failed" in captured.err and "Traceback" not in captured.err
    rdir = tmp_path / "res" / "shift" / "default"
    assert (rdir / "cat-1.txt").is_file() and (rdir / "cat-3.txt").is_file() and not (rdir / "dog-2.txt").exists()
    # rerun: the two finished sequences are kept, the broken one still fails -> still non-zero
    assert run_main(_cli(tmp_path)) == 1
    assert "2 already present, 1 failed" in capsys.readouterr().out


def test_every_sequence_failed_is_non_zero(tmp_path, capsys):
    make_lasot(str(tmp_path / "lasot"), names=("cat-1", "cat-3"))
    for name in ("cat-1", "cat-3"):
        os.remove(tmp_path / "lasot" / "cat" / name / "img" / "00000002.jpg")
    assert run_main(_cli(tmp_path)) == 1
    assert "error: 2 of 2 sequences failed" in capsys.readouterr().err


def test_all_done_is_zero(tmp_path):
    make_lasot(str(tmp_path / "lasot"), names=("cat-1",))
    assert run_main(_cli(tmp_path)) == 0
    assert run_main(_cli(tmp_path)) == 0  # already present is success


# -- item 10: a truncated result file is not a finished sequence --------------------------------------
def test_truncated_result_file_is_tracked_again(tmp_path, caplog):
    make_lasot(str(tmp_path / "lasot"))
    seqs = get_dataset("lasot", root=str(tmp_path / "lasot"))
    trk = _tracker(tmp_path)
    run_dataset(seqs, [trk], progress=False)
    box_file = os.path.join(trk.results_dir, "cat-3.txt")
    full = open(box_file).read()
    with open(box_file, "w") as f:  # e.g. a copy interrupted half-way
        f.write("".join(full.splitlines(True)[:2]))
    outcomes = run_dataset(seqs, [trk], progress=False)
    assert {o.sequence: o.status for o in outcomes} == {"cat-1": "exists", "cat-3": "done", "dog-2": "exists"}
    assert "cat-3.txt has 2 rows but sequence cat-3 has 5 frames" in caplog.text
    assert open(box_file).read() == full and len(np.loadtxt(box_file)) == 5


# -- item 14: one-line errors for an unknown dataset and a missing device ------------------------------
def test_unknown_dataset_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SLT_TRACEBACK", raising=False)
    rc = run_main(["transt", "transt_tiny", "--dataset_name", "lasott", "--no_progress"])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: Unknown dataset 'lasott'. Known: ") and "lasot," in err
    assert "Traceback" not in err


@pytest.mark.parametrize("device,expected", [
    ("cuda:7", "'cuda:7': CUDA is not available on this machine; use --device cpu"),
    ("gpu0", "'gpu0' is not a device name (use cpu, cuda or cuda:<index>)"),
])
def test_missing_device_is_one_line_for_both_clis(tmp_path, capsys, monkeypatch, device, expected):
    import torch

    from ltr_slt.run_training import main as train_main
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("SLT_TRACEBACK", raising=False)
    make_lasot(str(tmp_path / "lasot"), names=("cat-1",))
    assert run_main(_cli(tmp_path, "--device", device)) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: --device {expected}"]
    assert not (tmp_path / "res").exists()
    assert train_main(["slt", "transt_slt_tiny", "--workspace", str(tmp_path / "ws"), "--device", device]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: --device {expected}"]


def test_cuda_index_beyond_the_machine_names_the_count(monkeypatch):
    import torch

    from ltr_slt.admin.devices import DeviceError, check_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(DeviceError, match=r"'cuda:7': this machine has 2 CUDA device\(s\) \(cuda:0 .. cuda:1\)"):
        check_device("cuda:7")
    assert check_device("cuda:1") == torch.device("cuda", 1) and check_device(None) is None


def test_trainer_settings_device_is_a_user_error(monkeypatch):
    import torch

    from ltr_slt.admin.cli_errors import is_user_error
    from ltr_slt.admin.devices import DeviceError
    from ltr_slt.trainers.base_trainer import resolve_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    settings = type("S", (), {"device": "cuda:7"})()
    with pytest.raises(DeviceError, match="settings.device 'cuda:7': CUDA is not available") as info:
        resolve_device(settings)
    assert is_user_error(info.value)


# -- item 15: NaN weights are refused for evaluation ----------------------------------------------------
def test_tracker_refuses_a_checkpoint_with_nan_weights(tmp_path):
    import torch

    from ltr_slt.admin.loading import CheckpointError
    from ltr_slt.models.tracking.transt import transt_tiny
    from pytracking_slt.tracker.base.net_wrappers import NetWithBackbone
    net = transt_tiny()
    state = net.state_dict()
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = torch.full_like(state[key], float("nan"))
    path = tmp_path / "diverged.pth.tar"
    torch.save({"net": state, "constructor": net.constructor}, path)
    with pytest.raises(CheckpointError, match=r"diverged\.pth\.tar.*1 tensor\(s\) with NaN/inf"):
        NetWithBackbone(str(path), use_gpu=False, device="cpu").initialize()
