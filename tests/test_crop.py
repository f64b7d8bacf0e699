"""Batched device crop vs the official numpy + cv2 SiamRPN-style crop (ltr_slt.data.crop)."""
import math

import cv2
import numpy as np
import pytest
import torch

from ltr_slt.data.crop import (FrameBuffer, channel_mean_fill, crop_side, crop_windows, image_to_crop,
                               normalize_crops, window_corners)


def reference_crop(im, pos, model_sz, original_sz, avg_chans):
    """The official get_subwindow, written from its description: pad with the mean, slice, cv2.resize."""
    sz = original_sz
    c = (original_sz + 1) / 2
    xmin = math.floor(pos[0] - c + 0.5)
    ymin = math.floor(pos[1] - c + 0.5)
    xmax, ymax = xmin + sz - 1, ymin + sz - 1
    h, w = im.shape[:2]
    left, top = max(0, -xmin), max(0, -ymin)
    right, bottom = max(0, xmax - w + 1), max(0, ymax - h + 1)
    padded = np.zeros((h + top + bottom, w + left + right, 3), np.uint8)
    padded[:] = avg_chans  # uint8 buffer: the means are truncated
    padded[top:top + h, left:left + w] = im
    patch = padded[ymin + top:ymax + top + 1, xmin + left:xmax + left + 1]
    if model_sz != original_sz:
        patch = cv2.resize(patch, (model_sz, model_sz))
    return patch


def _image(h, w, seed):
    rng = np.random.default_rng(seed)
    im = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.GaussianBlur(im, (7, 7), 2.0)  # smooth like a real image, but with texture


CASES = [  # (cx, cy, crop_sz, out_size): in-image up/down, partly outside, far outside, identity
    (80.0, 60.0, 64, 128),
    (80.4, 59.6, 101, 128),
    (80.0, 60.0, 150, 128),
    (80.0, 60.0, 256, 128),  # exact 2x downscale (cv2 switches to INTER_AREA: same values)
    (10.3, 5.7, 90, 256),
    (150.0, 110.0, 57, 256),
    (-20.0, 130.0, 77, 256),
    (80.0, 60.0, 128, 128),  # no resize
    (400.0, 400.0, 50, 64),  # entirely outside: all fill
]


def test_matches_cv2_reference_within_fixed_point_rounding():
    im = _image(120, 160, 0)
    fill = channel_mean_fill([im])[0]
    diffs = []
    for cx, cy, sz, out in CASES:
        ref = reference_crop(im, (cx, cy), out, sz, fill.numpy().astype(np.uint8))
        got = crop_windows([torch.from_numpy(im)], torch.tensor([[cx, cy]], dtype=torch.float64),
                           torch.tensor([float(sz)]), out, fill)
        assert got.shape == (1, 3, out, out) and got.dtype == torch.uint8
        d = np.abs(got[0].permute(1, 2, 0).numpy().astype(int) - ref.astype(int))
        if sz == out:
            assert d.max() == 0, (cx, cy, sz, out)
        assert d.max() <= 2, (cx, cy, sz, out, d.max())
        assert d.mean() < 0.15, (cx, cy, sz, out, d.mean())
        diffs.append(d.mean())
    assert np.mean(diffs) < 0.1


def test_batch_of_different_images_equals_single_crops_and_shares_frames():
    ims = [_image(90, 130, 1), _image(140, 100, 2), _image(60, 60, 3)]
    fills = channel_mean_fill(ims)
    centers = torch.tensor([[20.0, 30.0], [50.0, 120.0], [30.0, 30.0], [129.0, 0.0]], dtype=torch.float64)
    sizes = torch.tensor([70.0, 200.0, 33.0, 128.0])
    index = torch.tensor([0, 1, 2, 0])
    batch = crop_windows([torch.from_numpy(i) for i in ims], centers, sizes, 96, fills[index], image_index=index)
    for b in range(4):
        k = int(index[b])
        single = crop_windows([ims[k]], centers[b:b + 1], sizes[b:b + 1], 96, fills[k])
        assert torch.equal(batch[b], single[0])
        ref = reference_crop(ims[k], centers[b].tolist(), 96, int(sizes[b]), fills[k].numpy().astype(np.uint8))
        assert np.abs(batch[b].permute(1, 2, 0).numpy().astype(int) - ref.astype(int)).mean() < 0.15
    with pytest.raises(ValueError, match="image_index"):
        crop_windows([ims[0]], centers, sizes, 96, fills[0])


def test_float_output_is_unrounded_bilinear():
    im = _image(50, 70, 4)
    args = ([im], torch.tensor([[30.0, 20.0]]), torch.tensor([41.0]), 100, torch.tensor([1.0, 2.0, 3.0]))
    f = crop_windows(*args, out_dtype=torch.float32)
    u = crop_windows(*args)
    assert f.dtype == torch.float32
    # uint8 on the CPU is cv2's 11-bit fixed-point resize: within 1 gray level of the exact value
    assert (f.round() - u.float()).abs().max() <= 1
    assert (f != f.round()).any()  # genuinely interpolated


def test_fill_colour_outside_the_image():
    im = np.full((20, 20, 3), 200, np.uint8)
    out = crop_windows([im], torch.tensor([[10.0, 10.0]]), torch.tensor([60.0]), 60, torch.tensor([7.0, 8.0, 9.0]))
    assert out[0, :, 0, 0].tolist() == [7, 8, 9]
    assert out[0, :, 30, 30].tolist() == [200, 200, 200]


def test_crop_side_and_corners():
    size = torch.tensor([[40.0, 20.0], [10.0, 10.0]], dtype=torch.float64)
    for f in (2.0, 4.0):
        for (w, h), s in zip(size.tolist(), crop_side(size, f).tolist()):
            p = (f - 1) * (w + h) / 2
            assert s == math.ceil(math.sqrt((w + p) * (h + p)))
    assert crop_side(size, 2.0).tolist() == [math.ceil(math.sqrt(70 * 50)), 20.0]
    corners = window_corners(torch.tensor([[10.0, 10.5]]), torch.tensor([4.0]))
    assert corners.tolist() == [[math.floor(10 - 2.5 + 0.5), math.floor(10.5 - 2.5 + 0.5)]]


def test_channel_mean_fill_truncates_exactly():
    im = np.zeros((2, 2, 3), np.uint8)
    im[..., 0] = [[1, 2], [2, 2]]  # mean 1.75 -> 1
    im[..., 1] = 255
    im[..., 2] = [[3, 3], [3, 3]]
    fill = channel_mean_fill([im, torch.from_numpy(im)])
    assert fill.dtype == torch.float32 and fill.tolist() == [[1, 255, 3]] * 2
    assert torch.equal(FrameBuffer.from_images([im]).channel_means(), fill[:1])


def test_image_to_crop_and_normalize():
    boxes = torch.tensor([[90.0, 40.0, 20.0, 10.0]])
    out = image_to_crop(boxes, torch.tensor([[100.0, 50.0]]), torch.tensor([128.0]), 256)
    assert torch.allclose(out, torch.tensor([[108.0, 108.0, 40.0, 20.0]]))
    crops = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    x = normalize_crops(crops)
    assert x.dtype == torch.float32
    assert torch.allclose(x[0, :, 0, 0], -torch.tensor([0.485, 0.456, 0.406]) / torch.tensor([0.229, 0.224, 0.225]))


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="image 1: expected an HxWx3 uint8"):
        FrameBuffer.from_images([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)])
    with pytest.raises(ValueError, match="uint8"):
        FrameBuffer.from_images([np.zeros((4, 4, 3), np.float32)])
    with pytest.raises(ValueError, match="crop sizes"):
        crop_windows([np.zeros((4, 4, 3), np.uint8)], torch.zeros(1, 2), torch.tensor([0.0]), 8, torch.zeros(3))
