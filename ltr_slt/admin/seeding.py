"""Seeding and RNG state capture.

Per-rank and per-worker seeds are derived from the one user seed with numpy's ``SeedSequence``
(hash-quality mixing, so rank 1 and worker 1 never collide with seed + 1 of another run).
Rank 0 of a single-process run keeps the user seed itself, so ``--seed 12345`` reproduces
ltr/SLT's single-GPU setting. RNG states of python, numpy, torch and CUDA are captured into
checkpoints so a resumed run continues the exact random stream.
"""
from __future__ import annotations

import logging
import os
import random
from typing import Any, Dict, Optional

import numpy as np
import torch

logger = logging.getLogger(__name__)

__all__ = ["seed_everything", "rank_seed", "worker_seed", "WorkerSeeder", "get_rng_state",
           "set_rng_state", "DEFAULT_SEED"]

DEFAULT_SEED = 12345  # SLT's hard-coded seed (ltr/run_training.py)


def _derive(*keys: int) -> int:
    """Deterministic 31-bit seed from a tuple of non-negative ints."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1, dtype=np.uint32)[0]
               & 0x7FFFFFFF)


def rank_seed(seed: int, rank: int) -> int:
    """Seed of a DDP rank: rank 0 keeps ``seed``, others get a derived, well-mixed seed."""
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    return int(seed) if rank == 0 else _derive(seed, rank, 0x5EED)


def worker_seed(seed: int, rank: int, worker_id: int) -> int:
    """Seed of a DataLoader worker of a rank (distinct from every rank seed)."""
    return _derive(seed, rank, worker_id, 0xD474)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy, torch (all devices); optionally ask for deterministic cuDNN."""
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects child processes only (spawn workers)
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


class WorkerSeeder:
    """Picklable ``worker_init_fn``: seeds python/numpy/torch in each DataLoader worker.

    torch already seeds its own RNG per worker from the parent's generator; numpy and python are
    not, which would make every worker draw the same "random" clips.
    """

    def __init__(self, seed: int, rank: int = 0) -> None:
        self.seed = int(seed)
        self.rank = int(rank)

    def __call__(self, worker_id: int) -> None:
        # torch.initial_seed() differs per worker and per epoch (drawn from the parent RNG), so
        # mixing it in keeps epochs different while staying reproducible under a restored RNG.
        s = _derive(self.seed, self.rank, worker_id, torch.initial_seed() % (2 ** 32))
        random.seed(s)
        np.random.seed(s)
        torch.manual_seed(s)

    def __repr__(self) -> str:
        return f"WorkerSeeder(seed={self.seed}, rank={self.rank})"


def get_rng_state() -> Dict[str, Any]:
    """Current RNG states of python, numpy, torch CPU and every visible CUDA device."""
    state: Dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": None,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Optional[Dict[str, Any]]) -> None:
    """Restore states captured by :func:`get_rng_state` (missing parts are left alone)."""
    if not state:
        return
    if state.get("python") is not None:
        random.setstate(state["python"])
    if state.get("numpy") is not None:
        np.random.set_state(state["numpy"])
    if state.get("torch") is not None:
        torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8).cpu())
    cuda = state.get("cuda")
    if cuda is not None:
        if torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([torch.as_tensor(s, dtype=torch.uint8).cpu() for s in cuda])
        else:
            logger.warning("checkpoint holds CUDA RNG states for %d devices, %d visible now: CUDA RNG "
                           "not restored", len(cuda), torch.cuda.device_count() if torch.cuda.is_available() else 0)
