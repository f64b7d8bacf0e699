"""Shared file helpers: atomic text/bytes writes (no temp file left, old file kept on failure), list files."""
from __future__ import annotations

import os

import pytest

from ltr_slt.admin.fileio import atomic_write, atomic_write_bytes, atomic_write_text, read_list_file


def test_atomic_text_and_bytes_writes_replace_the_file(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "one\ntwo\n", newline="\n")
    assert path.read_bytes() == b"one\ntwo\n"
    atomic_write_bytes(str(path), b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("good")

    def half_then_fail(handle):
        handle.write(b"partial")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "good"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_read_list_file_skips_comments_blanks_bom_and_extra_columns(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes("\ufeffairplane-1\n\n# comment\n  bird-2 , 17 \ncat-3 # trailing\n".encode("utf-8"))
    assert read_list_file(path) == ["airplane-1", "bird-2", "cat-3"]
