"""The batched separable torch crop (the GPU path) agrees with the CPU cv2 path."""
import numpy as np
import pytest
import torch

from ltr_slt.data.crop import FrameBuffer, channel_mean_fill, crop_windows


def _image(h, w, seed):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("side,out", [(256, 256), (300, 256), (90, 256), (600, 256), (1200, 256), (2240, 256),
                                      (57, 128), (77, 64)])
def test_torch_path_within_one_gray_level_of_cv2(side, out):
    ims = [_image(120, 160, 0), _image(200, 90, 1)]
    fills = channel_mean_fill(ims)
    centers = torch.tensor([[80.4, 59.6], [-20.0, 130.0], [30.0, 190.0]], dtype=torch.float64)
    index = torch.tensor([0, 1, 1])
    sizes = torch.full((3,), float(side))
    buf = FrameBuffer.from_images(ims)
    ref = crop_windows(buf, centers, sizes, out, fills[index], index)          # cv2 per window
    got = crop_windows(buf, centers, sizes, out, fills[index], index, backend="torch")
    assert got.shape == ref.shape == (3, 3, out, out) and got.dtype == torch.uint8
    d = (got.int() - ref.int()).abs()
    assert d.max() <= 2 and d.float().mean() < 0.15
    if side == out:
        assert d.max() == 0


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="backend"):
        crop_windows([_image(8, 8, 0)], torch.zeros(1, 2), torch.tensor([4.0]), 8, torch.zeros(3), backend="x")
