"""Frame decoding: always HxWx3 RGB uint8, never a silent ``None``.

Backends: ``jpeg4py`` (libturbojpeg, fastest for JPEG) when the python package imports *and* a
probe image decodes, else OpenCV. The choice is made once, lazily, on the first frame, logged at
INFO, and readable with :func:`image_backend`. Override with ``SLT_IMAGE_BACKEND=opencv|jpeg4py``
or :func:`set_image_backend` (e.g. for benchmarks).

Why not ltr's loaders as they are: they print an error and return ``None`` for an unreadable frame,
which surfaces much later as an unrelated crash, and a truncated JPEG decodes "successfully" to a
half-grey image. Here every loader reads the file bytes once, and raises :class:`ImageReadError`
(naming the file) when it is missing, empty, not decodable, or a JPEG without its end-of-image
marker (truncated download). Non-JPEG frames (PNG, BMP, ...) always go through OpenCV.

Names mirror ltr (``jpeg4py_loader``, ``opencv_loader``, ``jpeg4py_loader_w_failsafe``,
``default_image_loader``) so code written for ltr datasets can pass them as ``image_loader``.
All are module-level functions, hence picklable for spawn DataLoader workers.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Callable, Optional, Union

import cv2
import numpy as np

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

BACKENDS = ("jpeg4py", "opencv")
_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_EOI_SEARCH_BYTES = 4096   # a valid JPEG may carry a little padding / trailer after its EOI marker

_backend: Optional[str] = None
_backend_reason: str = ""
_lock = threading.Lock()


class ImageReadError(OSError):
    """A frame could not be read; the message names the file and the reason."""

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f'cannot read image "{self.path}": {reason}')


# --------------------------------------------------------------------------------------------
# backend selection
# --------------------------------------------------------------------------------------------
def _probe_jpeg4py() -> str:
    """Return '' when jpeg4py decodes a real JPEG here, else why not (import or libturbojpeg)."""
    try:
        import jpeg4py  # noqa: F401  (optional extra)
    except Exception as err:  # ImportError, or OSError from a broken install
        return f"jpeg4py not importable ({type(err).__name__}: {err})"
    try:
        init = getattr(jpeg4py, "initialize", None)
        if callable(init):
            init()   # loads libturbojpeg; fails here cleanly instead of inside a half-built JPEG object
        probe_bgr = np.zeros((8, 8, 3), np.uint8)
        probe_bgr[:, :4] = (0, 0, 255)   # red, in OpenCV's BGR order
        ok, buf = cv2.imencode(".jpg", probe_bgr)
        if not ok:
            return "could not encode the probe JPEG"
        out = jpeg4py.JPEG(np.frombuffer(buf.tobytes(), np.uint8)).decode()
        if out is None or out.shape != (8, 8, 3) or out.dtype != np.uint8:
            return f"jpeg4py probe decode returned {None if out is None else out.shape}"
        if int(out[0, 0, 0]) < 128:   # channel order must be RGB
            return "jpeg4py probe decode returned a non-RGB image"
    except Exception as err:  # libturbojpeg missing -> OSError / AttributeError inside jpeg4py
        return f"libturbojpeg not usable ({type(err).__name__}: {err})"
    return ""


def _select_backend() -> str:
    global _backend, _backend_reason
    with _lock:
        if _backend is not None:
            return _backend
        wanted = os.environ.get("SLT_IMAGE_BACKEND", "").strip().lower()
        if wanted and wanted not in BACKENDS:
            logger.warning("SLT_IMAGE_BACKEND=%r is not one of %s; choosing automatically", wanted, BACKENDS)
            wanted = ""
        if wanted == "opencv":
            _backend, _backend_reason = "opencv", "requested by SLT_IMAGE_BACKEND"
        else:
            why_not = _probe_jpeg4py()
            if not why_not:
                _backend, _backend_reason = "jpeg4py", "jpeg4py + libturbojpeg work"
            else:
                _backend, _backend_reason = "opencv", why_not
                if wanted == "jpeg4py":
                    logger.warning("SLT_IMAGE_BACKEND=jpeg4py requested but unusable: %s", why_not)
        logger.info("image backend: %s (%s)", _backend, _backend_reason)
        return _backend


def image_backend() -> str:
    """The active JPEG backend ('jpeg4py' or 'opencv'); selects it on first call."""
    return _select_backend()


def image_backend_reason() -> str:
    """Why the active backend was chosen (e.g. why jpeg4py was not usable)."""
    _select_backend()
    return _backend_reason


def set_image_backend(name: Optional[str]) -> None:
    """Force a backend ('jpeg4py' / 'opencv'), or ``None`` to re-run the automatic choice lazily."""
    global _backend, _backend_reason
    if name is not None and name not in BACKENDS:
        raise ValueError(f"image backend must be one of {BACKENDS}, got {name!r}")
    if name == "jpeg4py":
        why_not = _probe_jpeg4py()
        if why_not:
            raise RuntimeError(f"cannot use the jpeg4py image backend: {why_not}")
    with _lock:
        _backend = name
        _backend_reason = "set explicitly" if name else ""


# --------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------
def _read_bytes(path: PathLike) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ImageReadError(path, "file does not exist") from None
    except OSError as err:
        raise ImageReadError(path, f"{type(err).__name__}: {err}") from err
    if not data:
        raise ImageReadError(path, "file is empty")
    if data[:2] == _JPEG_SOI and _JPEG_EOI not in data[-_EOI_SEARCH_BYTES:]:
        raise ImageReadError(path, "truncated JPEG (no end-of-image marker)")
    return np.frombuffer(data, np.uint8)


def _as_rgb(image: Optional[np.ndarray], path: PathLike, bgr: bool) -> np.ndarray:
    if image is None or image.size == 0:
        raise ImageReadError(path, "decoder returned no image (corrupt or unsupported format)")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    if bgr:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.dtype != np.uint8:
        image = image.astype(np.uint8)
    return np.ascontiguousarray(image)  # [H, W, 3] uint8 RGB


def _decode_opencv(buf: np.ndarray, path: PathLike) -> np.ndarray:
    return _as_rgb(cv2.imdecode(buf, cv2.IMREAD_COLOR), path, bgr=True)


def _decode_jpeg4py(buf: np.ndarray, path: PathLike) -> np.ndarray:
    import jpeg4py
    try:
        image = jpeg4py.JPEG(buf).decode()
    except Exception as err:
        raise ImageReadError(path, f"jpeg4py: {type(err).__name__}: {err}") from err
    return _as_rgb(image, path, bgr=False)


def opencv_loader(path: PathLike) -> np.ndarray:
    """Decode any format OpenCV knows -> [H, W, 3] RGB uint8; raises :class:`ImageReadError`."""
    return _decode_opencv(_read_bytes(path), path)


def jpeg4py_loader(path: PathLike) -> np.ndarray:
    """Decode with jpeg4py (JPEG only; other formats fall to OpenCV) -> [H, W, 3] RGB uint8."""
    buf = _read_bytes(path)
    if buf[:2].tobytes() != _JPEG_SOI:
        return _decode_opencv(buf, path)
    return _decode_jpeg4py(buf, path)


def jpeg4py_loader_w_failsafe(path: PathLike) -> np.ndarray:
    """jpeg4py first, OpenCV if jpeg4py fails for this file (e.g. an unusual JPEG flavour)."""
    buf = _read_bytes(path)
    if buf[:2].tobytes() == _JPEG_SOI:
        try:
            return _decode_jpeg4py(buf, path)
        except ImportError:
            pass
        except ImageReadError as err:
            logger.debug("jpeg4py failed on %s (%s); trying OpenCV", path, err.reason)
    return _decode_opencv(buf, path)


def default_image_loader(path: PathLike) -> np.ndarray:
    """The loader datasets use by default: the backend chosen once by :func:`image_backend`."""
    buf = _read_bytes(path)
    if _select_backend() == "jpeg4py" and buf[:2].tobytes() == _JPEG_SOI:
        return _decode_jpeg4py(buf, path)
    return _decode_opencv(buf, path)


imread: Callable[[PathLike], np.ndarray] = default_image_loader
