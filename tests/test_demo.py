"""slt-demo --quick: every stage leaves its artefact; metrics are sane and differ between the models.

No assertion on which model wins: that is the experiment's job (experiments/seed_spread.py).
"""
from __future__ import annotations

import json
import math

import pytest
import torch

from ltr_slt import demo


@pytest.fixture(autouse=True, scope="module")
def _keep_root_log_level():
    """``main()`` sets the root logger to WARNING (the CLI's quiet mode); other test files expect it back."""
    import logging
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


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
    assert (out / "data" / "test" / "attributes.json").is_file()
    assert (out / "data" / "test" / "testing_set.txt").read_text().split() == sorted(report["data"]["test_sequences"])
    # 2.-4. checkpoints: trainer checkpoints plus net-only files that load without trusting pickles
    from ltr_slt.admin.loading import load_network
    nets = {}
    for key in demo.MODELS:
        nets[key], _ = load_network(report[key]["model"])
    for name in ("demo_flt", "demo_slt", "demo_flt_continued", "demo_flt_continued_time"):
        assert list((out / "workspace" / "checkpoints" / "ltr" / "transt" / name).glob("TransT_ep*.pth.tar"))
    assert report["slt"]["updates"] == report["flt_continued"]["updates"] > 0
    assert report["flt_continued_time"]["updates"] >= report["slt"]["updates"] // report["config"]["slt_epochs"]
    differs = lambda a, b: any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert all(differs(nets["flt"], nets[k]) for k in ("slt", "flt_continued", "flt_continued_time"))
    # SLT stats were logged (reward, greedy / sampled mIoU)
    assert {"reward", "mIoU", "e_mIoU"} <= set(report["slt"]["history"])
    # 5. result files in pytracking's format, one per held-out sequence and model
    for key in demo.MODELS:
        res_dir = out / "results" / key / "transt" / "transt_tiny"
        for seq in report["data"]["test_sequences"]:
            lines = (res_dir / f"{seq}.txt").read_text().strip().splitlines()
            assert len(lines) == report["config"]["test_frames"]
    table = (out / "table.txt").read_text()
    for label in ("FLT", "FLT-continued", "FLT-cont.(time)", "SLT", "AUC", "OP50", "OP75", "Precision",
                  "Norm Precision", "Per-attribute AUC"):
        assert label in table
    plot = out / "plots" / "success_plot.png"
    assert plot.is_file() and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    strip = report["evaluation"]["strip"]
    assert strip["sequence"] in report["data"]["test_sequences"]
    assert open(strip["path"], "rb").read(8) == b"\x89PNG\r\n\x1a\n" and strip["path"].startswith(str(out / "plots"))
    md = (out / "report.md").read_text()
    assert "Timings" in md and "Seed 3" in md and "Per attribute" in md and "strip_" in md
    assert set(report["timings"]) >= {"data", "flt", "slt", "flt_continued", "eval", "total"}


def test_metrics_in_unit_range_and_models_differ(quick_run):
    _, report = quick_run
    scores = report["evaluation"]["scores"]
    assert set(scores) == set(demo.MODELS)
    for key in demo.MODELS:
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
    # (the wall-time control's number of updates depends on the machine's speed: not compared)
    drop_fps = lambda scores: {k: {m: v for m, v in s.items() if m != "FPS"} for k, s in scores.items()
                               if k != "flt_continued_time"}
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


def test_attribute_table_agrees_with_per_sequence_scores(quick_run):
    """Each attribute row is the mean of the per-sequence AUCs of exactly the sequences having it."""
    out, report = quick_run
    ev = report["evaluation"]
    per_seq = ev["per_sequence_auc"]
    labels = json.loads((out / "data" / "test" / "attributes.json").read_text())
    assert set(per_seq) == set(report["data"]["test_sequences"])
    table = ev["attributes"]
    assert table["ALL"]["num_sequences"] == len(per_seq)
    for short, row in table.items():
        if short == "ALL":
            want = sorted(per_seq)
        elif short == "NONE":
            want = sorted(n for n in per_seq if not labels[n])
        else:
            want = sorted(n for n in per_seq if short in labels[n])
            assert row["name"] == labels["att_name_long"][labels["att_name_short"].index(short)]
        assert sorted(row["sequences"]) == want and row["num_sequences"] == len(want) > 0
        for key in demo.MODELS:
            mean = sum(per_seq[n][key] for n in want) / len(want)
            assert abs(row["AUC"][key] - mean) < 1e-2, (short, key)
    assert abs(table["ALL"]["AUC"]["slt"] - ev["scores"]["slt"]["AUC"]) < 1e-2
    for short in table:
        assert (short if short in ("ALL", "NONE") else table[short]["name"]) in ev["attribute_table"] or short == "ALL"


def test_format_attribute_table_and_best_sequence():
    from ltr_slt.demo_report import best_gain_sequence, format_attribute_table
    table = {"ALL": {"name": "all sequences", "num_sequences": 2, "AUC": {"flt": 50.0, "slt": 54.5}},
             "FOC": {"name": "Full Occlusion", "num_sequences": 1, "AUC": {"flt": 30.0, "slt": 40.0}}}
    text = format_attribute_table(table, {"flt": "FLT", "slt": "SLT"}, ["flt", "slt"])
    lines = text.splitlines()
    assert "FOC Full Occlusion" in lines[-1] and lines[-1].rstrip().endswith("+10.00")
    assert lines[-2].rstrip().endswith("+4.50")
    assert best_gain_sequence({"a-1": {"flt": 50, "slt": 51}, "b-1": {"flt": 20, "slt": 40}}) == "b-1"


def test_progress_bars_replace_worker_log_lines(quick_run):
    import logging
    root = logging.getLogger()
    old = root.level
    try:
        demo._setup_logging(verbose=False)
        # the runner's per-sequence lines and the trainers' periodic lines stay quiet, the demo's stage lines do not
        assert not logging.getLogger("pytracking_slt.evaluation.running").isEnabledFor(logging.INFO)
        assert not logging.getLogger("ltr_slt.admin.stats").isEnabledFor(logging.INFO)
        assert logging.getLogger("ltr_slt.demo").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(old)


def test_missing_baseline_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nope.pth"
    assert demo.main(["--out", str(tmp_path / "o"), "--baseline", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "--train-baseline" in err


def test_baseline_hash_is_checked(quick_run, tmp_path):
    from ltr_slt.demo_baseline import read_baseline_record
    out, report = quick_run
    ckpt = tmp_path / "b.pth"
    ckpt.write_bytes((out / "models" / "flt.pth").read_bytes())
    (tmp_path / "b.json").write_text(json.dumps({"sha256": "0" * 64, "recipe": {}}))
    with pytest.raises(ValueError, match="sha256"):
        demo.stage_baseline(tmp_path / "o", ckpt, read_baseline_record(ckpt))
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(ValueError, match="b.json"):
        read_baseline_record(ckpt)


def test_train_baseline_quick_writes_checkpoint_and_record(tmp_path):
    from ltr_slt.admin.loading import load_network
    from ltr_slt.demo_baseline import _sha256
    assert demo.main(["--train-baseline", "--quick", "--out", str(tmp_path)]) == 0
    ckpt, rec = tmp_path / "baseline_transt_tiny.pth", json.loads((tmp_path / "baseline_transt_tiny.json").read_text())
    net, _ = load_network(ckpt)
    assert rec["sha256"] == _sha256(ckpt) and rec["parameters"] == sum(p.numel() for p in net.parameters())
    assert [v["epoch"] for v in rec["validation"]] == [1, 2] and 0 <= rec["validation"][-1]["val_AUC"] <= 100
    assert rec["train_data"]["seed"] != rec["val_data"]["seed"] and rec["difficulty"]["jump_prob"] == 0.0
    # --resume continues from the latest epoch checkpoint: nothing left to train, same weights, same curve
    assert demo.main(["--train-baseline", "--quick", "--resume", "--out", str(tmp_path)]) == 0
    again = json.loads((tmp_path / "baseline_transt_tiny.json").read_text())
    assert again["sha256"] == rec["sha256"] and again["validation"] == rec["validation"]
    assert "--resume" in again["command"]


def test_shipped_baseline_matches_its_record():
    """The checkpoint in the package is the one its JSON describes, and it is small."""
    from ltr_slt.admin.loading import load_network
    from ltr_slt.demo_baseline import SHIPPED_BASELINE, _sha256, read_baseline_record
    assert SHIPPED_BASELINE.is_file(), "ltr_slt/demo_data/baseline_transt_tiny.pth missing (slt-demo --train-baseline)"
    rec = read_baseline_record(SHIPPED_BASELINE)
    assert rec is not None and rec["sha256"] == _sha256(SHIPPED_BASELINE)
    assert SHIPPED_BASELINE.stat().st_size < 5 * 2 ** 20
    net, _ = load_network(SHIPPED_BASELINE)
    assert sum(p.numel() for p in net.parameters()) == rec["parameters"]
    assert rec["validation"] and demo.FULL.test_seed not in (rec["train_data"]["seed"], rec["val_data"]["seed"])
    assert rec["recipe"]["tiny_config"] == demo.FULL.tiny_config


def _script(name):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "experiments" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"slt_{name}_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_spread_summary_compares_gain_with_spread():
    spread = _script("seed_spread")
    row = lambda auc: {"AUC": auc, "Precision": auc}
    per_seed = {s: {"flt": row(50.0), "flt_continued": row(50.0 + d), "flt_continued_time": row(51.0),
                    "slt": row(54.0 + d)} for s, d in ((0, 0.0), (1, 1.0), (2, -1.0))}
    text = spread.summarise(per_seed)
    assert "54.00 ±  1.00" in text                       # SLT mean ± sample std
    assert "SLT - FLT             AUC:   4.00 ±  1.00" in text and "3/3 seeds" in text
    assert "gain > seed spread" in text
    per_seed[1]["slt"] = row(44.0)                        # one bad seed: the spread now swamps the gain
    assert "gain NOT larger than the seed spread" in spread.summarise(per_seed)
