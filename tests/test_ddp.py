"""DDP: 2 gloo ranks, each rolling out its own clips, make the same update as 1 process on all clips.

Each rank explores its clips with its own RNG stream; the single-process reference rolls out the
same clips with the same streams, concatenates the two trajectories and learns on all of them at
once. The loss normalisers are summed over ranks, so the averaged gradient is the gradient of
the union (with different numbers of frames / positive cells per rank).
"""
from __future__ import annotations

import os
import types

import torch
import torch.multiprocessing as mp

from ltr_slt.slt.reward import broadcast_advantages, compute_rewards
from ltr_slt.slt.trajectory import Trajectory
from ltr_slt.train_settings.slt._common import apply_defaults, build_tracker_and_actor
from ltr_slt.trainers.slt_trainer import SLTTrainer
from helpers import exit_worker
from test_rollout import make_clips, make_net

LR = 0.5
RANK_CLIPS = ([3, 2], [2])  # rank 1 has fewer tracked frames: normalisers must be global
RANK_RNG = (100, 101)


def _make_trainer(tmp: str) -> SLTTrainer:
    settings = types.SimpleNamespace(env=types.SimpleNamespace(workspace_dir=None), device="cpu",
                                     project_path="ltr/slt/ddp_test", print_interval=100)
    apply_defaults(settings, {"num_seq_backward": 1})
    net = make_net(0)
    tracker, actor = build_tracker_and_actor(net, settings, "cpu")
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)  # linear in the gradient: a sharp comparison
    return SLTTrainer(actor, [], optimizer, settings, tracker=tracker)


def _rank_clips(rank: int):
    return make_clips(list(RANK_CLIPS[rank]), seed=20 + rank)


def _worker(rank: int, out: str) -> None:
    torch.set_num_threads(1)
    from ltr_slt.admin import distributed
    # File rendezvous: no TCP port that a concurrently running test could grab first.
    distributed.init_distributed(device="cpu", init_method=f"file://{os.path.join(out, 'rendezvous')}",
                                 rank=rank, world_size=2)
    try:
        trainer = _make_trainer(out)
        torch.manual_seed(RANK_RNG[rank])  # the rank's own exploration stream
        stats = trainer.train_step(_rank_clips(rank))
        if rank == 0:
            torch.save({"net": trainer.net.state_dict(), "stats": stats}, os.path.join(out, "ddp.pt"))
    finally:
        distributed.cleanup()
    exit_worker()


def test_two_gloo_ranks_equal_one_process_on_the_same_clips(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path),), nprocs=2, join=True)
    ddp = torch.load(tmp_path / "ddp.pt")

    trainer = _make_trainer(str(tmp_path))
    start = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trajs = []
    for rank in range(2):
        torch.manual_seed(RANK_RNG[rank])
        trajs.append(trainer.explore(_rank_clips(rank)))
    traj = Trajectory.cat(trajs)
    adv = broadcast_advantages(compute_rewards(traj).reward, traj.frame_mask)
    ref_stats = trainer.learn(traj, adv)
    ref = trainer.net.state_dict()
    for key in ("Loss/total", "Loss/sl_clf", "Loss/bbox", "Loss/giou", "entropy"):  # logged as global values
        assert abs(ddp["stats"][key] - ref_stats[key]) <= 1e-4 * abs(ref_stats[key]) + 1e-7, key

    moved, worst = 0, 0.0
    for name, value in ref.items():
        if not value.dtype.is_floating_point:
            continue
        step_ref = value - start[name]
        step_ddp = ddp["net"][name] - start[name]
        if step_ref.abs().max() > 0:
            moved += 1
        err = float((step_ddp - step_ref).norm() / step_ref.norm().clamp(min=1e-12))
        if step_ref.norm() > 1e-6:
            worst = max(worst, err)
        assert err < 1e-3 or (step_ddp - step_ref).abs().max() < 1e-8, (name, err)  # per-rank normalisers: ~1e-1
    assert moved > 10
    print(f"largest relative difference of the DDP update: {worst:.2e}")
