"""Frames/s of the DiMP-family evaluation tracker vs a straightforward per-frame implementation (same net).

Both run the same parameters and the same network on the same synthetic sequences, one frame at a
time, batch 1 (the evaluation setting):

* ``ours``: :class:`~pytracking_slt.tracker.dimp.tracker.DiMP` (``BatchedDiMP`` with batch 1): the
  frame is uploaded once as uint8 and the sample is cut and resized on the device by one gather.
* ``straightforward``: pytracking's per-frame way of sampling: the whole frame converted to a float
  tensor on the CPU (``numpy_to_torch``), ``F.pad`` (replicate) + ``F.interpolate`` per window, the
  patch then moved to the device (everything after the crop is shared code).
* ``batched``: all sequences of the run tracked in lock step by one ``BatchedDiMP`` (the SLT rollout
  setting), reported per sequence-frame.

Prints frames/s and the ratios ours / straightforward and batched / straightforward. The absolute
numbers depend on the machine; the ratios are what this measures.

    nice -n 10 python experiments/bench/bench_dimp_tracker.py --net tiny --device cpu
    python experiments/bench/bench_dimp_tracker.py --net dimp50 --device cuda --params super_dimp
"""
from __future__ import annotations

import argparse
import time
from typing import Any, List

import numpy as np
import torch
import torch.nn.functional as F

from ltr_slt.dataset.synthetic import SyntheticConfig, generate_sequence
from pytracking_slt.parameter.dimp_common import VARIANTS, dimp_parameters
from pytracking_slt.tracker.dimp.batched import BatchedDiMP


class StraightforwardDiMP(BatchedDiMP):
    """pytracking's sampling path: per window, float copy of the frame on the CPU, F.pad + F.interpolate."""

    frames_np: List[np.ndarray] = []

    def _crop(self, buf: Any, image_index: torch.Tensor, geom: Any, size: int) -> torch.Tensor:
        out = []
        for b, k in enumerate(image_index.tolist()):
            im = torch.from_numpy(self.frames_np[k]).float().permute(2, 0, 1).unsqueeze(0)  # numpy_to_torch
            df = int(geom.df[b])
            oy, ox = (int(v) for v in geom.offset[b].tolist())
            im2 = im[..., oy::df, ox::df] if df > 1 else im
            tl, br = geom.tl[b].cpu(), geom.br[b].cpu()
            pad = (-int(tl[1]), int(br[1]) - im2.shape[3], -int(tl[0]), int(br[0]) - im2.shape[2])
            patch = F.pad(im2, pad, "replicate")
            if patch.shape[-2:] != (size, size):
                patch = F.interpolate(patch, [size, size], mode="bilinear")
            out.append(patch.to(self.device))
        return torch.cat(out, 0)


def _net(kind: str, transformer: bool) -> torch.nn.Module:
    from ltr_slt.models.tracking import dimpnet
    torch.manual_seed(0)
    if kind == "tiny":
        return dimpnet.dimpnet_tiny()
    return dimpnet.dimpnet50()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _track(trk: BatchedDiMP, seqs, device: torch.device, frames: int) -> float:
    """Track every sequence alone; returns frames/s over the tracked (non-init) frames."""
    total, n = 0.0, 0
    for f, b in seqs:
        if isinstance(trk, StraightforwardDiMP):
            trk.frames_np = [f[0]]
            st = trk.init([f[0]], [b[0]])
        else:
            st = trk.init([torch.from_numpy(f[0]).to(device)], [b[0]])
        for t in range(1, frames):
            _sync(device)
            tic = time.perf_counter()
            if isinstance(trk, StraightforwardDiMP):
                trk.frames_np = [f[t]]
                st, _ = trk.step([f[t]], st)
            else:
                st, _ = trk.step([torch.from_numpy(f[t]).to(device)], st)
            _sync(device)
            total += time.perf_counter() - tic
            n += 1
    return n / total


def _track_batched(trk: BatchedDiMP, seqs, device: torch.device, frames: int) -> float:
    st = trk.init([torch.from_numpy(f[0]).to(device) for f, _ in seqs], [b[0] for _, b in seqs])
    total = 0.0
    for t in range(1, frames):
        _sync(device)
        tic = time.perf_counter()
        st, _ = trk.step([torch.from_numpy(f[t]).to(device) for f, _ in seqs], st)
        _sync(device)
        total += time.perf_counter() - tic
    return len(seqs) * (frames - 1) / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", choices=("tiny", "dimp50"), default="tiny")
    ap.add_argument("--params", choices=sorted(VARIANTS), default="dimp50")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--sequences", type=int, default=4)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = SyntheticConfig(num_frames=args.frames, width=args.width, height=args.height, use_photos=False)
    seqs = []
    for i in range(args.sequences):
        s = generate_sequence(i, cfg, seed=1)
        seqs.append((s.frames, s.boxes))
    net = _net(args.net, False).to(device).eval()
    p = dimp_parameters(args.params, net=net, device=str(device), use_gpu=device.type == "cuda",
                        use_transformer=False)
    ours = BatchedDiMP(net, p, device)
    plain = StraightforwardDiMP(net, p, device)
    _track(ours, seqs[:1], device, 3)  # warm-up
    fps_plain = _track(plain, seqs, device, args.frames)
    fps_ours = _track(ours, seqs, device, args.frames)
    fps_batched = _track_batched(ours, seqs, device, args.frames)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"net {args.net}, params {args.params}, {args.sequences} sequences x {args.frames - 1} frames, "
          f"{args.width}x{args.height}")
    print(f"straightforward per-frame : {fps_plain:8.2f} frames/s")
    print(f"ours (evaluation, batch 1): {fps_ours:8.2f} frames/s   ratio {fps_ours / fps_plain:.2f}x")
    print(f"ours batched ({args.sequences} sequences) : {fps_batched:8.2f} frames/s   ratio {fps_batched / fps_plain:.2f}x")


if __name__ == "__main__":
    main()
