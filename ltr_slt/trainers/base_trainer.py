"""Epoch loop, checkpoint/resume, stats, safe optimiser steps, AMP and DDP glue (ltr's BaseTrainer).

Subclasses either implement ``train_step(batch) -> stats`` (the default ``train_epoch`` cycles
every loader like ltr's ``LTRTrainer``) or override ``train_epoch()`` entirely (using
``self.epoch``). ``optimizer_step`` is the one place where gradients become an update: DDP
all-reduce, AMP unscale, clipping, non-finite checks, the step itself.

Differences from ltr, on purpose:
- no silent retry loop: a crash is logged with its traceback and re-raised; ``fail_safe=True``
  resumes from the last checkpoint at most ``max_retries`` times, each retry logged loudly;
- resume restores the LR scheduler, the RNG streams (per rank) and the AMP scaler too, so an
  interrupted run continues exactly like an uninterrupted one;
- a non-finite loss/gradient skips the step (counted as ``skipped_steps``); too many in a row
  abort with :class:`NonFiniteLossError`;
- ``LearningRate/group<i>`` is the lr actually used (``param_groups``), not ``get_lr()``.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import pickle
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import torch

from ltr_slt.admin import checkpoint as ckpt_io
from ltr_slt.admin.devices import check_device
from ltr_slt.data.sampler import BadDataError
from ltr_slt.admin import distributed as ddp
from ltr_slt.admin.seeding import get_rng_state, rank_seed, seed_everything, set_rng_state
from ltr_slt.admin.stats import AverageMeter, ProgressLogger, RunningAverage, StatValue, TensorboardWriter

logger = logging.getLogger(__name__)

__all__ = ["BaseTrainer", "StepResult", "NonFiniteLossError", "resolve_device", "set_tf32"]

_NO_AMP = (None, False, "", "none", "fp32", "float32")
_AMP_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
               "fp16": torch.float16, "float16": torch.float16}


class NonFiniteLossError(RuntimeError):
    """Too many consecutive optimiser steps had a non-finite loss or gradient."""


@dataclass
class StepResult:
    """Outcome of :meth:`BaseTrainer.optimizer_step`."""
    stepped: bool
    grad_norm: float          # total L2 norm before clipping (inf/nan when skipped for that reason)
    loss: Optional[float]
    reason: str = ""          # why the step was skipped ('' when stepped)


def resolve_device(settings: Any) -> torch.device:
    """``settings.device`` if set; else ``cuda:<LOCAL_RANK>`` if available and ``use_gpu``; else cpu."""
    requested = getattr(settings, "device", None)
    local_rank = ddp.get_local_rank()
    if requested:
        device = check_device(str(requested), "settings.device")  # DeviceError: one line naming the value
        if device.type == "cuda":
            if device.index is None:
                device = torch.device("cuda", local_rank if ddp.is_distributed() else
                                      torch.cuda.current_device())
        return device
    if getattr(settings, "use_gpu", True) and torch.cuda.is_available():
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def set_tf32(enabled: bool) -> None:
    """TF32 tensor cores for float32 matmuls and cuDNN convolutions (Ampere and later GPUs).

    Tensor-core speed for float32 matmuls at the cost of rounding their inputs to a 10-bit
    mantissa (~1e-3 relative), harmless for SLT's fine-tuning: accumulation, the policy, rewards
    and losses stay float32 (``experiments/bench/gpu_check.py`` prints fp32 vs TF32 iterations/s
    and statistics). torch >= 2.9 has a new precision API
    and refuses a mix of old and new calls, so only one of them is used.
    """
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):  # torch >= 2.9
        value = "tf32" if enabled else "ieee"
        matmul.fp32_precision = value
        torch.backends.cudnn.conv.fp32_precision = value
    else:
        matmul.allow_tf32 = bool(enabled)
        torch.backends.cudnn.allow_tf32 = bool(enabled)


def _loader_name(loader: Any, index: int) -> str:
    return str(getattr(loader, "name", "train" if index == 0 else f"loader{index}"))


def _to_number(name: str, value: Any) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"stat '{name}' is a tensor of shape {tuple(value.shape)}; return a number")
        return float(value.detach().item())
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"stat '{name}' has non-numeric value {value!r}") from err


class BaseTrainer:
    """Base of SLT and frame-level trainers: see module docstring.

    Settings read (all optional): ``device``, ``use_gpu``, ``env.workspace_dir``,
    ``env.tensorboard_dir``, ``project_path``, ``module_name``, ``script_name``, ``description``,
    ``print_interval`` (10), ``print_stats``, ``grad_clip_max_norm`` (None = no clipping),
    ``max_consecutive_nonfinite`` (20), ``amp`` (None | 'bf16' | 'fp16'), ``tf32`` (True: TF32
    matmuls / convolutions on CUDA, see :func:`set_tf32`; False = exact float32),
    ``keep_last_checkpoints`` (None = keep all), ``running_mean_stats`` ({'mIoU': (10, 100)}),
    ``seed`` (re-seeding when the world size changes on resume), ``checkpoint_dir``.
    """

    def __init__(self, actor: Any, loaders: Union[Any, Sequence[Any], None], optimizer: torch.optim.Optimizer,
                 settings: Any, lr_scheduler: Any = None) -> None:
        self.actor = actor
        if loaders is None:
            loaders = []
        elif not isinstance(loaders, (list, tuple)):
            loaders = [loaders]
        self.loaders = list(loaders)
        self.optimizer = optimizer
        self.settings = settings
        self.lr_scheduler = lr_scheduler

        self.epoch = 0
        self.skipped_steps = 0
        self.consecutive_nonfinite = 0
        self.stats: "OrderedDict[str, Any]" = OrderedDict(
            (_loader_name(l, i), None) for i, l in enumerate(self.loaders))
        self._last_step: Optional[StepResult] = None
        self._tensorboard: Optional[TensorboardWriter] = None

        self.rank = ddp.get_rank()
        self.world_size = ddp.get_world_size()
        self.is_main = self.rank == 0
        self.device = resolve_device(settings)
        self.update_settings(settings)

        self.actor.to(self.device)
        ddp.broadcast_module(self.net)  # equal start weights on every rank
        self._setup_amp()

    # ------------------------------------------------------------------ settings / device / amp
    def update_settings(self, settings: Any = None) -> None:
        """(Re)read the settings this class uses; ltr name kept."""
        if settings is not None:
            self.settings = settings
        s = self.settings
        self._checkpoint_dir = ckpt_io.checkpoint_dir(s)
        self.print_interval = int(getattr(s, "print_interval", None) or 10)
        self.print_stats = getattr(s, "print_stats", None)
        self.grad_clip_max_norm = getattr(s, "grad_clip_max_norm", None)
        # Factor from this trainer's gradient to the units grad_clip_max_norm is written in (1: the
        # same). SLTTrainer sets it per iteration so that the paper's threshold means what it meant.
        self.grad_norm_scale = 1.0
        self.max_consecutive_nonfinite = int(getattr(s, "max_consecutive_nonfinite", None) or 20)
        self.keep_last_checkpoints = getattr(s, "keep_last_checkpoints", None)
        windows = getattr(s, "running_mean_stats", None)
        self.running_mean_stats: Dict[str, tuple] = (
            {"mIoU": (10, 100)} if windows is None else {k: tuple(v) for k, v in dict(windows).items()})
        self.progress = ProgressLogger(self.print_interval, self.print_stats)

    @property
    def net(self) -> torch.nn.Module:
        """The trained network, unwrapped (``actor.net`` or the module given as actor)."""
        return ddp.unwrap_model(getattr(self.actor, "net", self.actor))

    def _setup_amp(self) -> None:
        self.tf32 = bool(getattr(self.settings, "tf32", True))
        if self.device.type == "cuda":  # a process-wide switch: only touched when training on CUDA
            set_tf32(self.tf32)
        amp = getattr(self.settings, "amp", None)
        amp_key = amp.lower() if isinstance(amp, str) else amp
        if amp_key in _NO_AMP:
            self.amp_dtype = None
        elif amp_key in _AMP_DTYPES:
            self.amp_dtype = _AMP_DTYPES[amp_key]
        else:
            raise ValueError(f"settings.amp={amp!r}: expected None, 'bf16' or 'fp16'")
        # bf16 autocast also exists on the CPU (useful to exercise the AMP path without a GPU);
        # fp16 needs CUDA (GradScaler).
        if self.amp_dtype == torch.float16 and self.device.type != "cuda":
            logger.warning("settings.amp=%r needs a CUDA device (training on %s): AMP disabled", amp, self.device)
            self.amp_dtype = None
        elif self.amp_dtype is not None and self.device.type not in ("cuda", "cpu"):
            logger.warning("settings.amp=%r is not supported on %s: AMP disabled", amp, self.device)
            self.amp_dtype = None
        self.scaler = None
        if self.amp_dtype == torch.float16:
            try:
                self.scaler = torch.amp.GradScaler("cuda")
            except (AttributeError, TypeError):  # torch < 2.3
                self.scaler = torch.cuda.amp.GradScaler()

    def autocast(self) -> ContextManager:
        """Context for forward passes: autocast with ``settings.amp`` dtype on the training device, else a no-op."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, scaled by the fp16 GradScaler when there is one."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    # ------------------------------------------------------------------ optimiser step
    def _optimized_params(self) -> List[torch.nn.Parameter]:
        seen, params = set(), []
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params

    def optimizer_step(self, loss: Union[torch.Tensor, float, None] = None,
                       params: Optional[Iterable[torch.nn.Parameter]] = None) -> StepResult:
        """Turn accumulated gradients into one update, safely.

        ``loss``: a tensor that requires grad is back-propagated here; a detached tensor or a
        float is only checked for finiteness (gradients were accumulated by the caller, e.g. a
        chunk loop using :meth:`backward`); None: no loss check. ``params``: gradients to
        reduce/clip/check (default: everything in the optimiser).
        Sequence: DDP gradient average -> AMP unscale -> grad norm -> skip if loss or norm is
        non-finite -> clip to ``grad_clip_max_norm`` -> ``optimizer.step()`` -> ``zero_grad``.
        The norm (returned, logged, compared with ``grad_clip_max_norm``) is the gradient's norm
        times :attr:`grad_norm_scale`, i.e. in the units the threshold is written in.
        """
        params = list(params) if params is not None else self._optimized_params()
        loss_value: Optional[float] = None
        if isinstance(loss, torch.Tensor):
            if loss.numel() != 1:
                raise ValueError(f"optimizer_step needs a scalar loss, got shape {tuple(loss.shape)}")
            if loss.requires_grad:
                self.backward(loss)
            loss_value = float(loss.detach().float().item())
        elif loss is not None:
            loss_value = float(loss)
        local_bad = loss_value is not None and not math.isfinite(loss_value)
        flags = ddp.all_reduce_gradients(params, average=True,
                                         extra_flags=torch.tensor([1.0 if local_bad else 0.0]))
        loss_bad = bool(flags is not None and float(flags[0]) > 0)  # any rank saw a bad loss

        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        grads = [p.grad for p in params if p.grad is not None]
        if grads:
            dev = grads[0].device
            grad_norm_t = torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(g.detach().float(), 2).to(dev) for g in grads]), 2)
            grad_norm = float(grad_norm_t.item()) * self.grad_norm_scale  # in grad_clip_max_norm's units
        else:
            grad_norm_t, grad_norm = None, 0.0

        if loss_bad or not math.isfinite(grad_norm):
            reason = "non-finite loss" if loss_bad else "non-finite gradient"
            if self.scaler is not None:
                self.scaler.update()  # lowers the fp16 loss scale
            return self.skip_step(reason, grad_norm, loss_value, detail=f" (loss={loss_value}, grad_norm={grad_norm})")

        max_norm = self.grad_clip_max_norm
        if max_norm and grad_norm_t is not None:
            coef = float(max_norm) / (grad_norm + 1e-6)
            if coef < 1.0:
                for g in grads:
                    g.mul_(coef)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.consecutive_nonfinite = 0
        result = StepResult(True, grad_norm, loss_value)
        self._last_step = result
        return result

    def skip_step(self, reason: str, grad_norm: float = float("nan"),
                  loss_value: Optional[float] = None, detail: str = "") -> StepResult:
        """Count a skipped (non-finite) iteration in one warning line; too many in a row -> abort.

        Raises :class:`NonFiniteLossError` after ``max_consecutive_nonfinite`` consecutive skips:
        by then the run has diverged and skipping more would only waste time.
        """
        self.skipped_steps += 1
        self.consecutive_nonfinite += 1
        where = f"rank {self.rank}, " if self.world_size > 1 else ""
        logger.warning("%sepoch %d: %s%s: optimizer step skipped (%d in a row, %d skipped in total)", where,
                       self.epoch, reason, detail, self.consecutive_nonfinite, self.skipped_steps)
        self.optimizer.zero_grad(set_to_none=True)
        result = StepResult(False, grad_norm, loss_value, reason)
        self._last_step = result
        if self.consecutive_nonfinite >= self.max_consecutive_nonfinite:
            raise NonFiniteLossError(
                f"training diverged at epoch {self.epoch}: {self.consecutive_nonfinite} consecutive iterations "
                f"were non-finite (last: {reason}{detail}). Lower the learning rate, check the data, or raise "
                "settings.max_consecutive_nonfinite; resume from the last good checkpoint.")
        return result

    # ------------------------------------------------------------------ epoch loop
    def train(self, max_epochs: int, load_latest: bool = False, fail_safe: bool = False,
              max_retries: int = 3) -> None:
        """Run epochs ``self.epoch+1 .. max_epochs`` (1-based), checkpointing after each.

        ``load_latest`` resumes from the newest checkpoint of this run (none: from scratch).
        A crash is logged with its traceback and re-raised; with ``fail_safe`` the run resumes
        from the last checkpoint instead, at most ``max_retries`` times (never for
        :class:`NonFiniteLossError`, which would recur).
        """
        if self.is_main:
            ckpt_io.remove_stale_temp_files(self._checkpoint_dir)  # leftovers of killed writes
        if load_latest:
            self.load_checkpoint()
        retries = 0
        while True:
            try:
                self._run_epochs(max_epochs)
                break
            except (NonFiniteLossError, BadDataError) as err:  # one line, no traceback, never retried
                logger.error("%s", err)
                raise
            except Exception as err:
                logger.error("Training crashed at epoch %d:\n%s", self.epoch, traceback.format_exc())
                if not fail_safe or retries >= max_retries or isinstance(err, NonFiniteLossError):
                    raise
                retries += 1
                logger.error("!!! fail_safe: RETRY %d/%d — resuming from the last checkpoint after: "
                             "%s: %s !!!", retries, max_retries, type(err).__name__, err)
                if not self.load_checkpoint():
                    raise RuntimeError("fail_safe: no checkpoint to resume from") from err
        if self._tensorboard is not None:
            self._tensorboard.close()
        logger.info("Finished training!")

    def _run_epochs(self, max_epochs: int) -> None:
        for epoch in range(self.epoch + 1, max_epochs + 1):
            self.epoch = epoch
            self.train_epoch()
            if self.lr_scheduler is not None:
                self.lr_scheduler.step()
            self.save_checkpoint()
            ddp.barrier()

    def train_epoch(self) -> None:
        """ltr's epoch: cycle each loader due this epoch, then close the epoch's stats."""
        for loader in self.loaders:
            if self.epoch % int(getattr(loader, "epoch_interval", 1)) == 0:
                self.cycle_dataset(loader)
        self._stats_new_epoch()
        self._write_tensorboard()

    def set_mode(self, training: bool) -> None:
        """Train/eval mode for a loader (SLT overrides: it learns in eval mode)."""
        self.actor.train(training)

    def samples_in(self, batch: Any, loader: Any) -> int:
        """Samples in a batch (stat weights, samples/s): list length, else ``loader.batch_size``."""
        if isinstance(batch, (list, tuple)):
            return len(batch)
        return int(getattr(loader, "batch_size", None) or 1)

    def train_step(self, batch: Any) -> Mapping[str, Any]:
        """One training iteration; return stats (name -> number). Use :meth:`optimizer_step`."""
        raise NotImplementedError(f"{type(self).__name__} must implement train_step(batch) or train_epoch()")

    def eval_step(self, batch: Any) -> Mapping[str, Any]:
        """One iteration of a loader with ``training=False`` (no optimiser step)."""
        raise NotImplementedError(f"{type(self).__name__} has a validation loader but no eval_step(batch)")

    @staticmethod
    def _set_loader_epoch(loader: Any, epoch: int) -> None:
        for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
            if obj is not None and callable(getattr(obj, "set_epoch", None)):
                obj.set_epoch(epoch)
                return

    def cycle_dataset(self, loader: Any) -> None:
        """Run one pass over ``loader`` (ltr's name)."""
        name = _loader_name(loader, self.loaders.index(loader) if loader in self.loaders else 0)
        training = bool(getattr(loader, "training", True))
        self.set_mode(training)
        self._set_loader_epoch(loader, self.epoch)
        try:
            num_it: Optional[int] = len(loader)
        except TypeError:
            num_it = None
        self.progress.start_epoch()
        with torch.set_grad_enabled(training):
            for i, batch in enumerate(loader, 1):
                self._last_step = None
                stats = dict((self.train_step if training else self.eval_step)(batch) or {})
                if self._last_step is not None and math.isfinite(self._last_step.grad_norm):
                    stats.setdefault("grad_norm", self._last_step.grad_norm)
                n = self.samples_in(batch, loader)
                self.update_stats(stats, n, name)
                if self.is_main:
                    self.progress.update(name, self.epoch, i, num_it, n, self.stats[name])

    # ------------------------------------------------------------------ stats
    def update_stats(self, new_stats: Mapping[str, Any], batch_size: int, loader_name: str = "train") -> None:
        """Add one iteration's stats (weighted by ``batch_size``); also feeds running means."""
        if self.stats.get(loader_name) is None:
            self.stats[loader_name] = OrderedDict()
        loader_stats = self.stats[loader_name]
        for name, value in new_stats.items():
            v = _to_number(name, value)
            if name not in loader_stats:
                loader_stats[name] = AverageMeter()
            loader_stats[name].update(v, batch_size)
            for window in self.running_mean_stats.get(name, ()):
                key = f"{name}{window}"
                if key not in loader_stats:
                    loader_stats[key] = RunningAverage(window)
                loader_stats[key].update(v)

    def _sync_epoch_meters(self) -> None:
        """Average every AverageMeter over ranks (weighted by counts) before closing the epoch."""
        if not ddp.is_distributed():
            return
        local = {(ln, n): (m.sum, m.count) for ln, ls in self.stats.items() if ls
                 for n, m in ls.items() if isinstance(m, AverageMeter)}
        total: Dict[Any, List[float]] = {}
        for part in ddp.all_gather_object(local):
            for key, (s, c) in part.items():
                acc = total.setdefault(key, [0.0, 0])
                acc[0] += s
                acc[1] += c
        for (ln, n), (s, c) in total.items():
            m = self.stats[ln][n] if self.stats.get(ln) and n in self.stats[ln] else None
            if m is not None and c > 0:
                m.sum, m.count, m.avg = s, c, s / c

    def _stats_new_epoch(self) -> None:
        self._sync_epoch_meters()
        for i, loader in enumerate(self.loaders):
            if not getattr(loader, "training", True):
                continue
            name = _loader_name(loader, i)
            if self.stats.get(name) is None:
                self.stats[name] = OrderedDict()
            for g, group in enumerate(self.optimizer.param_groups):
                key = f"LearningRate/group{g}"
                if key not in self.stats[name]:
                    self.stats[name][key] = StatValue()
                self.stats[name][key].update(float(group["lr"]))
            if "skipped_steps" not in self.stats[name]:
                self.stats[name]["skipped_steps"] = StatValue()
            self.stats[name]["skipped_steps"].update(self.skipped_steps)
        for loader_stats in self.stats.values():
            if loader_stats:
                for meter in loader_stats.values():
                    if hasattr(meter, "new_epoch"):
                        meter.new_epoch()

    def _write_tensorboard(self) -> None:
        if not self.is_main:
            return
        if self._tensorboard is None:
            tb_dir = getattr(getattr(self.settings, "env", None), "tensorboard_dir", None)
            if not tb_dir:
                return
            project = getattr(self.settings, "project_path", None) or "ltr/default/default"
            self._tensorboard = TensorboardWriter(os.path.join(os.path.expanduser(tb_dir), project),
                                                  list(self.stats.keys()))
            if self._tensorboard.enabled:
                self._tensorboard.write_info(getattr(self.settings, "module_name", ""),
                                             getattr(self.settings, "script_name", ""),
                                             getattr(self.settings, "description", ""))
        self._tensorboard.write_epoch(self.stats, self.epoch)

    # ------------------------------------------------------------------ checkpoints
    def _sampler_state(self) -> Dict[str, Any]:
        state = {}
        for i, loader in enumerate(self.loaders):
            for obj in (loader, getattr(loader, "sampler", None)):
                if obj is not None and callable(getattr(obj, "state_dict", None)):
                    state[_loader_name(loader, i)] = obj.state_dict()
                    break
        return state

    def _load_sampler_state(self, state: Mapping[str, Any]) -> None:
        for i, loader in enumerate(self.loaders):
            name = _loader_name(loader, i)
            if name not in state:
                continue
            for obj in (loader, getattr(loader, "sampler", None)):
                if obj is not None and callable(getattr(obj, "load_state_dict", None)):
                    obj.load_state_dict(state[name])
                    break

    def checkpoint_state(self, rng_states: Optional[List[Any]] = None) -> Dict[str, Any]:
        """The dict written to disk (ltr keys + ours)."""
        net = self.net
        return {
            "epoch": self.epoch,
            "actor_type": type(self.actor).__name__,
            "net_type": type(net).__name__,
            "net": net.state_dict(),
            "net_info": getattr(net, "info", None),
            "constructor": getattr(net, "constructor", None),
            "optimizer": self.optimizer.state_dict(),
            "stats": self.stats,
            "settings": self.settings,
            "lr_scheduler": self.lr_scheduler.state_dict() if self.lr_scheduler is not None else None,
            "rng_state": {"rank_states": rng_states if rng_states is not None else [get_rng_state()]},
            "grad_scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "sampler_state": self._sampler_state(),
            "skipped_steps": self.skipped_steps,
            "world_size": self.world_size,
            "slt_format": ckpt_io.FORMAT_VERSION,
        }

    def save_checkpoint(self) -> Optional[Path]:
        """Write this epoch's checkpoint (rank 0; every rank must call it: RNG states are gathered)."""
        rng_states = ddp.all_gather_object(get_rng_state())
        if not self.is_main or self._checkpoint_dir is None:
            return None
        state = self.checkpoint_state(rng_states)
        path = ckpt_io.checkpoint_path(self._checkpoint_dir, state["net_type"], self.epoch)
        try:
            ckpt_io.atomic_torch_save(state, path)
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            bad = self.settings.unpicklable_attributes() if hasattr(self.settings, "unpicklable_attributes") else []
            hint = f"settings attributes {bad} are not picklable; " if bad else ""
            raise ckpt_io.CheckpointError(
                f"cannot write checkpoint {path}: {hint}{type(err).__name__}: {err}") from err
        removed = ckpt_io.prune_checkpoints(self._checkpoint_dir, state["net_type"], self.keep_last_checkpoints)
        logger.info("saved checkpoint %s%s", path, f" (removed {len(removed)} old)" if removed else "")
        return path

    def _restore_rng(self, rng_state: Any, saved_world_size: int) -> None:
        states = rng_state.get("rank_states") if isinstance(rng_state, dict) and "rank_states" in rng_state \
            else [rng_state]
        if len(states) == self.world_size:
            set_rng_state(states[self.rank])
            return
        # different number of ranks: keep rank 0's stream, derive the others deterministically
        logger.warning("checkpoint was written by %d rank(s), now %d: RNG streams of ranks > 0 are re-derived",
                       len(states), self.world_size)
        if self.rank == 0:
            set_rng_state(states[0])
        else:
            seed = int(getattr(self.settings, "seed", None) or 12345)
            seed_everything(rank_seed(seed + self.epoch, self.rank))

    def load_checkpoint(self, checkpoint: Union[None, int, str, os.PathLike] = None,
                        fields: Optional[Sequence[str]] = None, ignore_fields: Optional[Sequence[str]] = None,
                        load_constructor: bool = False, fallback: bool = False) -> bool:
        """Restore a checkpoint of this run (ltr's signature, plus ``fallback``).

        ``checkpoint``: None = latest, an epoch number, a file or a folder. Returns False when
        None finds nothing (training starts from scratch). A corrupt file raises
        :class:`~ltr_slt.admin.checkpoint.CheckpointError` naming it; with ``fallback=True`` (and
        ``checkpoint=None``) older files are tried instead, each failure logged.
        """
        net = self.net
        net_type = type(net).__name__
        if self.is_main and self._checkpoint_dir is not None and self._checkpoint_dir.is_dir():
            ckpt_io.remove_stale_temp_files(self._checkpoint_dir)
        path = ckpt_io.resolve_checkpoint(checkpoint, self._checkpoint_dir, net_type)
        if path is None:
            logger.info("No matching checkpoint file found in %s: training starts from scratch",
                        self._checkpoint_dir)
            return False
        try:
            state = ckpt_io.read_checkpoint(path)
        except ckpt_io.CheckpointError as err:
            if not (fallback and checkpoint is None):
                raise
            state = None
            logger.error("%s", err)
            failing = int(ckpt_io._EPOCH_RE.match(path.name).group("epoch"))
            for epoch, older in reversed(ckpt_io.list_checkpoints(self._checkpoint_dir, net_type)):
                if epoch >= failing:
                    continue
                try:
                    state = ckpt_io.read_checkpoint(older)
                except ckpt_io.CheckpointError as err2:
                    logger.error("%s", err2)
                    continue
                logger.error("fallback: resuming from older checkpoint %s instead of %s", older, path)
                path = older
                break
            if state is None:
                raise
        if state.get("net_type") is not None and state["net_type"] != net_type:
            raise ckpt_io.CheckpointError(f"checkpoint {path} holds a '{state['net_type']}' network, "
                                          f"this trainer trains a '{net_type}'")
        ignore = set(ignore_fields if ignore_fields is not None else ["settings"])
        ignore |= {"constructor", "net_type", "actor_type", "net_info", "slt_format", "world_size"}
        keys = [k for k in (fields if fields is not None else state.keys()) if k not in ignore]
        for key in keys:
            if key not in state:
                raise ckpt_io.CheckpointError(f"checkpoint {path} has no field '{key}'")
            value = state[key]
            if key == "net":
                net.load_state_dict(value)
            elif key == "optimizer":
                self.optimizer.load_state_dict(value)
            elif key == "lr_scheduler":
                if self.lr_scheduler is not None and value is not None:
                    self.lr_scheduler.load_state_dict(value)
            elif key == "rng_state":
                if value is not None:
                    self._restore_rng(value, int(state.get("world_size", 1) or 1))
            elif key == "grad_scaler":
                if self.scaler is not None and value is not None:
                    self.scaler.load_state_dict(value)
            elif key == "sampler_state":
                self._load_sampler_state(value or {})
            else:
                setattr(self, key, value)  # epoch, stats, skipped_steps, ... (ltr behaviour)
        if load_constructor and state.get("constructor") is not None:
            net.constructor = state["constructor"]
        if state.get("net_info") is not None:
            net.info = state["net_info"]
        if "epoch" in keys and self.lr_scheduler is not None and state.get("lr_scheduler") is None:
            self.lr_scheduler.last_epoch = self.epoch  # ltr file without scheduler state
        self.consecutive_nonfinite = 0
        logger.info("loaded checkpoint %s (epoch %d)", path, self.epoch)
        return True
