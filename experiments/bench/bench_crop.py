"""Crop-only micro-benchmark: our batched :func:`crop_windows` vs the official per-crop cv2 loop.

    python experiments/bench/bench_crop.py                    # sides 128 256 300 600 1200 2240, batches 1 2 16 32
    python experiments/bench/bench_crop.py --device cuda
    python experiments/bench/bench_crop.py --backend torch      # the device (separable torch) op on the CPU

Per-crop cv2 = the official ``get_subwindow`` (numpy mean padding + slice + ``cv2.resize``) followed by
``torch.from_numpy(...).permute(2, 0, 1)`` for every window (plus the upload on CUDA). Ours = one
:class:`FrameBuffer` + one :func:`crop_windows` call for the whole batch. 640x480 frames, windows
centred near the frame centre, output 256 px (TransT search). Ours and cv2 alternate
``--repeats`` times and the medians are compared, so CPU contention hits both alike.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List

import numpy as np
import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from experiments.bench.bench_rollout import get_subwindow, interleaved  # noqa: E402
from ltr_slt.data.crop import FrameBuffer, crop_windows  # noqa: E402


def bench(side: int, batch: int, device: torch.device, repeats: int, width: int, height: int,
          backend: str = "auto") -> tuple:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(batch)]
    avg = np.array([100, 110, 120], np.uint8)
    centres = np.stack([rng.uniform(0.4, 0.6, batch) * width, rng.uniform(0.4, 0.6, batch) * height], 1)
    dev_frames = [torch.from_numpy(f).to(device) for f in frames]  # the rollout keeps frames on the device
    c_t = torch.as_tensor(centres, device=device)
    s_t = torch.full((batch,), float(side), device=device, dtype=torch.float64)
    fill = torch.as_tensor(avg, device=device, dtype=torch.float32)

    def ours() -> torch.Tensor:
        return crop_windows(FrameBuffer.from_images(dev_frames), c_t, s_t, 256, fill, backend=backend)

    def official() -> torch.Tensor:
        out = [torch.from_numpy(get_subwindow(f, tuple(c), 256, side, avg)).permute(2, 0, 1).to(device)
               for f, c in zip(frames, centres)]
        return torch.stack(out)

    return interleaved([ours, official], device, repeats)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sides", type=int, nargs="+", default=[128, 256, 300, 600, 1200, 2240])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 16, 32])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--backend", choices=["auto", "torch"], default="auto",
                        help="auto: cv2 per window on the CPU, the torch op on a device; torch: the device op anywhere")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch and cv2 CPU threads (default: their own); 1 is steadier on a shared machine")
    args = parser.parse_args(argv)
    if args.threads:
        import cv2
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    device = torch.device(args.device)
    print(f"crop micro-benchmark on {device} ({torch.get_num_threads()} CPU threads), frames "
          f"{args.width}x{args.height}, out 256 px, backend {args.backend}, median of {args.repeats} alternating repeats")
    print(f"{'side':>6}{'batch':>7}{'ours [ms]':>11}{'cv2 [ms]':>10}{'cv2/ours':>10}")
    for side in args.sides:
        for batch in args.batches:
            t_ours, t_cv2 = bench(side, batch, device, args.repeats, args.width, args.height, args.backend)
            print(f"{side:>6}{batch:>7}{t_ours * 1e3:>11.2f}{t_cv2 * 1e3:>10.2f}{t_cv2 / t_ours:>10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
