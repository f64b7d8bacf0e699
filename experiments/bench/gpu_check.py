"""One prepared GPU check (< 8 min on one H200): rollout efficiency, SLT it/s per precision, peak memory, tracker FPS.

    python experiments/bench/gpu_check.py                 # TransT-R50 (random init), 8 clips x 24 frames, cuda
    python experiments/bench/gpu_check.py --quick         # tiny TransT, 2 clips x 4 frames, runs on the CPU

All boxes use the realistic geometry of ``bench_rollout.py`` (search side ~300 px). Prints:
rollout efficiency (network time / rollout time) ours vs the official-style loop; SLT iterations/s
(explore + learn) in fp32, TF32 and bf16 autocast; peak memory per phase
(``torch.cuda.max_memory_allocated`` after a reset); single-clip tracker FPS vs the official-style
per-frame loop.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import types
from typing import List

import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from experiments.bench.bench_rollout import (make_clips, network_only, official_style_rollout,  # noqa: E402
                                             realistic_geometry, sync, timed)
from ltr_slt.slt.reward import broadcast_advantages, compute_rewards  # noqa: E402
from ltr_slt.slt.rollout import rollout  # noqa: E402


def _set_tf32(on: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def _peak_mib(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == "cuda" else float("nan")


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny net, 2 clips x 4 frames (CPU test)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--iters", type=int, default=None, help="timed SLT iterations per precision")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() and not args.quick else "cpu"))
    num_seq, num_frames = (2, 4) if args.quick else (8, 24)
    iters = args.iters or (1 if args.quick else 3)
    from ltr_slt.models.tracking.transt import transt_resnet50, transt_tiny
    from ltr_slt.train_settings.slt._common import SLT_TRANST_DEFAULTS, build_tracker_and_actor
    from ltr_slt.trainers.slt_trainer import chunk_indices

    torch.manual_seed(0)
    net = (transt_tiny() if args.quick else transt_resnet50(None)).to(device)
    tracker, actor = build_tracker_and_actor(net, types.SimpleNamespace(**SLT_TRANST_DEFAULTS), device)
    clips = make_clips(num_seq, num_frames, 640, 480)
    realistic_geometry(net, clips)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"gpu_check: {'tiny TransT' if args.quick else 'TransT-R50 (random init)'} on {device} ({name}), "
          f"{num_seq} clips x {num_frames} frames, realistic geometry")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    # 1. rollout efficiency (fp32, TF32 off)
    _set_tf32(False)
    net.eval()
    rollout(tracker, clips[:1], device)
    net_fn = network_only(net, clips, device)
    net_fn()
    t_net = min(timed(net_fn, device)[0] for _ in range(2))
    _reset_peak(device)
    t_ours, traj = timed(lambda: rollout(tracker, clips, device), device)
    peak_explore = _peak_mib(device)
    t_off = timed(lambda: official_style_rollout(net, tracker.policy, clips, device), device)[0]
    print(f"\n[rollout] network {t_net:.3f} s | ours {t_ours:.3f} s (eff {t_net / t_ours:.3f}) | "
          f"official-style {t_off:.3f} s (eff {t_net / t_off:.3f}) | ours/official speed-up {t_off / t_ours:.2f}x")

    # 2. SLT iterations/s per precision (explore + learn, no optimiser step)
    def iteration(autocast_bf16: bool) -> dict:
        ctx = torch.autocast(device.type, dtype=torch.bfloat16) if autocast_bf16 else contextlib.nullcontext()
        mem = {}
        with ctx:
            net.eval()
            _reset_peak(device)
            tr = rollout(tracker, clips, device)
            mem["explore"] = _peak_mib(device)
            rew = compute_rewards(tr)
            adv = broadcast_advantages(rew.reward, tr.frame_mask)
            net.train()
            _reset_peak(device)
            norm = actor.normaliser(tr)
            net.zero_grad(set_to_none=True)
            for idx in chunk_indices(tr.num_clips, 2):
                loss, _ = actor.learn(tr.chunk(idx), adv[:, idx], norm)
                loss.backward()
            mem["learn"] = _peak_mib(device)
        return mem

    print(f"\n{'precision':<12}{'it/s':>8}{'s/it':>8}{'explore peak MiB':>18}{'learn peak MiB':>16}")
    for label, tf32, bf16 in [("fp32", False, False), ("tf32", True, False), ("bf16-autocast", False, True)]:
        _set_tf32(tf32)
        try:
            iteration(bf16)  # warm-up
            sync(device)
            t0 = time.perf_counter()
            for _ in range(iters):
                mem = iteration(bf16)
            sync(device)
            dt = (time.perf_counter() - t0) / iters
            print(f"{label:<12}{1 / dt:>8.3f}{dt:>8.2f}{mem['explore']:>18.0f}{mem['learn']:>16.0f}", flush=True)
        except (RuntimeError, TypeError) as e:  # e.g. an op without bf16 support: report, go on
            print(f"{label:<12} failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
    _set_tf32(False)
    print(f"(fp32 explore peak in part 1: {peak_explore:.0f} MiB)")

    # 3. eval tracker FPS: one clip tracked by our batched tracker vs the official-style per-frame loop
    net.eval()
    one = clips[:1]
    frames = 2 * (num_frames - 1)  # greedy + sampled copy per frame in both loops
    t_ours1 = min(timed(lambda: rollout(tracker, one, device), device)[0] for _ in range(2))
    t_off1 = min(timed(lambda: official_style_rollout(net, tracker.policy, one, device), device)[0] for _ in range(2))
    print(f"\n[tracker, 1 clip] ours {frames / t_ours1:.1f} FPS | official-style {frames / t_off1:.1f} FPS | "
          f"ratio {t_off1 / t_ours1:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
