"""crop_windows: the CPU path is the official crop bit for bit, the separable torch path (the GPU path) agrees with it,
per-window scales, channels_last output, fused normalisation, input errors."""
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


def test_cpu_path_is_the_official_crop_bit_for_bit():
    """The CPU path pads only the window, but gives exactly the official whole-frame-padding result."""
    from test_crop import CASES, _image, reference_crop

    im = _image(120, 160, 0)
    fill = channel_mean_fill([im])[0]
    for cx, cy, sz, out in CASES:
        ref = reference_crop(im, (cx, cy), out, sz, fill.numpy().astype(np.uint8))
        got = crop_windows([im], torch.tensor([[cx, cy]], dtype=torch.float64), torch.tensor([float(sz)]), out, fill)
        assert np.array_equal(got[0].permute(1, 2, 0).numpy(), ref), (cx, cy, sz, out)


def test_per_window_scales_from_one_frame_multiscale():
    """DiMP-style multiscale sampling: one frame, several window sides, one call (both paths)."""
    im = _image(150, 200, 5)
    scales = torch.tensor([0.8, 1.0, 1.25, 3.0])
    sides = torch.round(96 * scales)
    centers = torch.tensor([[100.3, 70.8]], dtype=torch.float64).expand(4, 2)
    index = torch.zeros(4, dtype=torch.long)
    fill = torch.tensor([10.0, 20.0, 30.0])
    batch = crop_windows([im], centers, sides, 64, fill, index)
    dev = crop_windows([im], centers, sides, 64, fill, index, backend="torch")
    for b in range(4):
        single = crop_windows([im], centers[b:b + 1], sides[b:b + 1], 64, fill)
        assert torch.equal(batch[b], single[0])
    assert (dev.int() - batch.int()).abs().max() <= 2


def test_plain_sequences_are_accepted_and_bad_input_named():
    im = _image(40, 50, 6)
    a = crop_windows([im], [[20.0, 20.0]], [30.0], 32, [1.0, 2.0, 3.0])
    b = crop_windows([im], torch.tensor([[20.0, 20.0]]), torch.tensor([30.0]), 32, torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="crop sizes must be >= 1"):
        crop_windows([im], [[20.0, 20.0]], [0.0], 32, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"centers must be \[B, 2\]"):
        crop_windows([im], [[20.0, 20.0, 1.0]], [30.0], 32, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="crop_sizes must be"):
        crop_windows([im], [[20.0, 20.0]], [30.0, 31.0], 32, [0.0, 0.0, 0.0])


def test_normalize_fused_pass_matches_step_by_step_and_keeps_layout():
    from ltr_slt.data.crop import IMAGENET_MEAN, IMAGENET_STD, normalize_crops

    crops = crop_windows([_image(120, 160, 7)] * 2, torch.tensor([[60.0, 50.0], [90.0, 70.0]]),
                         torch.tensor([90.0, 140.0]), 64, torch.zeros(3))
    assert crops.is_contiguous(memory_format=torch.channels_last)  # the conv-friendly layout
    m = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    ref = ((crops.float() / 255.0).clamp(0, 1) - m) / s
    x = normalize_crops(crops)
    assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)
    assert (x - ref).abs().max() <= 5e-7
    buf = torch.empty_strided(crops.shape, crops.stride())
    y = normalize_crops(crops, out=buf)
    assert y.data_ptr() == buf.data_ptr() and torch.equal(x, y)
    assert torch.equal(normalize_crops(crops.float()), ref)  # float crops: the step-by-step path
    with pytest.raises(ValueError, match="out must be float32"):
        normalize_crops(crops, out=torch.empty(1, 3, 64, 64))
