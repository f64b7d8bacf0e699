"""Image loading: backend choice + fallback, RGB order, and loud failures naming the file."""
from __future__ import annotations

import logging
import sys
import types

import cv2
import numpy as np
import pytest

from ltr_slt.data import image_loader as il


@pytest.fixture(autouse=True)
def _reset_backend(monkeypatch):
    monkeypatch.delenv("SLT_IMAGE_BACKEND", raising=False)
    il.set_image_backend(None)
    yield
    il.set_image_backend(None)


def _write_jpeg(path, h=24, w=32):
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (250, 10, 10)    # red left half
    rgb[:, w // 2:] = (10, 10, 250)    # blue right half
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return rgb


def _fake_jpeg4py(broken: bool) -> types.ModuleType:
    """A stand-in jpeg4py: decodes via OpenCV (RGB) or fails like a missing libturbojpeg."""
    mod = types.ModuleType("jpeg4py")

    class JPEG:
        calls = 0

        def __init__(self, source):
            self.source = source

        def decode(self):
            if broken:
                raise OSError("libturbojpeg.so.0: cannot open shared object file")
            JPEG.calls += 1
            bgr = cv2.imdecode(np.asarray(self.source), cv2.IMREAD_COLOR)
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    mod.JPEG = JPEG
    return mod


def _assert_rgb_image(img, ref):
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == ref.shape
    assert np.abs(img.astype(int) - ref.astype(int)).mean() < 6     # JPEG loss only, channel order RGB


def test_opencv_loader_returns_rgb(tmp_path):
    ref = _write_jpeg(tmp_path / "a.jpg")
    _assert_rgb_image(il.opencv_loader(tmp_path / "a.jpg"), ref)


def test_grayscale_and_png_become_hxwx3(tmp_path):
    gray = np.full((10, 12), 77, np.uint8)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    for loader in (il.opencv_loader, il.default_image_loader, il.jpeg4py_loader_w_failsafe):
        img = loader(str(tmp_path / "g.png"))
        assert img.shape == (10, 12, 3) and img.dtype == np.uint8 and (img == 77).all()


def test_fallback_when_jpeg4py_missing(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "jpeg4py", None)   # import jpeg4py -> ImportError
    ref = _write_jpeg(tmp_path / "a.jpg")
    with caplog.at_level(logging.INFO, logger=il.__name__):
        img = il.default_image_loader(tmp_path / "a.jpg")
    assert il.image_backend() == "opencv"
    assert "jpeg4py not importable" in il.image_backend_reason()
    assert any("image backend: opencv" in r.getMessage() for r in caplog.records)
    _assert_rgb_image(img, ref)


def test_fallback_when_libturbojpeg_broken(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jpeg4py", _fake_jpeg4py(broken=True))
    ref = _write_jpeg(tmp_path / "a.jpg")
    _assert_rgb_image(il.default_image_loader(tmp_path / "a.jpg"), ref)
    assert il.image_backend() == "opencv"
    assert "libturbojpeg" in il.image_backend_reason()
    # the failsafe loader also survives a broken jpeg4py
    _assert_rgb_image(il.jpeg4py_loader_w_failsafe(tmp_path / "a.jpg"), ref)
    with pytest.raises(RuntimeError, match="jpeg4py"):
        il.set_image_backend("jpeg4py")


def test_jpeg4py_chosen_when_it_works_and_choice_is_made_once(tmp_path, monkeypatch):
    fake = _fake_jpeg4py(broken=False)
    monkeypatch.setitem(sys.modules, "jpeg4py", fake)
    ref = _write_jpeg(tmp_path / "a.jpg")
    assert il.image_backend() == "jpeg4py"
    before = fake.JPEG.calls
    _assert_rgb_image(il.default_image_loader(tmp_path / "a.jpg"), ref)
    assert fake.JPEG.calls == before + 1          # really decoded by the jpeg4py backend
    monkeypatch.setitem(sys.modules, "jpeg4py", None)   # breaking it later does not re-select
    assert il.image_backend() == "jpeg4py"


def test_env_var_forces_opencv(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "jpeg4py", _fake_jpeg4py(broken=False))
    monkeypatch.setenv("SLT_IMAGE_BACKEND", "opencv")
    assert il.image_backend() == "opencv"


@pytest.mark.parametrize("loader", [il.default_image_loader, il.opencv_loader, il.jpeg4py_loader_w_failsafe])
def test_missing_file_raises_naming_it(tmp_path, loader):
    path = tmp_path / "nope" / "00000001.jpg"
    with pytest.raises(il.ImageReadError, match="00000001.jpg") as info:
        loader(path)
    assert "does not exist" in str(info.value) and str(path) in str(info.value)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize("loader", [il.default_image_loader, il.opencv_loader, il.jpeg4py_loader_w_failsafe])
def test_truncated_jpeg_raises(tmp_path, loader):
    _write_jpeg(tmp_path / "a.jpg", 64, 64)
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(il.ImageReadError, match=r"cut\.jpg.*truncated"):
        loader(tmp_path / "cut.jpg")


@pytest.mark.parametrize("content,reason", [(b"", "empty"), (b"this is not an image at all", "no image")])
def test_empty_and_garbage_files_raise(tmp_path, content, reason):
    (tmp_path / "bad.jpg").write_bytes(content)
    with pytest.raises(il.ImageReadError, match=reason):
        il.default_image_loader(tmp_path / "bad.jpg")


def test_corrupt_jpeg_body_raises(tmp_path):
    # SOI ... EOI present but garbage in between: decoder must fail loudly, not return None
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8" + b"\x00" * 200 + b"\xff\xd9")
    with pytest.raises(il.ImageReadError, match="bad.jpg"):
        il.default_image_loader(tmp_path / "bad.jpg")
