"""Rollout efficiency of SLT exploration: our batched rollout vs an official-style loop, at realistic geometry.

    nice -n 10 python experiments/bench/bench_rollout.py --tiny --num-seq 8 --num-frames 24 --threads 1  # CPU, tiny
    python experiments/bench/bench_rollout.py --num-seq 8 --num-frames 24 --device cuda       # TransT-R50

Efficiency = (time of the network forward passes alone) / (time of the whole rollout), for

* ``ours``: :func:`ltr_slt.slt.rollout.rollout` (frames uploaded once as uint8, all 2N crops in
  one call, template encoded once per clip, policy/decoding batched);
* ``official-style``: what the official SLT code does per frame: crop every copy one by one on the
  CPU (numpy padding + ``cv2.resize``), normalise, move each crop to the device, one batched
  forward, then decode with numpy on the CPU (the template is also encoded once here, so the
  comparison isolates the cropping / transfer / decoding overhead).

"Network alone" runs the same forward passes (template encoding + one batched search forward per
frame) on ready-made device tensors in channels_last layout (the faster one for the convolutions;
ours crops into it, the official code gets it by accident: ``permute(2, 0, 1).float()`` keeps the
HWC strides).

Geometry matters more than anything else: the cost of a cv2 crop grows with the window side. With
random weights the predicted boxes grow to the whole frame (search side ~2240 px on 640x480), which
makes per-crop cv2 look slow; a trained tracker keeps the side near 4x the target (~300 px here).
``--geometry gt`` (default) therefore replaces the network's boxes by the ground truth of the frame
being tracked (:class:`FollowGT`): every copy follows the GT exactly as a good tracker would, the
network still runs in full; ``--geometry random`` keeps the random-weight boxes (not
representative, for comparison only). The search side actually used is printed.

Timing: the three variants alternate ``--repeats`` times after a warm-up and the medians are
compared, so load from other processes on a shared machine hits all of them alike. Peak memory of
the explore and learn phases is reported: ``torch.cuda.max_memory_allocated`` on CUDA, the peak
resident-set growth (sampled from /proc/self/statm) on CPU.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from ltr_slt.data.clip import Clip  # noqa: E402
from ltr_slt.data.crop import IMAGENET_MEAN, IMAGENET_STD, normalize_crops  # noqa: E402
from ltr_slt.slt.reward import broadcast_advantages, compute_rewards  # noqa: E402
from ltr_slt.slt.rollout import rollout  # noqa: E402


# ---------------------------------------------------------------------------------------------- data
def make_clips(num_seq: int, num_frames: int, width: int, height: int, seed: int = 0) -> List[Clip]:
    """Random-texture frames with a bright target box that drifts and slowly changes scale.

    The first box is 12% x 15% of the frame (77 x 72 px on 640x480: search side ~300 px), the
    content does not matter for timing, only the geometry does.
    """
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(num_seq):
        box = np.array([width * 0.4, height * 0.4, width * 0.12, height * 0.15], dtype=np.float64)
        imgs, boxes = [], []
        for _ in range(num_frames + 1):
            img = rng.integers(0, 120, size=(height, width, 3), dtype=np.uint8)
            x, y, w, h = box.astype(int)
            img[y:y + h, x:x + w] = 220
            imgs.append(img)
            boxes.append(box.astype(np.float32))
            box[2:] = np.clip(box[2:] * np.exp(rng.normal(0, 0.02)), 16, [width / 3, height / 3])
            box[:2] = np.clip(box[:2] + rng.normal(0, 4, 2), 0, [width - box[2], height - box[3]])
        clips.append(Clip(template_images=[imgs[0]], template_boxes=np.stack(boxes[:1]), search_images=imgs[1:],
                          search_boxes=np.stack(boxes[1:]), search_visible=np.ones(num_frames, bool)))
    return clips


# ------------------------------------------------------------------------------ measurement helpers
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device) -> Tuple[float, Any]:
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


@dataclass
class Timings:
    """Per-function medians over alternating rounds, plus the per-round times (for paired ratios)."""

    wall: List[float]
    cpu: List[float]
    wall_rounds: List[List[float]]  # [round][function]
    cpu_rounds: List[List[float]]

    def paired(self, ref: int, i: int, clock: str = "wall") -> float:
        """Median over rounds of ``t_ref / t_i`` measured in the same round (robust to load drift)."""
        rounds = self.wall_rounds if clock == "wall" else self.cpu_rounds
        return float(np.median([r[ref] / r[i] for r in rounds]))


def interleaved_clocks(fns: Sequence[Callable[[], Any]], device: torch.device, repeats: int) -> Timings:
    """Median wall time and median process CPU time of each function over ``repeats`` alternating rounds.

    The functions run alternately (after one warm-up each), the order rotating from round to round
    so that none always runs right after the same neighbour; background load on a shared machine
    thus hits every variant alike, and the median drops rounds that a burst of load spoiled. The
    CPU time (user + sys of this process) is what the work itself cost, nearly independent of other
    processes when torch uses one thread (with several, OpenMP's spin-waiting inflates it); it
    says nothing on a GPU, where the wall time is the measure.
    """
    for fn in fns:
        fn()
    k = len(fns)
    wall_rounds: List[List[float]] = []
    cpu_rounds: List[List[float]] = []
    for r in range(repeats):
        wall, cpu = [0.0] * k, [0.0] * k
        for j in range(k):
            i = (j + r) % k
            c0 = time.process_time()
            wall[i] = timed(fns[i], device)[0]
            cpu[i] = time.process_time() - c0
        wall_rounds.append(wall)
        cpu_rounds.append(cpu)
    med = lambda rounds: [float(np.median([r[i] for r in rounds])) for i in range(k)]  # noqa: E731
    return Timings(med(wall_rounds), med(cpu_rounds), wall_rounds, cpu_rounds)


def interleaved(fns: Sequence[Callable[[], Any]], device: torch.device, repeats: int) -> List[float]:
    """Median wall times of alternating rounds (see :func:`interleaved_clocks`)."""
    return interleaved_clocks(fns, device, repeats).wall


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def peak_memory(device: torch.device, result: Dict[str, float]):
    """Peak memory (MiB) of the block: CUDA allocator peak, or sampled RSS growth on CPU."""
    if device.type == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        yield
        sync(device)
        result["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2 ** 20
        result["peak_growth_mib"] = (torch.cuda.max_memory_allocated(device) - base) / 2 ** 20
        return
    if not os.path.exists("/proc/self/statm"):
        yield
        result["peak_growth_mib"] = float("nan")
        return
    base = _rss_bytes()
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        peak[0] = max(peak[0], _rss_bytes())
        result["peak_growth_mib"] = (peak[0] - base) / 2 ** 20
        result["peak_mib"] = peak[0] / 2 ** 20


# ------------------------------------------------------------------- official-style per-copy rollout
def get_subwindow(im: np.ndarray, pos: Tuple[float, float], out_sz: int, crop_sz: float,
                  avg: np.ndarray) -> np.ndarray:
    """SiamRPN/TransT ``get_subwindow``: numpy pad with the channel mean, slice, cv2.resize."""
    sz = crop_sz
    h, w, _ = im.shape
    c = (sz + 1) / 2
    xmin = math.floor(pos[0] - c + 0.5)
    xmax = xmin + sz - 1
    ymin = math.floor(pos[1] - c + 0.5)
    ymax = ymin + sz - 1
    left, top = int(max(0, -xmin)), int(max(0, -ymin))
    right, bottom = int(max(0, xmax - w + 1)), int(max(0, ymax - h + 1))
    xmin, xmax, ymin, ymax = int(xmin + left), int(xmax + left), int(ymin + top), int(ymax + top)
    if any((left, top, right, bottom)):
        te = np.zeros((h + top + bottom, w + left + right, 3), np.uint8)
        te[top:top + h, left:left + w] = im
        te[:top, left:left + w] = avg
        te[h + top:, left:left + w] = avg
        te[:, :left] = avg
        te[:, w + left:] = avg
        patch = te[ymin:ymax + 1, xmin:xmax + 1]
    else:
        patch = im[ymin:ymax + 1, xmin:xmax + 1]
    if int(sz) != out_sz:
        patch = cv2.resize(patch, (out_sz, out_sz))
    return patch


def official_normalize(x: torch.Tensor) -> torch.Tensor:
    """The official preprocessing of float 0..255 crops: ``mul(1/255).clamp(0, 1)``, then torchvision's
    ``normalize`` (not in place: clone, ``sub_(mean)``, ``div_(std)`` with freshly built mean/std)."""
    x = x.mul(1.0 / 255.0).clamp(0.0, 1.0)
    mean = torch.as_tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    std = torch.as_tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return x.clone().sub_(mean).div_(std)


def _to_device(patch: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(patch).permute(2, 0, 1)[None].float()  # [1, 3, S, S], like the official code
    return t.to(device)


def official_style_rollout(net: torch.nn.Module, policy: Any, clips: List[Clip], device: torch.device) -> None:
    """2N copies (greedy + sampled), CPU crops one by one, per-crop upload, numpy state and decoding."""
    n = len(clips)
    t_max = max(c.num_frames for c in clips)
    ts, ss = net.template_size, net.search_size
    with torch.inference_mode():
        z = []
        avgs, centers, sizes = [], [], []
        for c in clips + clips:
            img, (x, y, w, h) = c.template_images[0], c.template_boxes[0]
            avg = np.mean(img, axis=(0, 1)).astype(np.uint8)
            s_z = math.ceil(math.sqrt((w + (w + h) / 2) * (h + (w + h) / 2)))
            z.append(_to_device(get_subwindow(img, (x + w / 2, y + h / 2), ts, s_z, avg), device))
            gx, gy, gw, gh = c.search_boxes[0]
            avgs.append(avg)
            centers.append(np.array([gx + gw / 2, gy + gh / 2]))
            sizes.append(np.array([gw, gh]))
        tf = net.encode_template(official_normalize(torch.cat(z[:n]))).repeat(2)
        for t in range(1, t_max):
            crops, sides = [], []
            for k, c in enumerate(clips + clips):
                img = c.search_images[min(t, c.num_frames - 1)]
                w, h = sizes[k]
                s_x = math.ceil(math.sqrt((w + 1.5 * (w + h)) * (h + 1.5 * (w + h))))
                crops.append(_to_device(get_subwindow(img, tuple(centers[k]), ss, s_x, avgs[k]), device))
                sides.append(s_x)
            out = net.track_from(tf, official_normalize(torch.cat(crops)))
            logits = policy.logits(out)
            actions = torch.cat([policy.greedy(logits[:n]), policy.sample(logits[n:])]).cpu().numpy()
            boxes = out["pred_boxes"].cpu().numpy()
            for k, c in enumerate(clips + clips):
                img = c.search_images[min(t, c.num_frames - 1)]
                hh, ww = img.shape[:2]
                b = boxes[k, actions[k]] * sides[k]
                cx = np.clip(b[0] + centers[k][0] - sides[k] / 2, 0, ww)
                cy = np.clip(b[1] + centers[k][1] - sides[k] / 2, 0, hh)
                centers[k] = np.array([cx, cy])
                sizes[k] = np.array([np.clip(b[2], 10, ww), np.clip(b[3], 10, hh)])


def network_only(net: torch.nn.Module, clips: List[Clip], device: torch.device) -> Callable[[], None]:
    """The same forward passes on ready-made device tensors (nothing else)."""
    n = len(clips)
    t_max = max(c.num_frames for c in clips)
    gen = torch.Generator(device="cpu").manual_seed(0)
    cl = torch.channels_last  # the layout the crops come in (fastest for the convolutions)
    z = normalize_crops(torch.randint(0, 255, (n, 3, net.template_size, net.template_size), generator=gen,
                                      dtype=torch.uint8).to(device)).contiguous(memory_format=cl)
    x = normalize_crops(torch.randint(0, 255, (2 * n, 3, net.search_size, net.search_size), generator=gen,
                                      dtype=torch.uint8).to(device)).contiguous(memory_format=cl)
    sync(device)
    encode = getattr(net, "_unpatched_encode_template", net.encode_template)
    track_from = getattr(net, "_unpatched_track_from", net.track_from)

    def run() -> None:
        with torch.inference_mode():
            tf = encode(z).repeat(2)
            for _ in range(1, t_max):
                track_from(tf, x)

    return run


# -------------------------------------------------------------------------------------------- main
def build(args: argparse.Namespace, device: torch.device):
    from ltr_slt.models.tracking.transt import transt_resnet50, transt_tiny
    from ltr_slt.train_settings.slt._common import SLT_TRANST_DEFAULTS, build_tracker_and_actor
    import types

    torch.manual_seed(0)
    net = (transt_tiny() if args.tiny else transt_resnet50(None)).to(device).eval()
    settings = types.SimpleNamespace(**SLT_TRANST_DEFAULTS)
    tracker, actor = build_tracker_and_actor(net, settings, device)
    return net, tracker, actor


class FollowGT:
    """Realistic geometry with any weights: the net's boxes become the GT of the frame being tracked.

    Both loops call ``encode_template`` once per run (for the N clips of a prefix of ``clips``) and
    then ``track_from`` once per frame with rows ``k`` belonging to clip ``k % N`` (copy-major).
    At track call ``t`` the crop is centred on the previous estimate, which (by induction) is the GT
    of frame ``t - 1``; the returned box is the GT of frame ``t`` in that crop's normalised
    coordinates, for every candidate (so greedy and sampled copies follow the GT alike and the
    search side stays what a tracker following the target uses). The network still runs in full;
    only its ``pred_boxes`` are replaced (one small indexing op per frame), and only without
    autograd (tracking), never in learning. ``restore()`` undoes it.
    """

    def __init__(self, net: torch.nn.Module, clips: List[Clip], search_area_factor: float = 4.0) -> None:
        gt = torch.as_tensor(np.stack([np.asarray(c.search_boxes, np.float64) for c in clips], 1))  # [T, N, 4]
        centre, size = gt[..., :2] + gt[..., 2:] / 2, gt[..., 2:]
        w, h = size[..., 0], size[..., 1]
        pad = (search_area_factor - 1) * (w + h) / 2
        side = torch.ceil(torch.sqrt((w + pad) * (h + pad)))[..., None]  # [T, N, 1] s_x around frame t
        box = torch.zeros_like(gt)
        box[1:, :, :2] = (centre[1:] - centre[:-1]) / side[:-1] + 0.5
        box[1:, :, 2:] = size[1:] / side[:-1]
        self.table = box.float()  # [T, N, 4]; row t = the answer to the t-th track call
        self.search_sides = side[1:, :, 0]  # [T-1, N] the sides a GT-following tracker crops with
        self.net, self.n, self.t = net, 1, 0
        self._tables: Dict[Tuple[torch.device, int, int], torch.Tensor] = {}
        net._unpatched_encode_template = net.encode_template
        net._unpatched_track_from = net.track_from
        net.encode_template = self._encode_template
        net.track_from = self._track_from

    def _encode_template(self, z: torch.Tensor, *a: Any, **k: Any) -> Any:
        self.n, self.t = int(z.shape[0]), 0
        return self.net._unpatched_encode_template(z, *a, **k)

    def _track_from(self, *a: Any, **k: Any) -> Dict[str, torch.Tensor]:
        out = self.net._unpatched_track_from(*a, **k)
        if torch.is_grad_enabled():  # learning (with autograd) sees the network's own boxes
            return out
        self.t = min(self.t + 1, self.table.shape[0] - 1)
        boxes = out["pred_boxes"]  # [B, A, 4]
        key = (boxes.device, boxes.shape[0], self.n)
        table = self._tables.get(key)
        if table is None:  # rows k -> clip k % n, for every frame at once, moved to the device once
            table = self.table[:, torch.arange(boxes.shape[0]) % self.n].to(boxes.device)  # [T, B, 4]
            self._tables[key] = table
        out["pred_boxes"] = table[self.t][:, None, :].to(boxes.dtype).expand_as(boxes)
        return out

    def restore(self) -> None:
        for name in ("encode_template", "track_from"):
            delattr(self.net, name)
            delattr(self.net, f"_unpatched_{name}")


def print_ratio_table(rows: List[Tuple[str, float]], t_net: float, t_ref: float, unit_count: int,
                      unit: str = "frames/s") -> None:
    """Time, throughput, efficiency (network / time) and speed-up over the official-style variant."""
    print(f"{'variant':<16}{'time [s]':>10}{unit:>10}{'net/time':>10}{'vs official':>13}")
    for name, t in rows:
        print(f"{name:<16}{t:>10.3f}{unit_count / t:>10.1f}{t_net / t:>10.3f}{t_ref / t:>12.2f}x")


def print_clock_tables(names: List[str], timings: Timings, count: int, unit: str = "frames/s",
                       cpu: bool = True) -> None:
    """Wall-clock table and (``cpu``) process-CPU-time table; names = [network only, ours, official-style].

    Besides the ratio of medians, the paired ratio (median over rounds of official / ours measured
    in the same round) is printed: it is the more robust figure on a loaded machine.
    """
    clocks = [("wall clock", "wall", timings.wall)] + ([("process CPU time", "cpu", timings.cpu)] if cpu else [])
    for label, key, times in clocks:
        t_net, t_ours, t_off = times
        print(f"-- {label} (median of {len(timings.wall_rounds)} rounds)")
        print_ratio_table(list(zip(names, times)), t_net, t_off, count, unit)
        print(f"   ours vs official-style: {t_off / t_ours:.2f}x (paired per round: "
              f"{timings.paired(2, 1, key):.2f}x); network-only / ours: {t_net / t_ours:.3f} "
              f"(paired: {timings.paired(0, 1, key):.3f})\n")


def parse_machine_args(parser: argparse.ArgumentParser, argv: List[str] | None) -> Tuple[argparse.Namespace, torch.device]:
    """Add ``--threads``, parse, apply the thread count; returns (args, ``torch.device(args.device)``)."""
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's); 1 is steadier on a shared machine")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args, torch.device(args.device)


def main(argv: List[str] | None = None) -> int:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    parser.add_argument("--num-seq", type=int, default=None, help="clips per iteration (GPU default 8, CPU 2)")
    parser.add_argument("--num-frames", type=int, default=None, help="frames per clip (GPU default 24, CPU 4)")
    parser.add_argument("--num-seq-backward", type=int, default=2)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=5, help="alternating timed rounds (medians compared)")
    parser.add_argument("--tiny", action="store_true", help="tiny TransT instead of TransT-R50")
    parser.add_argument("--skip-learn", action="store_true")
    parser.add_argument("--geometry", choices=["gt", "random"], default="gt",
                        help="gt: the boxes follow the ground truth (search side ~300 px, what a trained "
                             "tracker does); random: whatever the random-weight net predicts (boxes grow "
                             "to the frame; not representative)")
    args, device = parse_machine_args(parser, argv)
    on_gpu = device.type == "cuda"
    args.num_seq = args.num_seq or (8 if on_gpu else 2)
    args.num_frames = args.num_frames or (24 if on_gpu else 4)
    if on_gpu:
        torch.backends.cudnn.benchmark = True

    net, tracker, actor = build(args, device)
    clips = make_clips(args.num_seq, args.num_frames, args.width, args.height)
    if args.geometry == "gt":
        FollowGT(net, clips, tracker.search_area_factor)
    print(f"config: {'tiny TransT' if args.tiny else 'TransT-R50'} on {device} "
          f"({torch.cuda.get_device_name(device) if on_gpu else f'{torch.get_num_threads()} CPU threads'}), "
          f"{args.num_seq} clips x {args.num_frames} frames ({args.num_frames - 1} tracked, rollout batch "
          f"{2 * args.num_seq}), frames {args.width}x{args.height}, median of {args.repeats} alternating rounds")

    net_fn = network_only(net, clips, device)
    timings = interleaved_clocks(
        [net_fn, lambda: rollout(tracker, clips, device),
         lambda: official_style_rollout(net, tracker.policy, clips, device)], device, args.repeats)
    explore_mem: Dict[str, float] = {}
    with peak_memory(device, explore_mem):
        traj = rollout(tracker, clips, device)

    frames = 2 * args.num_seq * (args.num_frames - 1)
    sides = traj.crop_sides.float()
    print(f"geometry: {args.geometry}; search side used: mean {sides.mean():.0f} px "
          f"(min {sides.min():.0f}, max {sides.max():.0f})\n")
    print_clock_tables(["network only", "ours", "official-style"], timings, frames, cpu=not on_gpu)
    print(f"explore peak memory: {explore_mem.get('peak_growth_mib', float('nan')):.1f} MiB above the start "
          f"({'CUDA allocator' if on_gpu else 'process RSS'})")

    if not args.skip_learn:
        from ltr_slt.trainers.slt_trainer import chunk_indices
        rew = compute_rewards(traj)
        adv = broadcast_advantages(rew.reward, traj.frame_mask)
        learn_mem: Dict[str, float] = {}

        def learn() -> None:
            norm = actor.normaliser(traj)
            net.zero_grad(set_to_none=True)
            for idx in chunk_indices(traj.num_clips, args.num_seq_backward):
                loss, _ = actor.learn(traj.chunk(idx), adv[:, idx], norm)
                loss.backward()

        with peak_memory(device, learn_mem):
            t_learn, _ = timed(learn, device)
        print(f"learn ({args.num_seq_backward} clips per chunk): {t_learn:.3f} s, peak memory "
              f"{learn_mem.get('peak_growth_mib', float('nan')):.1f} MiB above the start")
        if on_gpu:
            print(f"absolute CUDA peaks: explore {explore_mem['peak_mib']:.0f} MiB, "
                  f"learn {learn_mem['peak_mib']:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
