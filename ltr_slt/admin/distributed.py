"""DDP helpers for ``torchrun --nproc_per_node K`` (one process per device, gloo on CPU, nccl on CUDA).

Design choice — explicit gradient all-reduce instead of ``DistributedDataParallel``:
the SLT learner runs several forward/backward passes per optimiser step (chunks of
``num_seq_backward`` clips) and the rollout calls the network's own methods (``encode_template``,
``track_from``) that a DDP wrapper would not see. So the network is never wrapped; each rank
accumulates its gradients over all its chunks, then :func:`all_reduce_gradients` averages them
once per step (one flat buffer per dtype/device). Same update as DDP, no ``no_sync`` juggling, no
``find_unused_parameters``; the price (no overlap of communication with backward) is negligible
next to the rollout. Initial weights are made equal with :func:`broadcast_module`.

Without ``torch.distributed`` initialised every helper is a cheap no-op (rank 0, world size 1).
"""
from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Union

import torch
import torch.distributed as dist
import torch.nn as nn

logger = logging.getLogger(__name__)

__all__ = ["DistInfo", "env_dist_info", "init_distributed", "is_distributed", "get_rank",
           "get_world_size", "get_local_rank", "is_main_process", "barrier", "cleanup",
           "all_reduce_gradients", "all_reduce_mean", "all_gather_object", "broadcast_module",
           "unwrap_model", "default_backend"]


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError as err:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from err


def env_dist_info() -> DistInfo:
    """Rank layout from torchrun's variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``."""
    info = DistInfo(rank=_env_int("RANK", 0), world_size=_env_int("WORLD_SIZE", 1),
                    local_rank=_env_int("LOCAL_RANK", 0))
    if not 0 <= info.rank < info.world_size:
        raise ValueError(f"RANK={info.rank} is outside [0, WORLD_SIZE={info.world_size})")
    return info


def default_backend(device: Union[str, torch.device, None]) -> str:
    """nccl for CUDA devices, gloo otherwise."""
    return "nccl" if device is not None and torch.device(device).type == "cuda" else "gloo"


def init_distributed(device: Union[str, torch.device, None] = None, backend: Optional[str] = None,
                     init_method: Optional[str] = None, rank: Optional[int] = None,
                     world_size: Optional[int] = None, timeout_s: float = 1800.0) -> DistInfo:
    """Initialise the default process group if this process is one of several ranks.

    ``rank`` / ``world_size`` / ``init_method`` default to torchrun's environment (``env://``).
    ``device`` picks the backend (cuda -> nccl, else gloo); for CUDA the process is bound to
    ``cuda:<LOCAL_RANK>``. Returns the layout; world size 1 initialises nothing.
    """
    info = env_dist_info()
    if rank is not None or world_size is not None:
        info = DistInfo(rank=info.rank if rank is None else rank,
                        world_size=info.world_size if world_size is None else world_size,
                        local_rank=info.local_rank if rank is None else rank)
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), info.local_rank)
    if not info.distributed:
        return info
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={info.world_size} but torch.distributed is not available "
                           "in this torch build")
    backend = backend or default_backend(device)
    if backend == "nccl":
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group(backend=backend, init_method=init_method or "env://", rank=info.rank,
                            world_size=info.world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    logger.info("distributed: rank %d / %d (local rank %d), backend %s", info.rank,
                info.world_size, info.local_rank, backend)
    return info


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def get_local_rank() -> int:
    return _env_int("LOCAL_RANK", 0)


def is_main_process() -> bool:
    """Rank 0 writes checkpoints, tensorboard and progress lines."""
    return get_rank() == 0


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def cleanup() -> None:
    """Destroy the process group (safe to call when none exists).

    All ranks meet in a barrier first: a rank that tears its gloo pairs down while a peer is still
    finishing its last collective makes that peer abort ("terminate called without an active exception").
    """
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except RuntimeError:  # a peer is already gone (error path): nothing left to wait for
            pass
        dist.destroy_process_group()


def unwrap_model(module: Any) -> Any:
    """Strip ``DataParallel`` / ``DistributedDataParallel`` / ltr ``MultiGPU`` wrappers."""
    while isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)) or (
            type(module).__name__ == "MultiGPU" and hasattr(module, "module")):
        module = module.module
    return module


def all_reduce_gradients(params: Iterable[torch.nn.Parameter], average: bool = True,
                         extra_flags: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
    """Sum (average) ``.grad`` of ``params`` over ranks, in place.

    A parameter with no gradient on some ranks (unused in their chunks) is treated as a zero
    gradient there, as long as any rank has one; parameters without gradient on every rank keep
    ``grad = None`` (so the optimiser skips them everywhere alike). ``extra_flags`` (float tensor)
    is summed along with the gradient-presence mask, e.g. to agree on "some rank saw a
    non-finite loss" with no extra collective; its reduced value is returned.
    """
    params = [p for p in params if p.requires_grad]
    if not is_distributed():
        return extra_flags
    world = dist.get_world_size()
    device = next((p.grad.device for p in params if p.grad is not None),
                  params[0].device if params else torch.device("cpu"))
    n_extra = 0 if extra_flags is None else extra_flags.numel()
    mask = torch.zeros(len(params) + n_extra, dtype=torch.float32, device=device)
    for i, p in enumerate(params):
        if p.grad is not None:
            mask[i] = 1.0
    if extra_flags is not None:
        mask[len(params):] = extra_flags.reshape(-1).to(device=device, dtype=torch.float32)
    dist.all_reduce(mask)  # one tiny collective: who has which gradient
    used = [p for i, p in enumerate(params) if mask[i].item() > 0]
    for p in used:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    # bucket by (device, dtype): one flat all-reduce per bucket
    buckets: dict = {}
    for p in used:
        buckets.setdefault((p.grad.device, p.grad.dtype), []).append(p)
    for plist in buckets.values():
        flat = torch.cat([p.grad.reshape(-1) for p in plist])
        dist.all_reduce(flat)
        if average:
            flat /= world
        offset = 0
        for p in plist:
            n = p.grad.numel()
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
            offset += n
    return None if extra_flags is None else mask[len(params):].clone()


def all_reduce_mean(value: Union[float, torch.Tensor]) -> Union[float, torch.Tensor]:
    """Mean over ranks of a number or tensor (for logging); identity without DDP."""
    if not is_distributed():
        return value
    is_tensor = isinstance(value, torch.Tensor)
    t = value.detach().clone().float() if is_tensor else torch.tensor(float(value), dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.to(torch.device("cuda", torch.cuda.current_device()))
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return t if is_tensor else float(t.item())


def all_gather_object(obj: Any) -> List[Any]:
    """List of ``obj`` from every rank (``[obj]`` without DDP)."""
    if not is_distributed():
        return [obj]
    out: List[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


@torch.no_grad()
def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy parameters and buffers of rank ``src`` to every rank (equal start weights)."""
    if not is_distributed():
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=src)
