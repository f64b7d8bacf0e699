"""Environment resolution: order of sources, workspace bridge (read only, never failing), doctor."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from ltr_slt.admin import environment as envmod
from ltr_slt.admin.environment import PATH_FIELDS, describe, env_settings, find_pytracking_workspace

from helpers import isolate_slt_env


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    isolate_slt_env(monkeypatch, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    envmod._warned.clear()


LTR_LOCAL = """
class EnvironmentSettings:
    def __init__(self):
        self.workspace_dir = '{ws}'
        self.tensorboard_dir = self.workspace_dir + '/tensorboard/'
        self.pretrained_networks = self.workspace_dir + '/pretrained_networks/'
        self.lasot_dir = '/data/lasot_ltr'
        self.got10k_dir = '/data/got10k/train'
        self.trackingnet_dir = ''
        self.lvis_dir = '/data/lvis'
"""

PYT_LOCAL = """
from pytracking.evaluation.environment import EnvSettings

def local_env_settings():
    settings = EnvSettings()
    settings.lasot_path = '/data/lasot_eval'
    settings.trackingnet_path = '/data/trackingnet'
    settings.network_path = ['/nonexistent/networks_a/', '/nonexistent/networks_b/']
    settings.otb_path = ''
    return settings
"""


def _make_workspace(root, ltr_src=LTR_LOCAL, pyt_src=PYT_LOCAL, data_specs=True):
    (root / "ltr" / "admin").mkdir(parents=True)
    (root / "pytracking" / "evaluation").mkdir(parents=True)
    if data_specs:
        (root / "ltr" / "data_specs").mkdir()
    if ltr_src is not None:
        (root / "ltr" / "admin" / "local.py").write_text(ltr_src.format(ws=root / "ws"))
    if pyt_src is not None:
        (root / "pytracking" / "evaluation" / "local.py").write_text(pyt_src)
    return root


def test_all_fields_are_strings_and_defaults(tmp_path):
    s = env_settings()
    for name in PATH_FIELDS:
        assert isinstance(getattr(s, name), str), name
    assert s.lasot_dir == "" and s.source_of("lasot_dir") == "unset"
    assert s.workspace_dir == str(tmp_path / "outside" / "slt_workspace")
    assert s.network_path == os.path.join(s.workspace_dir, "networks")
    assert s.source_of("network_path") == "default"
    assert s.dataspec_path == ""     # no workspace -> unknown


def test_order_argument_env_config_default(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"lasot_dir": "/cfg/lasot", "otb_path": "/cfg/otb", "uav_path": "/cfg/uav",
                               "my_extra_dir": "/cfg/extra"}))
    monkeypatch.setenv("SLT_CONFIG", str(cfg))
    monkeypatch.setenv("SLT_LASOT_DIR", "/env/lasot")
    monkeypatch.setenv("SLT_OTB_PATH", "/env/otb")
    s = env_settings(lasot_dir="/arg/lasot")
    assert s.lasot_dir == "/arg/lasot" and s.source_of("lasot_dir") == "argument"
    assert s.otb_path == "/env/otb" and s.source_of("otb_path") == "env SLT_OTB_PATH"
    assert s.uav_path == "/cfg/uav" and s.source_of("uav_path").startswith("config ")
    assert s.my_extra_dir == "/cfg/extra"
    # lasot_path not set anywhere -> same folder as lasot_dir
    assert s.lasot_path == "/arg/lasot" and s.source_of("lasot_path") == "same as lasot_dir"
    info = describe()
    assert info["lasot_dir"].value == "/env/lasot" and info["lasot_dir"].source == "env SLT_LASOT_DIR"


def test_bad_config_file_is_a_clear_error(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg.json"
    cfg.write_text("{not json")
    monkeypatch.setenv("SLT_CONFIG", str(cfg))
    with pytest.raises(RuntimeError, match="cfg.json"):
        env_settings()


def test_got10k_dir_is_the_train_folder(monkeypatch):
    monkeypatch.setenv("SLT_GOT10K_PATH", "/data/got10k")
    s = env_settings()
    assert s.got10k_dir == os.path.join("/data/got10k", "train")
    s = env_settings(got10k_dir="/x/got/train/", got10k_path="")
    assert s.got10k_dir == "/x/got/train/"
    monkeypatch.delenv("SLT_GOT10K_PATH")
    assert env_settings(got10k_dir="/x/got/train/").got10k_path == "/x/got"


def test_workspace_local_files_are_read_and_not_written(tmp_path, monkeypatch):
    ws = _make_workspace(tmp_path / "pytracking_ws")
    files = [ws / "ltr" / "admin" / "local.py", ws / "pytracking" / "evaluation" / "local.py"]
    before = [(f.read_bytes(), f.stat().st_mtime_ns) for f in files]
    sub = ws / "pytracking" / "evaluation"
    monkeypatch.chdir(sub)                      # detection walks up from cwd
    assert find_pytracking_workspace() == ws.resolve()
    monkeypatch.setenv("SLT_OTB_PATH", "/env/otb")
    s = env_settings()
    assert s.workspace_dir == str(ws / "ws") and "ltr/admin/local.py" in s.source_of("workspace_dir")
    assert s.tensorboard_dir == str(ws / "ws") + "/tensorboard/"
    assert s.lasot_dir == "/data/lasot_ltr"                     # ltr name from ltr local.py
    assert s.lasot_path == "/data/lasot_eval"                   # pytracking name from pytracking local.py
    assert s.trackingnet_dir == "/data/trackingnet"             # '' in ltr local.py -> counterpart
    assert s.got10k_dir == "/data/got10k/train" and s.got10k_path == "/data/got10k"
    assert s.network_path == "/nonexistent/networks_a/"         # list -> first entry
    assert envmod.workspace_path_lists(ws.resolve())["network_path"] == [
        "/nonexistent/networks_a/", "/nonexistent/networks_b/"]
    assert s.results_path == f"{ws.resolve()}/pytracking/tracking_results/"   # pytracking default
    assert s.otb_path == "/env/otb"                             # env beats workspace
    assert s.dataspec_path == str(ws.resolve() / "ltr" / "data_specs")
    assert s.lvis_dir == "/data/lvis"                           # extras kept
    moved = env_settings(workspace_dir="/elsewhere")
    assert moved.tensorboard_dir == os.path.join("/elsewhere", "tensorboard")    # logs follow the override
    assert moved.pretrained_networks == str(ws / "ws") + "/pretrained_networks/"  # weights folder stays
    assert [(f.read_bytes(), f.stat().st_mtime_ns) for f in files] == before
    assert "pytracking" not in sys.modules and "pytracking.evaluation.environment" not in sys.modules
    assert not any(name.startswith("_slt_workspace") for name in sys.modules)


@pytest.mark.parametrize("ltr_src", [
    "class EnvironmentSettings(:\n",                                     # syntax error
    "class EnvironmentSettings:\n    def __init__(self):\n        raise ValueError('boom')\n",
    "import module_that_does_not_exist_xyz\n",
    "raise SystemExit(3)\n",
])
def test_broken_workspace_file_never_fails_and_is_untouched(tmp_path, monkeypatch, caplog, ltr_src):
    ws = _make_workspace(tmp_path / "ws", ltr_src=ltr_src)
    ltr_local = ws / "ltr" / "admin" / "local.py"
    before = ltr_local.read_bytes()
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(ws))
    with caplog.at_level(logging.WARNING, logger=envmod.__name__):
        s = env_settings()
    assert ltr_local.read_bytes() == before
    assert s.lasot_path == "/data/lasot_eval"                 # the other file still counts
    assert s.lasot_dir == "/data/lasot_eval"                  # ... and fills the ltr name
    assert any("local.py" in r.getMessage() and "not modified" in r.getMessage() for r in caplog.records)
    assert envmod.workspace_report()["errors"]


def test_workspace_search_can_be_disabled_and_bad_explicit_workspace_ignored(tmp_path, monkeypatch):
    ws = _make_workspace(tmp_path / "ws")
    monkeypatch.chdir(ws)
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    assert find_pytracking_workspace() is None
    assert env_settings().lasot_dir == ""
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(tmp_path / "not_a_workspace"))
    assert find_pytracking_workspace() is None


def test_doctor_runs_and_reports(tmp_path, monkeypatch, capsys):
    from ltr_slt.admin import doctor
    monkeypatch.setenv("SLT_LASOT_DIR", str(tmp_path / "missing_lasot"))
    code = doctor.main([])
    out = capsys.readouterr().out
    assert code == 0
    assert "lasot_dir" in out and "SLT_LASOT_DIR" in out and "does not exist" in out
    assert "image backend" in out.lower() and "torch" in out.lower()
    assert "transt.pth" in out
    assert doctor.main(["--strict"]) == 1
    capsys.readouterr()


def test_doctor_strict_passes_when_everything_configured_exists(tmp_path, monkeypatch, capsys):
    from ltr_slt.admin import doctor
    nets = tmp_path / "nets"
    nets.mkdir()
    (nets / "transt.pth").write_bytes(b"x")
    monkeypatch.setenv("SLT_NETWORK_PATH", str(nets))
    monkeypatch.setenv("SLT_PRETRAINED_NETWORKS", str(nets))
    assert doctor.main(["--strict"]) == 0
    report = doctor.collect()
    assert not report["problems"]
    capsys.readouterr()


def test_doctor_lists_the_dimp_family_baselines(tmp_path, monkeypatch, capsys):
    from ltr_slt.admin import doctor
    nets = tmp_path / "nets"
    nets.mkdir()
    (nets / "transt.pth").write_bytes(b"x")
    (nets / "trdimp.pth").write_bytes(b"x")
    monkeypatch.setenv("SLT_NETWORK_PATH", str(nets))
    monkeypatch.setenv("SLT_PRETRAINED_NETWORKS", str(nets))
    assert doctor.main(["--strict"]) == 0  # optional: missing DiMP baselines are hints, not problems
    out = capsys.readouterr().out
    assert f"trdimp.pth (for slt trdimp_slt, optional): {nets / 'trdimp.pth'}" in out
    assert "super_dimp.pth.tar (for slt super_dimp_slt, optional): not found" in out
    assert "dimp50.pth (for slt dimp_slt, optional): not found" in out
    report = doctor.collect()
    assert any("dimp50.pth" in h and "pytracking" in h for h in report["hints"])


def test_doctor_module_entry_point(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLT_")}
    env["SLT_CONFIG"] = str(tmp_path / "none.json")
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                         env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "ltr_slt.admin.doctor"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "workspace_dir" in proc.stdout
