"""Speed of the vectorised Precise RoI pooling vs a naive per-box loop (same math), at DiMP sizes.

    python experiments/bench/bench_prroi_pool.py [--repeats 3] [--threads 2]

Prints one line per setting: forward (and forward+backward) time of the per-box loop, of
``prroi_pool2d`` on CPU, the speed-up, the max difference, and with CUDA the GPU time and its
speed-up over the CPU path.
"""
from __future__ import annotations

import argparse
import time

import torch

from ltr_slt.models.layers.prroi_pool import _axis_weights, prroi_pool2d

# (B, C, H=W, pooled, spatial_scale): IoU-Net test 5x5 @1/8 and 3x3 @1/16, reference 3x3 @1/8,
# DiMP filter initializer 4x4 @1/16, plus 8x8 @1/8.
SETTINGS = [
    (8, 256, 36, 5, 1 / 8),
    (8, 256, 18, 3, 1 / 16),
    (16, 256, 36, 3, 1 / 8),
    (16, 512, 18, 4, 1 / 16),
    (8, 256, 36, 8, 1 / 8),
]
PROPOSALS_PER_IMAGE = 128


def naive_prroi_pool2d(features, rois, ph, pw, scale):
    """Reference loop: one box at a time, the same closed-form weights."""
    out = []
    for roi in rois:
        b = int(roi[0])
        x1, y1, x2, y2 = roi[1:] * scale
        bw, bh = (x2 - x1).clamp(min=0) / pw, (y2 - y1).clamp(min=0) / ph
        if float((bw * bh).detach()) == 0:
            out.append(features.new_zeros(features.shape[1], ph, pw))
            continue
        wx = _axis_weights(x1[None], bw[None], pw, features.shape[3])[0] / bw  # [pw, W]
        wy = _axis_weights(y1[None], bh[None], ph, features.shape[2])[0] / bh  # [ph, H]
        out.append(wy @ features[b] @ wx.T)  # [C, ph, pw]
    return torch.stack(out)


def make_inputs(B, C, S, scale, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(B, C, S, S, generator=g)
    img = S / scale
    centre = img / 2 + (torch.rand(B * PROPOSALS_PER_IMAGE, 2, generator=g) - 0.5) * img * 0.3
    size = img * (0.1 + 0.4 * torch.rand(B * PROPOSALS_PER_IMAGE, 2, generator=g))
    idx = torch.arange(B).repeat_interleave(PROPOSALS_PER_IMAGE).float()[:, None]
    rois = torch.cat((idx, centre - size / 2, centre + size / 2), 1)
    return feat.to(device), rois.to(device)


def timeit(fn, repeats, device):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def fwd_bwd(pool, feat, rois, ph, scale):
    f = feat.detach().requires_grad_(True)
    r = rois.detach().requires_grad_(True)
    pool(f, r, ph, ph, scale).sum().backward()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    print(f"torch {torch.__version__}, {args.threads} CPU threads, CUDA: {cuda}, {PROPOSALS_PER_IMAGE} rois/image, "
          f"best of {args.repeats}")
    for B, C, S, p, scale in SETTINGS:
        feat, rois = make_inputs(B, C, S, scale, "cpu")
        ref = naive_prroi_pool2d(feat, rois, p, p, scale)
        out = prroi_pool2d(feat, rois, p, p, scale)
        diff = (out - ref).abs().max().item()
        t_loop = timeit(lambda: naive_prroi_pool2d(feat, rois, p, p, scale), args.repeats, "cpu")
        t_vec = timeit(lambda: prroi_pool2d(feat, rois, p, p, scale), args.repeats, "cpu")
        tb_loop = timeit(lambda: fwd_bwd(naive_prroi_pool2d, feat, rois, p, scale), args.repeats, "cpu")
        tb_vec = timeit(lambda: fwd_bwd(prroi_pool2d, feat, rois, p, scale), args.repeats, "cpu")
        line = (f"B={B:2d} C={C} {S}x{S} {p}x{p} @1/{round(1 / scale)} K={len(rois)}: "
                f"fwd loop {t_loop * 1e3:7.1f} ms, vec {t_vec * 1e3:6.1f} ms (x{t_loop / t_vec:5.1f}); "
                f"fwd+bwd loop {tb_loop * 1e3:7.1f} ms, vec {tb_vec * 1e3:6.1f} ms (x{tb_loop / tb_vec:5.1f}); "
                f"max|diff| {diff:.1e}")
        if cuda:
            fg, rg = feat.cuda(), rois.cuda()
            gdiff = (prroi_pool2d(fg, rg, p, p, scale).cpu() - out).abs().max().item()
            t_gpu = timeit(lambda: prroi_pool2d(fg, rg, p, p, scale), args.repeats, "cuda")
            line += f"; cuda {t_gpu * 1e3:.2f} ms (x{t_vec / t_gpu:.0f} vs CPU), max|diff| {gdiff:.1e}"
        assert diff < 1e-4, f"vectorised and loop disagree: {diff}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
