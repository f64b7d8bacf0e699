"""Evaluation tracker FPS: our pytracking tracker vs the official TransT per-frame loop, same net, same frames.

    nice -n 10 python experiments/bench/bench_tracker.py --tiny --threads 1     # CPU, tiny TransT
    python experiments/bench/bench_tracker.py --device cuda                     # TransT-R50

* ``ours``: :class:`pytracking_slt.tracker.transt.TransT` (``initialize`` + ``track`` per frame, as
  the pytracking runner calls it; batched code at batch 1);
* ``official-style``: the official TransT tracker's loop written out: numpy state, ``get_subwindow``
  (numpy mean padding + ``cv2.resize``), per-frame float upload and normalisation, forward,
  softmax / Hanning window / argmax / decode / clip in numpy on the CPU;
* ``network only``: template encoding + one batch-1 search forward per frame on ready tensors
  (channels_last, like both trackers' inputs).

Geometry follows the ground truth (:class:`~experiments.bench.bench_rollout.FollowGT`): a
random-weight net would let the box grow to the whole frame, where per-crop cv2 gets expensive
and the comparison says nothing about real tracking. The three variants alternate ``--repeats``
times and the medians are compared (robust to load from other processes).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any, List

import numpy as np
import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from experiments.bench.bench_rollout import (FollowGT, get_subwindow, interleaved_clocks, make_clips,  # noqa: E402
                                             official_normalize, parse_machine_args, print_clock_tables)
from ltr_slt.data.clip import Clip  # noqa: E402


class OfficialStyleTransT:
    """The official TransT tracker's per-frame work (numpy state, one crop + upload + forward + numpy decode)."""

    def __init__(self, net: torch.nn.Module, device: torch.device, window_influence: float = 0.49) -> None:
        self.net, self.device, self.window_influence = net, device, window_influence
        n = int(net.feature_size)
        self.window = np.outer(np.hanning(n), np.hanning(n)).flatten()  # float64, like the official code

    def _preprocess(self, patch: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(patch).permute(2, 0, 1)[None].float().to(self.device)  # [1, 3, S, S]
        return official_normalize(x)

    @torch.no_grad()
    def initialize(self, image: np.ndarray, box: List[float]) -> None:
        x, y, w, h = box
        self.center = np.array([x + w / 2, y + h / 2])
        self.size = np.array([w, h])
        w_z = self.size[0] + (2 - 1) * ((self.size[0] + self.size[1]) * 0.5)
        h_z = self.size[1] + (2 - 1) * ((self.size[0] + self.size[1]) * 0.5)
        s_z = math.ceil(math.sqrt(w_z * h_z))
        self.channel_average = np.mean(image, axis=(0, 1))
        z = get_subwindow(image, self.center, self.net.template_size, s_z, self.channel_average)
        self.template = self.net.encode_template(self._preprocess(z))

    @torch.no_grad()
    def track(self, image: np.ndarray) -> List[float]:
        w_x = self.size[0] + (4 - 1) * ((self.size[0] + self.size[1]) * 0.5)
        h_x = self.size[1] + (4 - 1) * ((self.size[0] + self.size[1]) * 0.5)
        s_x = math.ceil(math.sqrt(w_x * h_x))
        patch = get_subwindow(image, self.center, self.net.search_size, round(s_x), self.channel_average)
        out = self.net.track_from(self.template, self._preprocess(patch))
        score = torch.softmax(out["pred_logits"][0], dim=1)[:, 0].cpu().numpy()  # [A]
        pred = out["pred_boxes"][0].cpu().numpy().T  # [4, A]
        pscore = score * (1 - self.window_influence) + self.window * self.window_influence
        bbox = pred[:, np.argmax(pscore)] * s_x
        cx = bbox[0] + self.center[0] - s_x / 2
        cy = bbox[1] + self.center[1] - s_x / 2
        H, W = image.shape[:2]
        cx, cy = max(0, min(cx, W)), max(0, min(cy, H))
        width, height = max(10, min(bbox[2], W)), max(10, min(bbox[3], H))
        self.center, self.size = np.array([cx, cy]), np.array([width, height])
        return [cx - width / 2, cy - height / 2, width, height]


def run_ours(tracker: Any, clip: Clip) -> List[List[float]]:
    box = [float(v) for v in clip.search_boxes[0]]
    tracker.initialize(clip.search_images[0], {"init_bbox": box})
    return [tracker.track(im)["target_bbox"] for im in clip.search_images[1:]]


def run_official(tracker: OfficialStyleTransT, clip: Clip) -> List[List[float]]:
    tracker.initialize(clip.search_images[0], [float(v) for v in clip.search_boxes[0]])
    return [tracker.track(im) for im in clip.search_images[1:]]


def network_only(net: torch.nn.Module, num_frames: int, device: torch.device):
    gen = torch.Generator().manual_seed(0)
    cl = torch.channels_last  # the layout both trackers feed (see bench_rollout's docstring)
    z = torch.randn(1, 3, net.template_size, net.template_size, generator=gen).to(device).contiguous(memory_format=cl)
    x = torch.randn(1, 3, net.search_size, net.search_size, generator=gen).to(device).contiguous(memory_format=cl)
    encode = getattr(net, "_unpatched_encode_template", net.encode_template)
    track_from = getattr(net, "_unpatched_track_from", net.track_from)

    @torch.no_grad()
    def run() -> None:
        tf = encode(z)
        for _ in range(num_frames - 1):
            track_from(tf, x)

    return run


def measure(net: torch.nn.Module, clip: Clip, device: torch.device, repeats: int) -> dict:
    """Median times of network-only / ours / official-style on one clip (net patched by FollowGT)."""
    from pytracking_slt.parameter.transt_common import transt_parameters
    from pytracking_slt.tracker.transt import TransT

    ours = TransT(transt_parameters("<in-memory>", device=str(device), use_gpu=device.type == "cuda", net=net))
    official = OfficialStyleTransT(net, device)
    timings = interleaved_clocks([network_only(net, clip.num_frames, device), lambda: run_ours(ours, clip),
                                  lambda: run_official(official, clip)], device, repeats)
    a, b = np.array(run_ours(ours, clip)), np.array(run_official(official, clip))
    wall = timings.wall
    return {"network": wall[0], "ours": wall[1], "official": wall[2], "timings": timings,
            "max_box_diff": float(np.abs(a - b).max())}


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--num-frames", type=int, default=100, help="frames of the tracked sequence")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=5, help="alternating timed rounds (medians compared)")
    parser.add_argument("--tiny", action="store_true", help="tiny TransT instead of TransT-R50")
    args, device = parse_machine_args(parser, argv)
    from ltr_slt.models.tracking.transt import transt_resnet50, transt_tiny

    torch.manual_seed(0)
    net = (transt_tiny() if args.tiny else transt_resnet50(None)).to(device).eval()
    clip = make_clips(1, args.num_frames, args.width, args.height)[0]
    follow = FollowGT(net, [clip])
    sides = follow.search_sides
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"config: {'tiny TransT' if args.tiny else 'TransT-R50'} on {device} ({name}), one {args.width}x"
          f"{args.height} sequence of {args.num_frames} frames, median of {args.repeats} alternating rounds")
    print(f"geometry: boxes follow the GT; search side used: mean {sides.mean():.0f} px "
          f"(min {sides.min():.0f}, max {sides.max():.0f})\n")
    r = measure(net, clip, device, args.repeats)
    frames = args.num_frames - 1
    print_clock_tables(["network only", "ours", "official-style"], r["timings"], frames, unit="FPS",
                       cpu=device.type != "cuda")
    print(f"largest box difference between the two trackers: {r['max_box_diff']:.2e} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
