"""slt-workspace: shims in a pytracking workspace (install / uninstall / check, weights lookup, end to end).

The workspace is `tests/workspace_skeleton` (a faithful minimal pytracking checkout, see its README)
copied to tmp_path with local.py files written from its templates. Mechanics tests use a fake plugin
package (written to tmp_path) so they do not depend on which trackers exist; end-to-end tests drive
the skeleton's own `ltr/run_training.py` / `pytracking/run_tracker.py` in subprocesses.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import types
import uuid
from pathlib import Path
from typing import Dict

import pytest

from pytracking_slt.workspace import MANIFEST_NAME, NotAWorkspaceError, check, install, uninstall
from pytracking_slt.workspace import bridge, cli, shims, weights

REPO = Path(__file__).resolve().parents[1]
SKELETON = Path(__file__).resolve().parent / "workspace_skeleton"


# ----------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------
def make_workspace(base: Path) -> types.SimpleNamespace:
    """Copy the skeleton to ``base/ws`` and write both local.py files (outputs under ``base/out``)."""
    root = base / "ws"
    shutil.copytree(SKELETON, root, ignore=shutil.ignore_patterns("__pycache__"))
    out = base / "out"
    ns = types.SimpleNamespace(
        root=root, workspace_dir=out / "ltr_ws", network_path=base / "networks",
        results_path=out / "tracking_results", got10k_path=base / "data" / "got10k")
    for tmpl, values in (
            ("ltr/admin/local.py", {"workspace_dir": ns.workspace_dir}),
            ("pytracking/evaluation/local.py", {
                "got10k_path": ns.got10k_path, "network_path": ns.network_path,
                "result_plot_path": out / "plots", "results_path": ns.results_path,
                "segmentation_path": out / "segm"})):
        text = (root / (tmpl + ".template")).read_text()
        (root / tmpl).write_text(text.format(**{k: str(v) for k, v in values.items()}))
    return ns


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path)


def snapshot(root: Path) -> Dict[str, str]:
    """Every file (sha256) and folder ('dir') under root, __pycache__ excluded."""
    out = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


class FakePlugin:
    """A throw-away plugin (train settings + tracker + parameter packages) importable from tmp_path."""

    def __init__(self, base: Path, monkeypatch):
        self.name = "fakeslt_" + uuid.uuid4().hex[:8]
        self.base = base / "pkgs"
        self.pkg = self.base / self.name
        monkeypatch.syspath_prepend(str(self.base))
        self.write("__init__.py", "")
        for sub in ("train_settings", "train_settings/slt", "tracker", "parameter"):
            self.write(f"{sub}/__init__.py", "")
        self.write("train_settings/slt/alpha.py", "def run(settings):\n    settings.ran = 'alpha'\n    return settings\n")
        self.write("train_settings/slt/beta.py", "def run(settings):\n    pass\n")
        tracker = "class T:\n    pass\n\n\ndef get_tracker_class():\n    return T\n"
        for fam in ("slt_foo", "transt", "dimp"):
            self.write(f"tracker/{fam}/__init__.py", tracker)
        self.write("tracker/helper.py", "X = 1\n")  # no get_tracker_class: not a tracker family
        self.write("parameter/slt_foo/__init__.py", "")
        self.write("parameter/slt_foo/p1.py", "def parameters():\n    return 'p1'\n")
        self.write("parameter/slt_foo/p2.py", "def parameters():\n    return 'p2'\n")
        self.write("parameter/transt/__init__.py", "")
        self.write("parameter/transt/transt.py", "def parameters():\n    return 'transt'\n")

    def write(self, rel: str, text: str) -> None:
        path = self.pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def plan(self) -> shims.Plan:
        return shims.build_plan(f"{self.name}.train_settings.slt", f"{self.name}.tracker", f"{self.name}.parameter")


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    return FakePlugin(tmp_path, monkeypatch)


EXPECTED_FAKE = {
    "ltr/train_settings/slt/__init__.py", "ltr/train_settings/slt/alpha.py", "ltr/train_settings/slt/beta.py",
    "pytracking/tracker/slt_foo/__init__.py", "pytracking/parameter/slt_foo/__init__.py",
    "pytracking/parameter/slt_foo/p1.py", "pytracking/parameter/slt_foo/p2.py",
    "pytracking/tracker/transt/__init__.py", "pytracking/parameter/transt/__init__.py",
    "pytracking/parameter/transt/transt.py",
}


def statuses(report) -> Dict[str, str]:
    return {a.relpath: a.status for a in report.actions}


def subprocess_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), *extra.pop("_paths", ()), env.get("PYTHONPATH"))
                                        if p)
    env.pop("SLT_PYTRACKING_WORKSPACE", None)
    env.update(extra)
    return env


# ----------------------------------------------------------------------------------------------
# install / check / uninstall mechanics (fake plugin: independent of the real trackers)
# ----------------------------------------------------------------------------------------------
def test_install_writes_marked_shims_and_manifest(ws, plugin):
    before = snapshot(ws.root)
    report = install(ws.root, plan=plugin.plan())
    assert report.ok, report.lines()
    assert {r for r, s in statuses(report).items() if s == "created"} == EXPECTED_FAKE
    for rel in EXPECTED_FAKE:
        has_marker, intact = shims.parse_marker((ws.root / rel).read_text())
        assert has_marker and intact, rel
    # upstream tracker names and helper modules are never installed
    assert not (ws.root / "pytracking/tracker/dimp").exists()
    assert not (ws.root / "pytracking/tracker/helper").exists()
    manifest = json.loads((ws.root / MANIFEST_NAME).read_text())
    assert set(manifest["files"]) == EXPECTED_FAKE
    assert set(manifest["created_dirs"]) == {
        "ltr/train_settings/slt", "pytracking/tracker/slt_foo", "pytracking/tracker/transt",
        "pytracking/parameter/slt_foo", "pytracking/parameter/transt"}
    # nothing outside the shim folders (and the manifest) changed
    after = snapshot(ws.root)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed == EXPECTED_FAKE | set(manifest["created_dirs"]) | {MANIFEST_NAME}
    assert statuses(check(ws.root, plan=plugin.plan())) == {rel: "ok" for rel in EXPECTED_FAKE}


def test_shim_text_reexports_our_modules(ws, plugin):
    install(ws.root, plan=plugin.plan())
    text = (ws.root / "pytracking/tracker/slt_foo/__init__.py").read_text()
    assert f"from {plugin.name}.tracker.slt_foo import get_tracker_class" in text
    assert "enter_workspace(__file__)" in text
    text = (ws.root / "ltr/train_settings/slt/alpha.py").read_text()
    assert f'run_in_workspace("{plugin.name}.train_settings.slt.alpha", settings)' in text
    assert "ltr.models" not in text and "import ltr" not in text


def test_install_twice_is_idempotent(ws, plugin):
    install(ws.root, plan=plugin.plan())
    first = snapshot(ws.root)
    mtimes = {p: p.stat().st_mtime_ns for p in ws.root.rglob("*.py")}
    report = install(ws.root, plan=plugin.plan())
    assert report.ok
    assert set(statuses(report).values()) == {"unchanged"}
    assert snapshot(ws.root) == first
    assert {p: p.stat().st_mtime_ns for p in ws.root.rglob("*.py")} == mtimes


def test_uninstall_restores_the_workspace_exactly(ws, plugin):
    before = snapshot(ws.root)
    install(ws.root, plan=plugin.plan())
    # Import the shims the way the workspace would (fresh interpreter, repo root appended to sys.path):
    # this also leaves __pycache__ entries behind, which uninstall must clean. (The ltr side is imported
    # by the end-to-end training test: the skeleton's ltr/__init__ imports torch, as upstream.)
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.append({str(ws.root)!r})
        import pytracking.tracker.slt_foo as t, pytracking.parameter.slt_foo.p2 as p
        assert t.get_tracker_class().__name__ == 'T' and p.parameters() == 'p2'
        assert os.environ['SLT_PYTRACKING_WORKSPACE'] == {str(ws.root)!r}
        assert not any(m.startswith('ltr.models') for m in sys.modules)
    """)
    env = subprocess_env(_paths=[str(plugin.base)])
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' interpreters write bytecode next to the shims
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert list((ws.root / "pytracking/parameter/slt_foo/__pycache__").glob("p2.*.pyc"))
    report = uninstall(ws.root)
    assert report.ok, report.lines()
    assert snapshot(ws.root) == before
    assert not (ws.root / "ltr/train_settings/slt").exists()
    assert not (ws.root / "pytracking/tracker/slt_foo").exists()


def test_refuses_a_folder_that_is_not_a_workspace(tmp_path, ws, plugin, capsys):
    (tmp_path / "other" / "ltr").mkdir(parents=True)
    before = snapshot(tmp_path / "other")
    with pytest.raises(NotAWorkspaceError, match="not a pytracking workspace: missing .*pytracking/run_tracker.py"):
        install(tmp_path / "other", plan=plugin.plan())
    assert snapshot(tmp_path / "other") == before
    with pytest.raises(NotAWorkspaceError, match="Did you mean its parent"):
        install(ws.root / "ltr", plan=plugin.plan())
    assert cli.main(["install", str(tmp_path / "other")]) == 2
    assert "not a pytracking workspace" in capsys.readouterr().err
    assert cli.main(["check", str(tmp_path / "missing")]) == 2
    assert not (ws.root / MANIFEST_NAME).exists()


def test_never_overwrites_a_file_it_did_not_write(ws, plugin):
    user_file = ws.root / "ltr/train_settings/slt/alpha.py"
    user_file.parent.mkdir(parents=True)
    (user_file.parent / "__init__.py").write_text("# the user's package\n")
    user_file.write_text("def run(settings):\n    print('mine')\n")
    before = snapshot(ws.root)
    report = install(ws.root, plan=plugin.plan())
    st = statuses(report)
    assert st["ltr/train_settings/slt/alpha.py"] == "conflict"
    assert st["ltr/train_settings/slt/__init__.py"] == "shared"  # an existing package is fine
    assert st["ltr/train_settings/slt/beta.py"] == "created"
    assert not report.ok
    assert all(before[k] == v for k, v in snapshot(ws.root).items() if k in before)
    assert cli.main(["install", str(ws.root)]) in (0, 1)  # real plan: must not touch alpha.py either
    assert user_file.read_text() == "def run(settings):\n    print('mine')\n"
    report = uninstall(ws.root)
    assert user_file.read_text() == "def run(settings):\n    print('mine')\n"
    assert (user_file.parent / "__init__.py").read_text() == "# the user's package\n"
    assert not (ws.root / "ltr/train_settings/slt/beta.py").exists()
    assert snapshot(ws.root) == before


def test_edited_shim_is_kept_and_reported(ws, plugin):
    install(ws.root, plan=plugin.plan())
    shim = ws.root / "pytracking/parameter/slt_foo/p1.py"
    edited = shim.read_text() + "\n# my tweak\n"
    shim.write_text(edited)
    assert statuses(check(ws.root, plan=plugin.plan()))["pytracking/parameter/slt_foo/p1.py"] == "modified"
    report = install(ws.root, plan=plugin.plan())
    assert statuses(report)["pytracking/parameter/slt_foo/p1.py"] == "conflict" and not report.ok
    assert shim.read_text() == edited
    report = uninstall(ws.root)
    assert statuses(report)["pytracking/parameter/slt_foo/p1.py"] == "kept" and not report.ok
    assert shim.read_text() == edited
    assert (ws.root / MANIFEST_NAME).exists()  # still lists what is left of ours
    report = uninstall(ws.root, force=True)
    assert report.ok and not shim.exists() and not (ws.root / "pytracking/parameter/slt_foo").exists()
    assert not (ws.root / MANIFEST_NAME).exists()


def test_baseline_tracker_skipped_when_the_workspace_has_one(ws, plugin):
    own = ws.root / "pytracking/tracker/transt/__init__.py"
    own.parent.mkdir()
    own.write_text("from .transt import TransT\n")
    (ws.root / "pytracking/parameter/transt").mkdir()
    (ws.root / "pytracking/parameter/transt/transt50.py").write_text("def parameters(): pass\n")
    report = install(ws.root, plan=plugin.plan())
    st = statuses(report)
    assert report.ok, report.lines()
    assert st["pytracking/tracker/transt/__init__.py"] == "skipped"
    assert st["pytracking/parameter/transt/transt.py"] == "skipped"
    assert not (ws.root / "pytracking/parameter/transt/transt.py").exists()
    assert own.read_text() == "from .transt import TransT\n"
    assert st["pytracking/tracker/slt_foo/__init__.py"] == "created"


def test_baseline_installed_earlier_then_replaced_by_the_user(ws, plugin):
    install(ws.root, plan=plugin.plan())
    own = ws.root / "pytracking/tracker/transt/__init__.py"
    own.write_text("from .transt import TransT\n")  # the user drops in the TransT fork's tracker
    report = install(ws.root, plan=plugin.plan())
    st = statuses(report)
    assert report.ok, report.lines()
    assert st["pytracking/tracker/transt/__init__.py"] == "skipped" and own.read_text() == "from .transt import TransT\n"
    assert st["pytracking/parameter/transt/transt.py"] == "removed"  # ours, would pair with their tracker
    assert not (ws.root / "pytracking/parameter/transt/transt.py").exists()
    uninstall(ws.root)
    assert own.read_text() == "from .transt import TransT\n"


def test_slt_tracker_name_clash_is_a_conflict(ws, plugin):
    own = ws.root / "pytracking/tracker/slt_foo/__init__.py"
    own.parent.mkdir()
    own.write_text("def get_tracker_class(): pass\n")
    report = install(ws.root, plan=plugin.plan())
    st = statuses(report)
    assert not report.ok
    assert st["pytracking/tracker/slt_foo/__init__.py"] == "conflict"
    assert st["pytracking/parameter/slt_foo/p1.py"] == "conflict"  # never pair our params with their tracker
    assert not (ws.root / "pytracking/parameter/slt_foo").exists()
    assert own.read_text() == "def get_tracker_class(): pass\n"


def test_new_and_removed_modules_follow_the_packages(ws, plugin):
    install(ws.root, plan=plugin.plan())
    plugin.write("train_settings/slt/gamma.py", "def run(settings):\n    pass\n")
    plugin.write("parameter/slt_foo/p3.py", "def parameters():\n    return 'p3'\n")
    (plugin.pkg / "train_settings/slt/beta.py").unlink()
    st = statuses(check(ws.root, plan=plugin.plan()))
    assert st["ltr/train_settings/slt/gamma.py"] == "missing"
    assert st["pytracking/parameter/slt_foo/p3.py"] == "missing"
    assert st["ltr/train_settings/slt/beta.py"] == "stale"
    report = install(ws.root, plan=plugin.plan())
    st = statuses(report)
    assert st["ltr/train_settings/slt/gamma.py"] == "created"
    assert st["ltr/train_settings/slt/beta.py"] == "removed"
    assert not (ws.root / "ltr/train_settings/slt/beta.py").exists()
    assert "ltr/train_settings/slt/beta.py" not in json.loads((ws.root / MANIFEST_NAME).read_text())["files"]
    assert check(ws.root, plan=plugin.plan()).ok


def test_a_broken_family_of_ours_keeps_its_shims(ws, plugin):
    install(ws.root, plan=plugin.plan())
    before = snapshot(ws.root)
    plugin.write("tracker/slt_foo/__init__.py", "raise ImportError('half-written module')\n")
    for mod in [m for m in sys.modules if m.startswith(f"{plugin.name}.tracker.slt_foo")]:
        del sys.modules[mod]
    report = install(ws.root, plan=plugin.plan())
    assert not report.ok and "half-written module" in report.problems[0]
    assert "pytracking/tracker/slt_foo/__init__.py" not in statuses(report)  # neither rewritten nor "stale"
    assert snapshot(ws.root) == before
    assert not check(ws.root, plan=plugin.plan()).ok


def test_outdated_shim_is_refreshed(ws, plugin):
    install(ws.root, plan=plugin.plan())
    shim = ws.root / "ltr/train_settings/slt/alpha.py"
    shim.write_text(shims.render('"""written by an older slt-workspace"""\n'))
    assert statuses(check(ws.root, plan=plugin.plan()))["ltr/train_settings/slt/alpha.py"] == "outdated"
    assert statuses(install(ws.root, plan=plugin.plan()))["ltr/train_settings/slt/alpha.py"] == "updated"
    assert "run_in_workspace" in shim.read_text()


def test_uninstall_without_manifest_uses_markers(ws, plugin):
    before = snapshot(ws.root)
    install(ws.root, plan=plugin.plan())
    (ws.root / MANIFEST_NAME).unlink()
    report = uninstall(ws.root)
    assert report.ok
    assert snapshot(ws.root) == before


def test_corrupt_manifest_is_reported_not_overwritten(ws, plugin, capsys):
    (ws.root / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(RuntimeError, match="unreadable"):
        install(ws.root, plan=plugin.plan())
    assert cli.main(["uninstall", str(ws.root)]) == 1
    assert MANIFEST_NAME in capsys.readouterr().err
    assert (ws.root / MANIFEST_NAME).read_text() == "{not json"


def test_broken_local_py_is_never_rewritten(ws, plugin):
    broken = {"ltr/admin/local.py": "class EnvironmentSettings(:\n  oops\n",
              "pytracking/evaluation/local.py": "raise RuntimeError('half-edited')\n"}
    for rel, text in broken.items():
        (ws.root / rel).write_text(text)
    install(ws.root, plan=plugin.plan())
    notes = "\n".join(check(ws.root, plan=plugin.plan()).notes)
    assert "ltr/admin/local.py" in notes and "SyntaxError" in notes and "half-edited" in notes
    # our path resolution and weight lookup read (never import) those files
    code = textwrap.dedent("""
        from ltr_slt.admin.environment import env_settings
        from pytracking_slt.workspace.weights import find_weights, WeightsNotFoundError
        env_settings()
        try:
            find_weights('transt.pth')
        except WeightsNotFoundError:
            pass
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=subprocess_env(SLT_PYTRACKING_WORKSPACE=str(ws.root)))
    assert proc.returncode == 0, proc.stderr
    uninstall(ws.root)
    for rel, text in broken.items():
        assert (ws.root / rel).read_text() == text


def test_cli_install_check_uninstall_real_packages(ws, capsys):
    before = snapshot(ws.root)
    assert cli.main(["install", str(ws.root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "created    ltr/train_settings/slt/__init__.py" in out and "(dry run)" in out
    assert snapshot(ws.root) == before
    assert cli.main(["install", str(ws.root)]) == 0, capsys.readouterr()
    assert (ws.root / "ltr/train_settings/slt/__init__.py").is_file()
    capsys.readouterr()
    assert cli.main(["check", str(ws.root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and {a["status"] for a in data["actions"]} <= {"ok", "skipped"}
    assert cli.main(["uninstall", str(ws.root)]) == 0
    assert snapshot(ws.root) == before


def test_module_entry_point_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytracking_slt.workspace", "install", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, env=subprocess_env())
    assert proc.returncode == 2, proc.stderr
    assert "is not a pytracking workspace" in proc.stderr and "Nothing was written" in proc.stderr
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------------------------
# runtime bridge and weights lookup
# ----------------------------------------------------------------------------------------------
def test_enter_workspace_points_path_resolution_at_the_shim_workspace(ws, monkeypatch):
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")  # recorded, so teardown restores the original
    shim = ws.root / "pytracking" / "tracker" / "slt_x" / "__init__.py"
    assert bridge.enter_workspace(str(shim)) == str(ws.root)
    assert os.environ["SLT_PYTRACKING_WORKSPACE"] == str(ws.root)
    from ltr_slt.admin.environment import env_settings
    env = env_settings()
    assert env.workspace_dir == str(ws.workspace_dir)
    assert env.results_path == str(ws.results_path)
    assert env.network_path == str(ws.network_path)


def test_convert_settings_keeps_identity_and_workspace_paths(ws, monkeypatch, tmp_path):
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(ws.root))
    monkeypatch.setenv("SLT_WORKSPACE_DIR", str(tmp_path / "elsewhere"))  # the workspace's local.py must win
    ws_env = types.SimpleNamespace(workspace_dir=str(ws.workspace_dir), tensorboard_dir=str(tmp_path / "tb"),
                                   lasot_dir="", pretrained_networks=[str(tmp_path / "pre")])
    ws_settings = types.SimpleNamespace(env=ws_env, use_gpu=False, module_name="slt", script_name="x",
                                        project_path="ltr/slt/x")
    ours = bridge.convert_settings(ws_settings)
    from ltr_slt.admin.settings import Settings
    assert isinstance(ours, Settings)
    assert (ours.module_name, ours.script_name, ours.project_path, ours.use_gpu) == ("slt", "x", "ltr/slt/x", False)
    assert ours.env.workspace_dir == str(ws.workspace_dir)
    assert ours.env.tensorboard_dir == str(tmp_path / "tb")
    assert ours.env.pretrained_networks == str(tmp_path / "pre")
    assert ours.env.results_path == str(ws.results_path)  # from pytracking/evaluation/local.py
    pickle.loads(pickle.dumps(ours))  # checkpoints pickle it: no workspace classes inside


def test_run_in_workspace_runs_our_module_with_our_settings(ws, plugin, monkeypatch):
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(ws.root))
    ws_env = types.SimpleNamespace(workspace_dir=str(ws.workspace_dir))
    ws_settings = types.SimpleNamespace(env=ws_env, use_gpu=True, module_name="slt", script_name="alpha",
                                        project_path="ltr/slt/alpha")
    ours = bridge.run_in_workspace(f"{plugin.name}.train_settings.slt.alpha", ws_settings)
    assert ours.ran == "alpha"
    assert (ours.module_name, ours.script_name, ours.project_path) == ("slt", "alpha", "ltr/slt/alpha")
    assert ours.env.workspace_dir == str(ws.workspace_dir)
    assert not hasattr(ws_settings, "ran")  # the workspace object is left alone


def test_find_weights_looks_in_the_workspace_first(ws, monkeypatch, tmp_path):
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(ws.root))
    monkeypatch.setenv("SLT_NETWORK_PATH", str(tmp_path / "ours"))
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "transt.pth").write_bytes(b"ours")
    assert weights.find_weights("transt.pth") == str(tmp_path / "ours" / "transt.pth")
    ws.network_path.mkdir()
    (ws.network_path / "transt.pth").write_bytes(b"workspace")
    assert weights.find_weights("transt.pth") == str(ws.network_path / "transt.pth")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "transt.pth").write_bytes(b"extra")
    assert weights.find_weights("transt.pth", extra_dirs=[extra]) == str(extra / "transt.pth")
    with pytest.raises(weights.WeightsNotFoundError) as info:
        weights.find_weights("slt_transt.pth", extra_dirs=[extra])
    message = str(info.value)
    for folder in (extra, ws.network_path, tmp_path / "ours"):
        assert str(folder) in message
    assert "github.com/byminji/SLTtrack" in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        weights.find_weights(str(tmp_path / "nope.pth"))


def test_resolve_weights_searches_the_settings_folders_first_and_takes_folders_when_asked(ws, monkeypatch, tmp_path):
    from types import SimpleNamespace
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(ws.root))
    ws.network_path.mkdir()
    (ws.network_path / "transt.pth").write_bytes(b"workspace")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "transt.pth").write_bytes(b"mine")
    settings = SimpleNamespace(pretrained_dir=str(mine), env=SimpleNamespace(pretrained_networks="", network_path=""))
    assert weights.settings_weight_dirs(settings) == [str(mine)]
    assert weights.resolve_weights("transt.pth", settings) == str(mine / "transt.pth")
    assert weights.resolve_weights("transt.pth") == str(ws.network_path / "transt.pth")
    with pytest.raises(weights.WeightsNotFoundError):
        weights.resolve_weights(str(mine))                    # a folder is not a weight file ...
    assert weights.resolve_weights(str(mine), allow_dir=True) == str(mine)  # ... unless a checkpoint folder is fine


# ----------------------------------------------------------------------------------------------
# end to end through the workspace's own entry points (subprocesses)
# ----------------------------------------------------------------------------------------------
def write_got10k_val(root: Path, num_seqs: int = 2, num_frames: int = 4) -> Dict[str, "object"]:
    """A tiny GOT-10k val split (pytracking layout): a bright square drifting over noise."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    val = root / "val"
    names, gts = [], {}
    for s in range(num_seqs):
        name = f"GOT-10k_Val_{s + 1:06d}"
        folder = val / name
        folder.mkdir(parents=True)
        boxes = []
        for f in range(num_frames):
            image = rng.integers(60, 120, size=(96, 128, 3), dtype=np.uint8)
            x, y = 30 + 4 * f + 10 * s, 28 + 2 * f
            image[y:y + 24, x:x + 20] = (230, 40, 40)
            cv2.imwrite(str(folder / f"{f + 1:08d}.jpg"), image)
            boxes.append([x, y, 20, 24])
        np.savetxt(folder / "groundtruth.txt", np.array(boxes, dtype=np.float64), delimiter=",", fmt="%.4f")
        names.append(name)
        gts[name] = np.array(boxes, dtype=np.float64)
    (val / "list.txt").write_text("\n".join(names) + "\n")
    return gts


BROKEN_PYTRACKING_LOCAL = "from pytracking.evaluation.environment import EnvSettings\n\ndef local_env_settings(:\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Install into a fresh skeleton and run `python ltr/run_training.py slt transt_slt_tiny` there once.

    During training the workspace's pytracking local.py is broken (our path resolution reads it): it must
    come out byte-identical. It is repaired afterwards for the tracking test.
    """
    base = tmp_path_factory.mktemp("e2e")
    ns = make_workspace(base)
    assert install(ns.root).ok
    pyt_local = ns.root / "pytracking/evaluation/local.py"
    good_pyt_local = pyt_local.read_bytes()
    pyt_local.write_text(BROKEN_PYTRACKING_LOCAL)
    ns.ltr_local_before = (ns.root / "ltr/admin/local.py").read_bytes()
    ns.cwd = base / "cwd"  # outputs must come from local.py, not from the cwd
    ns.cwd.mkdir()
    ns.env = subprocess_env(SLT_DEVICE="cpu", TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    ns.train = subprocess.run([sys.executable, str(ns.root / "ltr/run_training.py"), "slt", "transt_slt_tiny"],
                              cwd=ns.cwd, capture_output=True, text=True, timeout=600, env=ns.env)
    ns.pyt_local_after_training = pyt_local.read_text()
    pyt_local.write_bytes(good_pyt_local)
    ns.checkpoint_dir = ns.workspace_dir / "checkpoints" / "ltr" / "slt" / "transt_slt_tiny"
    return ns


def test_training_run_through_workspace_run_training(trained):
    log = trained.train.stdout + trained.train.stderr
    assert trained.train.returncode == 0, log
    assert "Training:  slt  transt_slt_tiny" in trained.train.stdout
    checkpoints = sorted(trained.checkpoint_dir.glob("TransT_ep*.pth.tar"))
    assert checkpoints and checkpoints[0].name == "TransT_ep0001.pth.tar", log
    assert trained.pyt_local_after_training == BROKEN_PYTRACKING_LOCAL
    assert (trained.root / "ltr/admin/local.py").read_bytes() == trained.ltr_local_before
    assert not list(trained.cwd.iterdir())
    assert check(trained.root).ok  # running left the shims intact (only __pycache__ was added)
    # the workspace's own ltr loader rebuilds our network from the constructor's dotted path
    code = textwrap.dedent(f"""
        import sys
        sys.path.append({str(trained.root)!r})
        from ltr.admin.loading import load_network
        net, ck = load_network({str(trained.checkpoint_dir)!r})  # folder: newest *.pth.tar
        st = ck['settings']
        print('LOADED', type(net).__module__, net.constructor.fun_module, net.constructor.fun_name)
        print('SETTINGS', type(st).__module__, st.project_path, st.env.workspace_dir)
        assert not any(m.startswith('ltr.models') for m in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=trained.cwd, capture_output=True, text=True,
                          timeout=120, env=trained.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "LOADED ltr_slt.models.tracking.transt ltr_slt.models.tracking.transt transt_tiny" in proc.stdout
    # our Settings (not the workspace's) is pickled, with the workspace's paths
    assert f"SETTINGS ltr_slt.admin.settings ltr/slt/transt_slt_tiny {trained.workspace_dir}" in proc.stdout


def test_tracking_run_through_workspace_run_tracker(trained):
    import numpy as np
    assert trained.train.returncode == 0, "training failed (see test_training_run_through_workspace_run_training)"
    gts = write_got10k_val(trained.got10k_path)
    # users copy trained nets into pytracking's network folder and name them by file name
    trained.network_path.mkdir(parents=True, exist_ok=True)
    newest = sorted(trained.checkpoint_dir.glob("TransT_ep*.pth.tar"))[-1]
    shutil.copy(newest, trained.network_path / "slt_tiny.pth.tar")
    env = dict(trained.env, SLT_TINY_NET="slt_tiny.pth.tar")  # a bare name: found via the workspace network_path
    proc = subprocess.run([sys.executable, str(trained.root / "pytracking/run_tracker.py"), "slt_transt",
                           "slt_transt_tiny", "--dataset_name", "got10k_val", "--threads", "0"],
                          cwd=trained.cwd, capture_output=True, text=True, timeout=300, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    results = trained.results_path / "slt_transt" / "slt_transt_tiny"
    for name, gt in gts.items():
        assert (results / f"{name}.txt").is_file(), log  # the runner prints (and swallows) tracker errors
        boxes = np.loadtxt(results / f"{name}.txt", delimiter="\t")
        assert boxes.shape == gt.shape
        assert np.array_equal(boxes[0], gt[0].astype(int))  # frame 0 = init box, truncated as pytracking does
        assert np.all(np.isfinite(boxes)) and np.all(boxes[:, 2:] > 0)
        assert np.loadtxt(results / f"{name}_time.txt").shape == (len(gt),)
    assert not list(trained.cwd.iterdir())
    # pytracking's own analysis code reads the results; pytracking's net loader finds our network by name
    code = textwrap.dedent(f"""
        import sys
        sys.path.append({str(trained.root)!r})
        from pytracking.evaluation import Tracker, get_dataset
        from pytracking.analysis.extract_results import load_tracker_boxes, average_overlap
        from pytracking.utils.loading import load_network
        trk = Tracker('slt_transt', 'slt_transt_tiny')
        for seq in get_dataset('got10k_val'):
            pred = load_tracker_boxes(trk, seq)
            assert pred.shape == seq.ground_truth_rect.shape
            assert 0.0 <= average_overlap(pred, seq.ground_truth_rect) <= 1.0
        net = load_network('slt_tiny.pth.tar')  # relative: joined with network_path, backbone_pretrained forced
        print('LOADED', net.constructor.fun_module, net.constructor.fun_name)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=trained.cwd, capture_output=True, text=True,
                          timeout=120, env=trained.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "LOADED ltr_slt.models.tracking.transt transt_tiny" in proc.stdout


# ----------------------------------------------------------------------------------------------
# issue 15: the tracker finds what training wrote; one-line errors; "Training:" once
# ----------------------------------------------------------------------------------------------
def _ensure_got10k_val(trained) -> Dict[str, "object"]:
    import numpy as np
    val = trained.got10k_path / "val"
    if not (val / "list.txt").is_file():
        return write_got10k_val(trained.got10k_path)
    return {p.name: np.loadtxt(p / "groundtruth.txt", delimiter=",") for p in sorted(val.iterdir()) if p.is_dir()}


def _workspace_run_tracker(trained, *args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(trained.env, **env)
    full_env.pop("SLT_TINY_NET", None)
    return subprocess.run([sys.executable, str(trained.root / "pytracking/run_tracker.py"), *args],
                          cwd=trained.cwd, capture_output=True, text=True, timeout=300, env=full_env)


def _assert_tracked_with(proc: subprocess.CompletedProcess, param: str, newest: Path, train_name: str) -> None:
    """The run succeeded and named, once, the newest checkpoint of ``slt <train_name>`` as its network
    (although parameters() runs once per sequence)."""
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    used = f"{param}: using {newest} (newest checkpoint of training run slt {train_name})"
    assert proc.stderr.count(used) == 1, log


def test_training_line_is_printed_once(trained):
    assert trained.train.returncode == 0, trained.train.stdout + trained.train.stderr
    assert trained.train.stdout.count("Training:") == 1, trained.train.stdout


def test_tracker_finds_the_checkpoint_training_just_wrote(trained):
    """No net_path, no $SLT_TINY_NET, nothing copied to network_path: the newest epoch of
    checkpoints/ltr/slt/transt_slt_tiny/ is used, and the file used is named once."""
    assert trained.train.returncode == 0, "training failed (see test_training_run_through_workspace_run_training)"
    gts = _ensure_got10k_val(trained)
    newest = sorted(trained.checkpoint_dir.glob("TransT_ep*.pth.tar"))[-1]
    proc = _workspace_run_tracker(trained, "slt_transt", "slt_transt_tiny", "--dataset_name", "got10k_val",
                                  "--runid", "7")
    _assert_tracked_with(proc, "slt_transt_tiny", newest, "transt_slt_tiny")
    log = proc.stdout + proc.stderr
    results = trained.results_path / "slt_transt" / "slt_transt_tiny_007"
    for name, gt in gts.items():
        assert (results / f"{name}.txt").is_file(), log
    assert not list(trained.cwd.iterdir())


def test_tracker_without_any_network_exits_non_zero_in_one_line(trained):
    """transt_tiny was never trained in this workspace: one error line, exit code 1, nothing written."""
    assert trained.train.returncode == 0
    _ensure_got10k_val(trained)
    proc = _workspace_run_tracker(trained, "transt", "transt_tiny", "--dataset_name", "got10k_val")
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    expected_dir = trained.workspace_dir / "checkpoints" / "ltr" / "transt" / "transt_tiny"
    assert errors == [f"error: transt_tiny: no network to track with: no net_path given, $SLT_TINY_NET not set, "
                      f"no *_epNNNN.pth.tar in {expected_dir}; train it with `python ltr/run_training.py transt "
                      f"transt_tiny` (or slt-train), or pass net_path=<file or checkpoint folder>"], proc.stderr
    assert not (trained.results_path / "transt").exists()


def test_training_shim_errors_are_the_cli_error_lines(trained, tmp_path):
    """Missing transt.pth through the workspace's ltr/run_training.py: slt-train's `error:` message, no traceback."""
    proc = subprocess.run([sys.executable, str(trained.root / "ltr/run_training.py"), "slt", "transt_slt"],
                          cwd=trained.cwd, capture_output=True, text=True, timeout=300, env=trained.env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: network file 'transt.pth' not found. Looked in:"), proc.stderr
    assert proc.stdout.count("Training:") == 1
    ours = subprocess.run([sys.executable, "-m", "ltr_slt.run_training", "slt", "transt_slt", "--workspace",
                           str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=trained.env)
    assert ours.returncode == 1 and ours.stderr.splitlines()[0] == proc.stderr.splitlines()[0]


def test_training_shim_reports_a_missing_dataset_in_one_line(trained):
    """transt.pth is there (an empty placeholder: datasets are checked before it is read) but the
    workspace's ltr/admin/local.py names no LaSOT folder: one `error:` line, no traceback."""
    pretrained = trained.workspace_dir / "pretrained_networks"
    pretrained.mkdir(parents=True, exist_ok=True)
    placeholder = pretrained / "transt.pth"
    placeholder.write_bytes(b"")
    try:
        proc = subprocess.run([sys.executable, str(trained.root / "ltr/run_training.py"), "slt", "transt_slt"],
                              cwd=trained.cwd, capture_output=True, text=True, timeout=300, env=trained.env)
    finally:
        placeholder.unlink()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "LaSOT root is not configured" in errors[0], proc.stderr


# ----------------------------------------------------------------------------------------------
# issue 11: SLT-TrDiMP inside a workspace (tiny network)
# ----------------------------------------------------------------------------------------------
def test_trdimp_slt_tiny_trains_and_tracks_through_the_workspace(tmp_path):
    """`python ltr/run_training.py slt trdimp_slt_tiny`, then `python pytracking/run_tracker.py slt_trdimp
    slt_trdimp_tiny`: no net_path, no $SLT_TINY_DIMP_NET, nothing copied: the tracker finds the newest
    epoch that training wrote to checkpoints/ltr/slt/trdimp_slt_tiny/ and names it once. Before training,
    the same command fails in one `error:` line."""
    import numpy as np
    ns = make_workspace(tmp_path)
    assert install(ns.root).ok
    for rel in ("ltr/train_settings/slt/trdimp_slt.py", "ltr/train_settings/slt/trdimp_slt_tiny.py",
                "ltr/train_settings/slt/super_dimp_slt_tiny.py", "ltr/train_settings/slt/dimp_slt_tiny.py",
                "pytracking/parameter/slt_trdimp/slt_trdimp_tiny.py"):
        assert (ns.root / rel).is_file(), rel
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = subprocess_env(SLT_DEVICE="cpu", TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    env.pop("SLT_TINY_DIMP_PRETRAINED", None)
    env.pop("SLT_TINY_DIMP_NET", None)
    gts = write_got10k_val(ns.got10k_path)
    track_cmd = [sys.executable, str(ns.root / "pytracking/run_tracker.py"), "slt_trdimp", "slt_trdimp_tiny",
                 "--dataset_name", "got10k_val", "--threads", "0"]
    ckpt_dir = ns.workspace_dir / "checkpoints" / "ltr" / "slt" / "trdimp_slt_tiny"
    untrained = subprocess.run(track_cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    errors = [line for line in untrained.stderr.splitlines() if line.strip()]
    assert untrained.returncode == 1, untrained.stdout + untrained.stderr
    assert errors == [f"error: slt_trdimp_tiny: no network to track with: no net_path given, $SLT_TINY_DIMP_NET not "
                      f"set, no *_epNNNN.pth.tar in {ckpt_dir}; train it with `python ltr/run_training.py slt "
                      f"trdimp_slt_tiny` (or slt-train), or pass net_path=<file or checkpoint folder>"], \
        untrained.stderr
    assert not (ns.results_path / "slt_trdimp").exists()
    train = subprocess.run([sys.executable, str(ns.root / "ltr/run_training.py"), "slt", "trdimp_slt_tiny"],
                           cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    log = train.stdout + train.stderr
    assert train.returncode == 0, log
    assert train.stdout.count("Training:  slt  trdimp_slt_tiny") == 1
    newest = ckpt_dir / "TrDiMPnet_ep0001.pth.tar"
    assert newest.is_file(), log
    track = subprocess.run(track_cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    _assert_tracked_with(track, "slt_trdimp_tiny", newest, "trdimp_slt_tiny")
    log = track.stdout + track.stderr
    results = ns.results_path / "slt_trdimp" / "slt_trdimp_tiny"
    for name, gt in gts.items():
        assert (results / f"{name}.txt").is_file(), log
        boxes = np.loadtxt(results / f"{name}.txt", delimiter="\t")
        assert boxes.shape == gt.shape and np.all(np.isfinite(boxes))
        assert np.array_equal(boxes[0], gt[0].astype(int))
    assert not list(cwd.iterdir())
