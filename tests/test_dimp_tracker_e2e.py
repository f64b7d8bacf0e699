"""End to end: ``slt-track`` runs the DiMP-family baselines (tiny checkpoints) on the synthetic LaSOT
layout and ``slt-analysis`` reads their pytracking result files; the workspace gets the new shims."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from dimp_doubles import dimpnet_tiny_transformer_double  # registers the TEST DOUBLE factory
from ltr_slt.admin.model_constructor import NetConstructor
from ltr_slt.models.tracking.dimpnet import dimpnet_tiny


def _checkpoint(path, net, fun_name, fun_module):
    torch.save({"net": net.state_dict(), "constructor": NetConstructor(fun_name, fun_module, (), {}),
                "net_type": type(net).__name__}, path)
    return str(path)


@pytest.mark.slow
def test_slt_track_runs_dimp_family_baselines_and_analysis_reads_them(tmp_path, monkeypatch, capsys):
    from ltr_slt.dataset import synthetic
    from pytracking_slt.analysis.__main__ import main as analysis_main
    from pytracking_slt.evaluation import get_dataset
    from pytracking_slt.run_tracker import main as run_main

    cfg = synthetic.SyntheticConfig(num_frames=4, width=96, height=72, use_photos=False)
    synthetic.generate_dataset(str(tmp_path / "syn"), layout="lasot", num_seq=1, seed=3, config=cfg, split="test")
    torch.manual_seed(0)
    dimp_ckpt = _checkpoint(tmp_path / "dimp_tiny.pth.tar", dimpnet_tiny(), "dimpnet_tiny",
                            "ltr_slt.models.tracking.dimpnet")
    trdimp_ckpt = _checkpoint(tmp_path / "trdimp_tiny.pth.tar", dimpnet_tiny_transformer_double(),
                              "dimpnet_tiny_transformer_double", "dimp_doubles")
    monkeypatch.setenv("SLT_DEVICE", "cpu")
    res = str(tmp_path / "res")
    common = ["--dataset_name", "synthetic", "--dataset_root", str(tmp_path / "syn"), "--results_path", res,
              "--no_progress", "--device", "cpu", "--on_error", "fail"]
    runs = [("dimp", "dimp50_tiny", dimp_ckpt), ("dimp", "super_dimp_tiny", dimp_ckpt),
            ("trdimp", "trdimp_tiny", trdimp_ckpt)]
    seqs = get_dataset("synthetic", root=str(tmp_path / "syn"))
    for tracker, param, ckpt in runs:
        monkeypatch.setenv("SLT_TINY_DIMP_NET", ckpt)
        assert run_main([tracker, param] + common) == 0
        for s in seqs:
            boxes = np.loadtxt(os.path.join(res, tracker, param, s.name + ".txt"), delimiter="\t")
            assert boxes.shape == (len(s.frames), 4) and np.isfinite(boxes).all()
            np.testing.assert_array_equal(boxes[0], s.ground_truth_rect[0].astype(int))
    names = [f"{t}:{p}" for t, p, _ in runs]
    assert analysis_main(names + ["--dataset_name", "synthetic", "--dataset_root", str(tmp_path / "syn"),
                                  "--results_path", res, "--no_cache"]) == 0
    out = capsys.readouterr().out
    assert all(f"{t}_{p}" in out for t, p, _ in runs) and "AUC" in out


def test_tiny_parameter_files_need_a_checkpoint(monkeypatch):
    from pytracking_slt.parameter.dimp import dimp50_tiny
    monkeypatch.delenv("SLT_TINY_DIMP_NET", raising=False)
    with pytest.raises(FileNotFoundError, match="SLT_TINY_DIMP_NET"):
        dimp50_tiny.parameters()


def test_slt_parameter_files_find_the_newest_training_checkpoint(tmp_path, monkeypatch):
    """No net_path, no released file in any network folder: the newest epoch that the file's training
    run wrote is used (full size: lazily loaded, so an empty file is enough); without any, the released
    name is kept and the tiny file fails naming what it tried."""
    from pytracking_slt.parameter.slt_dimp import slt_dimp_tiny
    from pytracking_slt.parameter.slt_trdimp import slt_trdimp, slt_trdimp_lasot
    from pytracking_slt.workspace.weights import WeightsNotFoundError

    for var in ("SLT_TINY_DIMP_NET", "SLT_NETWORK_PATH", "SLT_PRETRAINED_NETWORKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    monkeypatch.setenv("SLT_CONFIG", str(tmp_path / "no_config.json"))
    monkeypatch.setenv("SLT_WORKSPACE_DIR", str(tmp_path / "ws"))
    assert slt_trdimp.parameters(device="cpu").net_path == "slt_trdimp.pth"  # not trained: lazy, lists folders
    run_dir = tmp_path / "ws" / "checkpoints" / "ltr" / "slt" / "trdimp_slt"
    run_dir.mkdir(parents=True)
    for epoch in (2, 10, 9):
        (run_dir / f"TrDiMPnet_ep{epoch:04d}.pth.tar").write_bytes(b"")
    newest = str(run_dir / "TrDiMPnet_ep0010.pth.tar")
    assert slt_trdimp.parameters(device="cpu").net_path == newest
    assert slt_trdimp_lasot.parameters(device="cpu").net_path == newest
    assert slt_trdimp.parameters("mine.pth", device="cpu").net_path == "mine.pth"  # net_path wins, lazily
    with pytest.raises(WeightsNotFoundError, match=r"slt_dimp_tiny: .*checkpoints/ltr/slt/dimp_slt_tiny"):
        slt_dimp_tiny.parameters()


def test_workspace_plan_has_the_new_tracker_names():
    from pytracking_slt.workspace.shims import build_plan
    families = {f.name: f for f in build_plan().families}
    assert {"slt_trdimp", "slt_dimp", "trdimp"} <= set(families)
    assert families["slt_trdimp"].required and not families["trdimp"].required
    assert "dimp" not in families  # pytracking's own dimp is never shadowed in a workspace
    assert "pytracking/parameter/slt_trdimp/slt_trdimp_lasot.py" in [f.relpath for f in families["slt_trdimp"].files]
