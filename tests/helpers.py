"""Helpers shared by several test files (not collected: no ``test_`` prefix)."""
from __future__ import annotations

import os


def isolate_slt_env(monkeypatch, tmp_path) -> None:
    """Drop every ``SLT_*`` variable of the caller's shell and point ``SLT_CONFIG`` at a missing file,
    so path resolution only sees what the test sets."""
    for key in list(os.environ):
        if key.startswith("SLT_") and key != "SLT_CONFIG":
            monkeypatch.delenv(key)
    monkeypatch.setenv("SLT_CONFIG", str(tmp_path / "no_config.json"))
