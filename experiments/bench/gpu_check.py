"""One prepared GPU check (a few minutes on one GPU): rollout efficiency, SLT it/s per precision, memory, tracker FPS.

    python experiments/bench/gpu_check.py                     # TransT-R50 (random init), 8 clips x 24 frames, cuda
    python experiments/bench/gpu_check.py --quick --device cpu  # tiny TransT, seconds on a CPU (tested)

Prints, in one run:

1. rollout efficiency (network time / rollout time) of ours and of the official-style per-copy
   loop, R50 at 8 clips x 24 frames, interleaved medians (``bench_rollout.py``);
2. SLT iterations/s (explore + reward + chunked learn + AdamW step, the real
   :class:`~ltr_slt.trainers.slt_trainer.SLTTrainer`) in fp32 (``tf32=False``), TF32 (the default)
   and bf16 autocast (``amp='bf16'``, ``amp_rollout=True``), with the peak memory of the explore
   and learn phases (CUDA allocator peak above the start; process RSS growth on CPU) and the
   iteration's reward / entropy, so precision effects on the statistics are visible too;
3. evaluation tracker FPS of our pytracking tracker vs the official-style per-frame loop on one
   sequence (``bench_tracker.py``).

All boxes follow the ground truth (:class:`~experiments.bench.bench_rollout.FollowGT`): the search
side stays ~300 px on 640x480 frames as for a trained tracker, whatever the (random) weights say.
The total wall time is printed at the end.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Dict, List

import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from experiments.bench.bench_rollout import (FollowGT, interleaved_clocks, make_clips, network_only,  # noqa: E402
                                             official_style_rollout, peak_memory, sync)
from experiments.bench.bench_tracker import measure as measure_tracker  # noqa: E402
from ltr_slt.slt.reward import broadcast_advantages, compute_rewards  # noqa: E402
from ltr_slt.slt.rollout import rollout  # noqa: E402

PRECISIONS = [("fp32", {"tf32": False, "amp": None, "amp_rollout": False}),
              ("tf32", {"tf32": True, "amp": None, "amp_rollout": False}),
              ("bf16-autocast", {"tf32": True, "amp": "bf16", "amp_rollout": True})]


def make_trainer(net: torch.nn.Module, device: torch.device, workspace: str, **knobs):
    """The real SLTTrainer (paper defaults + ``knobs``) around ``net``; no loader (driven step by step)."""
    from ltr_slt.admin.environment import env_settings
    from ltr_slt.admin.settings import Settings
    from ltr_slt.train_settings.slt._common import (apply_defaults, build_lr_scheduler, build_optimizer,
                                                    build_tracker_and_actor)
    from ltr_slt.trainers.slt_trainer import SLTTrainer

    settings = Settings(env_settings(workspace_dir=workspace))
    settings.project_path, settings.module_name, settings.script_name = "ltr/slt/gpu_check", "slt", "gpu_check"
    settings.device = str(device)
    apply_defaults(settings, knobs)
    tracker, actor = build_tracker_and_actor(net, settings, device)
    optimizer = build_optimizer(net, settings)
    return SLTTrainer(actor, [], optimizer, settings, build_lr_scheduler(optimizer, settings), tracker=tracker)


def slt_iteration(trainer, clips, device: torch.device) -> Dict[str, float]:
    """One SLT iteration (SLTTrainer.train_step's phases), timed and with per-phase peak memory."""
    m_explore: Dict[str, float] = {}
    m_learn: Dict[str, float] = {}
    sync(device)
    t0 = time.perf_counter()
    with peak_memory(device, m_explore):
        traj = trainer.explore(clips)
    rew = compute_rewards(traj, trainer.reward_name, trainer.reward_invisible)
    with peak_memory(device, m_learn):
        stats = trainer.learn(traj, broadcast_advantages(rew.reward, traj.frame_mask))
    sync(device)
    return {"time": time.perf_counter() - t0, "explore_mib": m_explore.get("peak_growth_mib", float("nan")),
            "learn_mib": m_learn.get("peak_growth_mib", float("nan")), "reward": float(rew.reward.mean()),
            "entropy": stats.get("entropy", float("nan")), "skipped": stats.get("skipped", 0.0)}


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny TransT with half-size crops, 2 clips x 3 frames, one round (CPU test)")
    parser.add_argument("--device", default=None, help="default: cuda when available (cpu with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="alternating rounds / SLT iterations (default 3)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's); 1 is steadier on a shared machine")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() and not args.quick else "cpu"))
    if args.quick:
        num_seq, num_frames, width, height, track_frames = 2, 3, 320, 240, 6
    else:
        num_seq, num_frames, width, height, track_frames = 8, 24, 640, 480, 100
    repeats = args.repeats or (1 if args.quick else 3)
    from ltr_slt.models.tracking.transt import transt_resnet50, transt_tiny
    from ltr_slt.trainers.base_trainer import set_tf32

    torch.manual_seed(0)
    net = (transt_tiny(template_size=64, search_size=128) if args.quick else transt_resnet50(None)).to(device)
    clips = make_clips(num_seq, num_frames, width, height)
    on_gpu = device.type == "cuda"
    if on_gpu:
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device) if on_gpu else f"{torch.get_num_threads()} CPU threads"
    print(f"gpu_check: {'tiny TransT (64/128 px crops)' if args.quick else 'TransT-R50 (random init)'} on "
          f"{device} ({name}), torch {torch.__version__}; {num_seq} clips x {num_frames} frames {width}x{height}, "
          f"boxes follow the GT, {repeats} round(s)", flush=True)

    with tempfile.TemporaryDirectory() as workspace:
        # 1. rollout efficiency, default precision (TF32 on CUDA)
        trainer = make_trainer(net, device, workspace, tf32=True)
        follow = FollowGT(net, clips, trainer.tracker.search_area_factor)
        net.eval()
        tm = interleaved_clocks(
            [network_only(net, clips, device), lambda: rollout(trainer.tracker, clips, device),
             lambda: official_style_rollout(net, trainer.tracker.policy, clips, device)], device, repeats)
        t_net, t_ours, t_off = tm.wall
        print(f"\n[1] rollout ({2 * num_seq} copies x {num_frames - 1} frames, search side ~"
              f"{float(follow.search_sides.mean()):.0f} px, median wall of {repeats}): network {t_net:.3f} s | "
              f"ours {t_ours:.3f} s (efficiency {t_net / t_ours:.3f}) | official-style {t_off:.3f} s "
              f"(efficiency {t_net / t_off:.3f}) | ours vs official-style {t_off / t_ours:.2f}x "
              f"(paired {tm.paired(2, 1):.2f}x)", flush=True)

        # 2. SLT iterations/s per precision
        print(f"\n[2] {'precision':<15}{'it/s':>8}{'s/it':>8}{'explore MiB':>13}{'learn MiB':>11}"
              f"{'reward':>10}{'entropy':>9}   (peak memory above the start: "
              f"{'CUDA allocator' if on_gpu else 'process RSS'})")
        for label, knobs in PRECISIONS:
            try:
                trainer = make_trainer(net, device, workspace, **knobs)
                slt_iteration(trainer, clips, device)  # warm-up (cudnn autotune, allocator)
                runs = [slt_iteration(trainer, clips, device) for _ in range(repeats)]
                dt = sorted(r["time"] for r in runs)[len(runs) // 2]
                last = runs[-1]
                print(f"    {label:<15}{1 / dt:>8.3f}{dt:>8.2f}{last['explore_mib']:>13.0f}{last['learn_mib']:>11.0f}"
                      f"{last['reward']:>10.4f}{last['entropy']:>9.3f}", flush=True)
            except RuntimeError as e:  # e.g. an op without bf16 support on this build: report, go on
                print(f"    {label:<15} failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}", flush=True)
        set_tf32(True)
        follow.restore()

        # 3. evaluation tracker FPS, one sequence, batch 1
        net.eval()
        seq = make_clips(1, track_frames, width, height, seed=1)[0]
        FollowGT(net, [seq])
        r = measure_tracker(net, seq, device, repeats)
        n = track_frames - 1
        print(f"\n[3] tracker ({n} frames): network {n / r['network']:.1f} FPS | ours {n / r['ours']:.1f} FPS | "
              f"official-style {n / r['official']:.1f} FPS | ours vs official-style {r['official'] / r['ours']:.2f}x "
              f"(paired {r['timings'].paired(2, 1):.2f}x) | largest box difference {r['max_box_diff']:.1e} px")
    print(f"\ngpu_check done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
