"""Server packing: GOT-10k (3 runs, folder per sequence) and TrackingNet (%.2f), completeness check."""
from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from pytracking_slt.analysis import IncompleteResultsError, pack_got10k, pack_trackingnet
from pytracking_slt.analysis.__main__ import main as analysis_main
from pytracking_slt.evaluation import results_dir_for, save_tracker_output

NAMES = ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]


def _write(results, run_id, seq, n=3, offset=0.0):
    boxes = np.array([[1 + offset + i, 2, 10, 12] for i in range(n)], float)
    save_tracker_output(results_dir_for(str(results), "trk", "par", run_id), seq,
                        {"target_bbox": boxes, "time": [0.5 + run_id] + [0.01] * (n - 1)})


def test_got10k_pack_three_runs(tmp_path):
    for run in range(3):
        for seq in NAMES:
            _write(tmp_path / "res", run, seq, offset=run)
    zip_path = pack_got10k("trk", "par", str(tmp_path / "packed"), results_path=str(tmp_path / "res"),
                           sequences=NAMES, frame_counts={n: 3 for n in NAMES})
    assert zip_path == str(tmp_path / "packed" / "trk_par.zip")
    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(f"{s}/{s}_{k}.txt" for s in NAMES for k in ("001", "002", "003", "time"))
        run2 = zf.read(f"{NAMES[0]}/{NAMES[0]}_003.txt").decode()
        assert run2.splitlines()[0] == "3.000000,2.000000,10.000000,12.000000"   # run id 2 -> _003, comma %f
        assert zf.read(f"{NAMES[0]}/{NAMES[0]}_time.txt").decode().splitlines()[0] == "2.500000"  # last run
    assert os.listdir(tmp_path / "packed") == ["trk_par.zip"]                     # no leftover folders


def test_got10k_pack_refuses_incomplete_runs(tmp_path):
    for run in (0, 1):
        for seq in NAMES:
            _write(tmp_path / "res", run, seq)
    _write(tmp_path / "res", 2, NAMES[0], n=2)
    with pytest.raises(IncompleteResultsError) as err:
        pack_got10k("trk", "par", str(tmp_path / "packed"), results_path=str(tmp_path / "res"), sequences=NAMES,
                    frame_counts={n: 3 for n in NAMES})
    text = str(err.value)
    assert "par_002" in text and NAMES[1] in text and "2 rows, sequence has 3 frames" in text
    assert not (tmp_path / "packed").exists() or not os.listdir(tmp_path / "packed")


def test_trackingnet_pack_and_cli(tmp_path):
    seqs = ["vid_a", "vid_b"]
    for s in seqs:
        save_tracker_output(results_dir_for(str(tmp_path / "res"), "trk", "par"), s,
                            {"target_bbox": [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], "time": [1, 1]})
    zip_path = pack_trackingnet("trk", "par", str(tmp_path / "tn"), seqs, results_path=str(tmp_path / "res"))
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == ["vid_a.txt", "vid_b.txt"]
        assert zf.read("vid_a.txt").decode() == "1.00,2.00,3.00,4.00\n5.00,6.00,7.00,8.00\n"
    with pytest.raises(IncompleteResultsError, match="missing .*vid_c.txt"):
        pack_trackingnet("trk", "par", str(tmp_path / "tn2"), seqs + ["vid_c"], results_path=str(tmp_path / "res"))
    # CLI: the sequence list comes from the TrackingNet test layout
    for s in seqs + ["vid_c"]:
        os.makedirs(tmp_path / "tn_root" / "TEST" / "anno", exist_ok=True)
        (tmp_path / "tn_root" / "TEST" / "anno" / f"{s}.txt").write_text("1,2,3,4\n")
        os.makedirs(tmp_path / "tn_root" / "TEST" / "frames" / s, exist_ok=True)
    rc = analysis_main(["trk:par", "--pack", "trackingnet", "--pack_dir", str(tmp_path / "tn3"), "--results_path",
                        str(tmp_path / "res"), "--dataset_root", str(tmp_path / "tn_root")])
    assert rc == 1                                                             # vid_c missing -> refused
