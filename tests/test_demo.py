"""slt-demo --quick: every stage leaves its artefact; metrics are sane and differ between the models.

No assertion on which model wins: that is the experiment's job (experiments/seed_spread.py).
"""
from __future__ import annotations

import json
import math

import pytest
import torch

from ltr_slt import demo


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    code = demo.main(["--quick", "--out", str(out), "--seed", "3"])
    assert code == 0
    return out, json.loads((out / "report.json").read_text())


def test_every_stage_produced_its_artefact(quick_run):
    out, report = quick_run
    # 1. data: disjoint train / held-out sets
    assert set(report["data"]["train_sequences"]).isdisjoint(report["data"]["test_sequences"])
    assert report["data"]["train_seed"] != report["data"]["test_seed"]
    assert (out / "data" / "test" / "testing_set.txt").read_text().split() == report["data"]["test_sequences"]
    # 2.-4. checkpoints: trainer checkpoints plus net-only files that load without trusting pickles
    from ltr_slt.admin.loading import load_network
    nets = {}
    for key in ("flt", "slt", "flt_continued"):
        nets[key], _ = load_network(report[key]["model"])
    for name in ("demo_flt", "demo_slt", "demo_flt_continued"):
        assert list((out / "workspace" / "checkpoints" / "ltr" / "transt" / name).glob("TransT_ep*.pth.tar"))
    assert report["slt"]["updates"] == report["flt_continued"]["updates"] > 0
    differs = lambda a, b: any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert differs(nets["flt"], nets["slt"]) and differs(nets["flt"], nets["flt_continued"])
    # SLT stats were logged (reward, greedy / sampled mIoU)
    assert {"reward", "mIoU", "e_mIoU"} <= set(report["slt"]["history"])
    # 5. result files in pytracking's format, one per held-out sequence and model
    for key in ("flt", "flt_continued", "slt"):
        res_dir = out / "results" / key / "transt" / "transt_tiny"
        for seq in report["data"]["test_sequences"]:
            lines = (res_dir / f"{seq}.txt").read_text().strip().splitlines()
            assert len(lines) == report["config"]["test_frames"]
    table = (out / "table.txt").read_text()
    for label in ("FLT", "FLT-continued", "SLT", "AUC", "OP50", "OP75", "Precision", "Norm Precision"):
        assert label in table
    plot = out / "plots" / "success_plot.png"
    assert plot.is_file() and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "Timings" in md and "Seed 3" in md
    assert set(report["timings"]) >= {"data", "flt", "slt", "flt_continued", "eval", "total"}


def test_metrics_in_unit_range_and_models_differ(quick_run):
    _, report = quick_run
    scores = report["evaluation"]["scores"]
    for key in ("flt", "flt_continued", "slt"):
        for metric in ("AUC", "OP50", "OP75", "Precision", "Norm Precision"):
            value = scores[key][metric] / 100.0   # pytracking tables are in percent
            assert 0.0 <= value <= 1.0 and math.isfinite(value), (key, metric, value)
    rows = [tuple(round(scores[k][m], 6) for m in ("AUC", "Precision", "Norm Precision")) for k in scores]
    assert len(set(rows)) > 1, f"all three models gave identical metrics: {rows}"


def test_refuses_foreign_out_folder(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    assert demo.main(["--quick", "--out", str(tmp_path)]) == 2
    assert "not made by slt-demo" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_same_seed_same_table(quick_run, tmp_path):
    _, first = quick_run
    again = demo.run_demo(demo.QUICK, tmp_path / "again", seed=3, quick=True)
    drop_fps = lambda scores: {k: {m: v for m, v in s.items() if m != "FPS"} for k, s in scores.items()}
    assert drop_fps(again["evaluation"]["scores"]) == drop_fps(first["evaluation"]["scores"])
    for key in ("flt", "slt", "flt_continued"):
        assert again[key]["history"] == first[key]["history"]


def test_ablation_script_reuses_the_demo_and_adds_a_compute_matched_control(quick_run, tmp_path):
    import importlib.util
    from pathlib import Path

    out, _ = quick_run
    path = Path(__file__).resolve().parents[1] / "experiments" / "ablation.py"
    spec = importlib.util.spec_from_file_location("slt_ablation_script", path)
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    res_dir = tmp_path / "abl"
    assert ablation.main(["--quick", "--seed", "3", "--reuse-demo", str(out), "--out", str(res_dir),
                          "--variants", "ss_so_sa", "--flt-continued-x", "2"]) == 0
    result = json.loads((res_dir / "ablation.json").read_text())
    assert set(result["scores"]) == {"flt", "flt_continued", "flt_continued_x2", "ss_so_sa"}
    assert (res_dir / "models" / "flt_continued_x2.pth").is_file()
    for scores in result["scores"].values():
        assert 0.0 <= scores["AUC"] <= 100.0
