"""Precise RoI pooling: closed form vs hand integrals, a brute-force integral and the original kernel's rules."""
import pytest
import torch
import torch.nn.functional as Fn

from ltr_slt.models.layers import PrRoIPool2D as PrRoIPool2DReexport
from ltr_slt.models.layers.prroi_pool import PrRoIPool2D, prroi_pool2d

D = torch.float64


def _surface(feat: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear surface with zeros outside, at points (x[Nx], y[Ny]) -> [C, Ny, Nx] (via grid_sample)."""
    C, H, W = feat.shape
    gy, gx = torch.meshgrid(2 * y / (H - 1) - 1, 2 * x / (W - 1) - 1, indexing="ij")
    grid = torch.stack((gx, gy), -1)[None]
    return Fn.grid_sample(feat[None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]


def _midpoint_reference(features, rois, ph, pw, scale, n=64):
    """Independent reference: dense midpoint-rule average of the bilinear surface over each bin."""
    out = []
    for roi in rois:
        b = int(roi[0])
        x1, y1, x2, y2 = (roi[1:] * scale).tolist()
        bw, bh = max(x2 - x1, 0) / pw, max(y2 - y1, 0) / ph
        if bw * bh == 0:
            out.append(features.new_zeros(features.shape[1], ph, pw))
            continue
        u = (torch.arange(pw * n, dtype=D) + 0.5) / n  # in bin units
        v = (torch.arange(ph * n, dtype=D) + 0.5) / n
        s = _surface(features[b], x1 + u * bw, y1 + v * bh)  # [C, ph*n, pw*n]
        out.append(s.reshape(-1, ph, n, pw, n).mean(dim=(2, 4)))
    return torch.stack(out) if out else features.new_zeros(0, features.shape[1], ph, pw)


def test_hand_integrals_on_2x2_map():
    feat = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=D)  # f(x, y) = 1 + x + 2y on the cell
    cases = {(0, 0, 1, 1): 2.5, (0, 0, 0.5, 0.5): 1.75, (-1, 0, 0, 1): 1.0, (1, 0, 2, 1): 1.5}
    for (x1, y1, x2, y2), expected in cases.items():
        out = prroi_pool2d(feat, torch.tensor([[0, x1, y1, x2, y2]], dtype=D), 1, 1, 1.0)
        assert out.item() == pytest.approx(expected, abs=1e-12), (x1, y1, x2, y2)
    # 2x2 bins over the cell: f at the four bin centres (0.25/0.75)
    out = prroi_pool2d(feat, torch.tensor([[0, 0, 0, 1, 1]], dtype=D), 2, 2, 1.0)[0, 0]
    expected = torch.tensor([[1 + 0.25 + 0.5, 1 + 0.75 + 0.5], [1 + 0.25 + 1.5, 1 + 0.75 + 1.5]], dtype=D)
    torch.testing.assert_close(out, expected)


def test_constant_map_gives_constant_inside():
    feat = torch.full((1, 3, 10, 12), 2.5, dtype=D)
    rois = torch.tensor([[0, 0.0, 0.0, 11.0, 9.0], [0, 1.3, 2.7, 8.9, 6.1]], dtype=D)
    out = prroi_pool2d(feat, rois, 4, 3, 1.0)
    torch.testing.assert_close(out, torch.full_like(out, 2.5))


def test_linear_ramp_gives_bin_centre_value():
    H, W = 12, 16
    yy, xx = torch.meshgrid(torch.arange(H, dtype=D), torch.arange(W, dtype=D), indexing="ij")
    feat = (0.3 * xx - 0.7 * yy + 1.0)[None, None]
    x1, y1, x2, y2 = 8.4, 2.2, 26.0, 20.2  # at scale 0.5 -> [4.2, 13] x [1.1, 10.1], inside the map
    ph, pw = 3, 5
    out = prroi_pool2d(feat, torch.tensor([[0, x1, y1, x2, y2]], dtype=D), ph, pw, 0.5)[0, 0]
    cx = 4.2 + (torch.arange(pw, dtype=D) + 0.5) * (13.0 - 4.2) / pw
    cy = 1.1 + (torch.arange(ph, dtype=D) + 0.5) * (10.1 - 1.1) / ph
    torch.testing.assert_close(out, 0.3 * cx[None, :] - 0.7 * cy[:, None] + 1.0)


def test_upstream_avg_pool_identity():
    # Unit-size bins on integer positions with every corner sample inside the map: each bin is a
    # bilinear cell, whose mean is the mean of its 4 corners = avg_pool2d(k=2, s=1).
    feat = torch.randn(2, 16, 24, 32)
    out = prroi_pool2d(feat, torch.tensor([[0, 0.0, 0.0, 14.0, 14.0]]), 7, 7, 0.5)
    torch.testing.assert_close(out, Fn.avg_pool2d(feat, 2, 1)[:1, :, :7, :7], atol=1e-5, rtol=1e-5)
    # same at an offset, non-square, and with H > W (the other contraction order)
    feat = torch.randn(2, 4, 32, 24, dtype=D)
    out = prroi_pool2d(feat, torch.tensor([[1, 2.0, 0.0, 14.0, 10.0]], dtype=D), 5, 6, 0.5)
    torch.testing.assert_close(out, Fn.avg_pool2d(feat, 2, 1)[1:, :, 0:5, 1:7])


def test_two_pixel_bins_are_trapezoid_kernel():
    # bins of 2 pixels: per-axis weights (1/4, 1/2, 1/4), stride 2
    feat = torch.randn(1, 3, 11, 13, dtype=D)
    out = prroi_pool2d(feat, torch.tensor([[0, 0.0, 0.0, 12.0, 10.0]], dtype=D), 5, 6, 1.0)
    k = torch.tensor([0.25, 0.5, 0.25], dtype=D)
    kernel = (k[:, None] * k[None, :]).expand(3, 1, 3, 3)
    torch.testing.assert_close(out, Fn.conv2d(feat, kernel, stride=2, groups=3))


@pytest.mark.parametrize("ph,pw,scale", [(3, 3, 1 / 8), (5, 5, 1 / 8), (4, 4, 1 / 16), (2, 3, 1.0)])
def test_matches_brute_force_integral(ph, pw, scale):
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 3, 9, 11, generator=g, dtype=D)
    size = 1.0 / scale
    # boxes inside, partly outside (up to ~2 cells beyond every border) and far outside
    xy = (torch.rand(6, 2, generator=g, dtype=D) * 12 - 2) * size
    wh = (torch.rand(6, 2, generator=g, dtype=D) * 6 + 0.5) * size
    rois = torch.cat((torch.tensor([[0], [1], [1], [0], [1], [0]], dtype=D), xy, xy + wh), 1)
    rois = torch.cat((rois, torch.tensor([[1, -30, -30, -20, -25]], dtype=D) * torch.tensor([1, size, size, size, size])))
    out = prroi_pool2d(feat, rois, ph, pw, scale)
    torch.testing.assert_close(out, _midpoint_reference(feat, rois, ph, pw, scale), atol=2e-4, rtol=0)
    assert out[-1].abs().max() == 0  # wholly outside (beyond the 1-pixel fringe): zeros


def test_degenerate_boxes_give_zero_output_and_zero_gradients():
    feat = torch.randn(1, 2, 6, 7, dtype=D, requires_grad=True)
    rois = torch.tensor([[0, 2.0, 1.0, 2.0, 4.0],  # zero width
                         [0, 1.0, 3.0, 5.0, 3.0],  # zero height
                         [0, 5.0, 1.0, 2.0, 4.0],  # x2 < x1
                         [0, 1.0, 4.0, 5.0, 1.0]], dtype=D, requires_grad=True)  # y2 < y1
    out = prroi_pool2d(feat, rois, 3, 2, 1.0)
    assert torch.equal(out, torch.zeros_like(out))
    out.sum().backward()
    assert torch.equal(feat.grad, torch.zeros_like(feat)) and torch.equal(rois.grad, torch.zeros_like(rois))
    assert torch.isfinite(rois.grad).all()


def test_batch_index_selection_and_truncation():
    feat = torch.randn(3, 4, 8, 9, dtype=D)
    boxes = torch.tensor([[1.0, 1.5, 6.0, 7.0], [0.2, 0.3, 8.5, 5.5], [2.0, 2.0, 4.0, 3.0]], dtype=D)
    b_idx = torch.tensor([[2.0], [0.0], [1.7]], dtype=D)  # 1.7 -> image 1, as the kernel's int cast
    rois = torch.cat((b_idx, boxes), 1)
    out = prroi_pool2d(feat, rois, 3, 4, 1.0)
    for k, b in enumerate([2, 0, 1]):
        single = prroi_pool2d(feat[b:b + 1], torch.cat((torch.zeros(1, 1, dtype=D), boxes[k:k + 1]), 1), 3, 4, 1.0)
        torch.testing.assert_close(out[k:k + 1], single)
    # interleaved and uneven groups give the same as one call per roi
    rois = rois[[0, 1, 0, 2, 1, 1]]
    out = prroi_pool2d(feat, rois, 2, 2, 1.0)
    for k in range(len(rois)):
        torch.testing.assert_close(out[k:k + 1], prroi_pool2d(feat, rois[k:k + 1], 2, 2, 1.0))


def test_bad_batch_index_and_shapes_raise():
    feat = torch.randn(2, 1, 4, 4)
    with pytest.raises(ValueError, match="batch index"):
        prroi_pool2d(feat, torch.tensor([[2.0, 0, 0, 1, 1]]), 2, 2, 1.0)
    with pytest.raises(ValueError, match="rois must be"):
        prroi_pool2d(feat, torch.zeros(3, 4), 2, 2, 1.0)
    with pytest.raises(ValueError, match="features must be"):
        prroi_pool2d(feat[0], torch.zeros(3, 5), 2, 2, 1.0)


def test_no_rois():
    feat = torch.randn(2, 5, 6, 6, requires_grad=True)
    rois = torch.zeros(0, 5, requires_grad=True)
    out = prroi_pool2d(feat, rois, 3, 4, 0.5)
    assert out.shape == (0, 5, 3, 4)
    out.sum().backward()
    assert torch.equal(feat.grad, torch.zeros_like(feat))


def test_gradcheck_features_and_coordinates():
    g = torch.Generator().manual_seed(1)
    feat = torch.randn(2, 2, 5, 6, generator=g, dtype=D, requires_grad=True)
    # non-integer edges, some past the border
    boxes = torch.tensor([[0, 0.37, 0.81, 7.13, 6.29], [1, -2.41, 1.17, 3.93, 10.57], [0, 5.23, -1.61, 13.07, 4.43]], dtype=D)
    coords = boxes[:, 1:].clone().requires_grad_(True)

    def fn(f, c):
        return prroi_pool2d(f, torch.cat((boxes[:, :1], c), 1), 3, 2, 0.5)

    assert torch.autograd.gradcheck(fn, (feat, coords), eps=1e-6, atol=1e-6)
    assert torch.autograd.gradgradcheck(lambda f: fn(f, coords.detach()), (feat,))


def test_coordinate_gradient_matches_original_kernel_formula():
    """PrRoIPoolingCoorBackward: per bin d/dxe = (int f(xe, y) dy - (ye - ys) out) / area, etc.,
    chained with xs = X1 (1 - q/pw) + X2 q/pw, xe = X1 (1 - (q+1)/pw) + X2 (q+1)/pw, times scale."""
    g = torch.Generator().manual_seed(2)
    feat = torch.randn(1, 2, 7, 8, generator=g, dtype=D)
    roi = torch.tensor([[0, 3.3, 2.1, 13.7, 11.9]], dtype=D, requires_grad=True)
    ph, pw, scale = 3, 4, 0.5
    out = prroi_pool2d(feat, roi, ph, pw, scale)
    grad_out = torch.randn(out.shape, generator=g, dtype=D)
    (out * grad_out).sum().backward()

    n = 2000
    X1, Y1, X2, Y2 = (roi[0, 1:].detach() * scale).tolist()
    bw, bh = (X2 - X1) / pw, (Y2 - Y1) / ph
    area = bw * bh
    o = out.detach()[0]
    expected = torch.zeros(5, dtype=D)
    mid = (torch.arange(n, dtype=D) + 0.5) / n
    for p in range(ph):
        ys, ye = Y1 + p * bh, Y1 + (p + 1) * bh
        for q in range(pw):
            xs, xe = X1 + q * bw, X1 + (q + 1) * bw
            ycol, xrow = ys + mid * bh, xs + mid * bw

            def line_x(x):  # integral over y of f(x, y) across the bin, per channel
                return _surface(feat[0], torch.tensor([x], dtype=D), ycol)[:, :, 0].mean(1) * bh

            def line_y(y):
                return _surface(feat[0], xrow, torch.tensor([y], dtype=D))[:, 0, :].mean(1) * bw

            px1 = (-line_x(xs) + bh * o[:, p, q]) / area * scale
            px2 = (line_x(xe) - bh * o[:, p, q]) / area * scale
            py1 = (-line_y(ys) + bw * o[:, p, q]) / area * scale
            py2 = (line_y(ye) - bw * o[:, p, q]) / area * scale
            go = grad_out[0, :, p, q]
            expected[1] += ((px1 * (1 - q / pw) + px2 * (1 - (q + 1) / pw)) * go).sum()
            expected[2] += ((py1 * (1 - p / ph) + py2 * (1 - (p + 1) / ph)) * go).sum()
            expected[3] += ((px2 * (q + 1) / pw + px1 * q / pw) * go).sum()
            expected[4] += ((py2 * (p + 1) / ph + py1 * p / ph) * go).sum()
    torch.testing.assert_close(roi.grad[0], expected, atol=1e-5, rtol=1e-5)
    assert roi.grad[0, 0] == 0


def test_module_float32_and_reexport():
    assert PrRoIPool2DReexport is PrRoIPool2D
    pool = PrRoIPool2D(5, 5, 1 / 8)
    assert "spatial_scale=0.125" in repr(pool)
    feat = torch.randn(2, 8, 18, 18, dtype=D)
    rois = torch.tensor([[0, 10.0, 20.0, 90.0, 100.0], [1, -5.0, 30.0, 140.0, 160.0]], dtype=D)
    out64 = pool(feat, rois)
    out32 = pool(feat.float(), rois.float())
    assert out32.dtype == torch.float32 and out32.shape == (2, 8, 5, 5)
    torch.testing.assert_close(out32.double(), out64, atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    feat = torch.randn(2, 8, 18, 18)
    rois = torch.tensor([[0, 10.0, 20.0, 90.0, 100.0], [1, -5.0, 30.0, 140.0, 160.0]])
    cpu = prroi_pool2d(feat, rois, 4, 4, 1 / 16)
    gpu = prroi_pool2d(feat.cuda(), rois.cuda(), 4, 4, 1 / 16)
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=1e-5)
