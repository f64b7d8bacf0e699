"""Frames/s of the DiMP-family evaluation tracker vs straightforward per-frame implementations (same net).

All run the same parameters and network on the same synthetic sequences, one frame at a time:

* ``ours``: the evaluation tracker (``BatchedDiMP`` with batch 1): the frame is uploaded once as
  uint8 and the sample is cut and resized on the device by one gather; vectorised localisation,
  refinement of all boxes in one IoU-Net call per step.
* ``plain``: ``tests/dimp_reference.py``, pytracking's ``DiMP.track`` written plainly (float copy of
  the frame, ``F.pad`` + ``F.interpolate`` per window, scalar branches; CPU only). It gives the same
  boxes (tests/test_dimp_tracker.py), so this is a like-for-like speed comparison.
* ``cpu-crop``: our tracker with pytracking's CPU sampling path swapped in (any device).
* ``batched``: all sequences tracked in lock step by one ``BatchedDiMP`` (the SLT rollout setting),
  per sequence-frame.

Rounds alternate between the variants; the median and the best round's frames/s are reported
(the best round is the least disturbed one on a shared, busy machine). The ratios are what this measures; absolute numbers depend on the machine.

    nice -n 10 python experiments/bench/bench_dimp_tracker.py --net tiny --device cpu
    python experiments/bench/bench_dimp_tracker.py --net dimp50 --device cuda --params super_dimp
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
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


def _track_plain(net, params, seqs, frames: int) -> float:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests"))
    from dimp_reference import ReferenceDiMP  # noqa: E402 (the plain reference lives with the tests)

    total, n = 0.0, 0
    with torch.no_grad():
        for f, b in seqs:
            ref = ReferenceDiMP(net, params, 0)
            ref.initialize(f[0], b[0].tolist())
            for t in range(1, frames):
                tic = time.perf_counter()
                ref.track(f[t])
                total += time.perf_counter() - tic
                n += 1
    return n / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", choices=("tiny", "dimp50"), default="tiny")
    ap.add_argument("--params", choices=sorted(VARIANTS), default="dimp50")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--sequences", type=int, default=4)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--official_not_found", action="store_true",
                    help="keep target_not_found_threshold 0.25 (untrained nets then skip refinement and updates); "
                         "by default every frame counts as found, as a trained net's mostly are")
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
    extra = {} if args.official_not_found else {"target_not_found_threshold": -1e9}
    p = dimp_parameters(args.params, net=net, device=str(device), use_gpu=device.type == "cuda",
                        use_transformer=False, **extra)
    ours = BatchedDiMP(net, p, device)
    cpu_crop = StraightforwardDiMP(net, p, device)
    _track(ours, seqs[:1], device, 3)  # warm-up
    if device.type == "cpu":
        _track_plain(net, p, seqs[:1], 3)
    runs = {"plain": [], "cpu-crop": [], "ours": [], "batched": []}
    for _ in range(args.rounds):
        if device.type == "cpu":
            runs["plain"].append(_track_plain(net, p, seqs, args.frames))
        runs["cpu-crop"].append(_track(cpu_crop, seqs, device, args.frames))
        runs["ours"].append(_track(ours, seqs, device, args.frames))
        runs["batched"].append(_track_batched(ours, seqs, device, args.frames))
    fps = {k: statistics.median(v) for k, v in runs.items() if v}
    best = {k: max(v) for k, v in runs.items() if v}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {device} ({name}), net {args.net}, params {args.params}, {args.sequences} sequences x "
          f"{args.frames - 1} frames, {args.width}x{args.height}, median of {args.rounds} rounds")
    base = "plain" if "plain" in fps else "cpu-crop"
    labels = {"plain": "plain pytracking-style (tests reference)", "cpu-crop": "ours with pytracking's CPU crops",
              "ours": "ours (evaluation, batch 1)", "batched": f"ours batched ({args.sequences} sequences)"}
    for k in ("plain", "cpu-crop", "ours", "batched"):
        if k in fps:
            print(f"{labels[k]:42s}: median {fps[k]:8.2f} frames/s (ratio to {base} {fps[k] / fps[base]:.2f}x), "
                  f"best {best[k]:8.2f} (ratio {best[k] / best[base]:.2f}x)")


if __name__ == "__main__":
    main()
