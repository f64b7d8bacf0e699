"""Load network checkpoints of every format we meet, on any torch >= 2.x.

Formats: a plain state dict; ``{'net': ...}`` (ltr ``*.pth.tar`` / release ``transt.pth``);
``{'model': ...}`` / ``{'state_dict': ...}``; DataParallel/DDP ``module.`` prefixes.

Reading (``read_checkpoint``) never runs code from the file by default:

1. ``torch.load(weights_only=True)``.
2. If the file holds pickled objects of classes we do not have (ltr's ``NetConstructor``,
   ``Settings``, ``EnvironmentSettings``, stats, numpy scalars ...), each such class is replaced by an
   inert stub (it only records the pickled arguments/state) and the file is read again with
   ``weights_only=True`` and the stubs allowlisted. This is as safe as (1): nothing from the file
   is executed. It is how official TransT / SLTtrack / ltr checkpoints are read.
3. Only if that still fails and the caller passed ``trusted=True``: ``weights_only=False`` with a
   restricted unpickler (torch / numpy rebuild functions and plain containers resolve normally,
   every other global becomes a stub). Without ``trusted=True`` a clear error says so.

``trusted`` defaults to False because step 2 already reads every checkpoint format known to us.
Corrupt or truncated files raise ``CheckpointError`` naming the file; a file that is not a torch
checkpoint at all (random bytes, text, a plain pickle) says so in one line.

The project's own plain records (``PROJECT_RECORDS``: ``NetConstructor``, ``Settings``, the stats
meters ...) and numpy arrays/scalars are read as their real classes (their state is set as
attributes, no method of theirs runs), so our training checkpoints resume under
``weights_only=True``. A constructor record only ever names a network; ``load_network`` builds
it through the registry of known factories (``ltr_slt.admin.model_constructor``), so a record
naming ``os.system`` & co. is refused. Weights that are NaN/inf are reported (warning naming the
file and the count); ``refuse_nonfinite=True`` makes that an error (evaluation).
"""
from __future__ import annotations

import importlib
import inspect
import logging
import os
import pickle
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from ltr_slt.admin.model_constructor import (NetConstructor, UnknownFactoryError, canonical_name,
                                             register_alias, resolve_factory, resolve_key_variant)

logger = logging.getLogger(__name__)

__all__ = ["CheckpointError", "LoadReport", "StubObject", "read_checkpoint", "extract_state_dict",
           "load_checkpoint", "load_network", "constructor_from_checkpoint", "CONSTRUCTOR_MAP", "ForeignObject",
           "PROJECT_RECORDS", "NotACheckpointError"]

# Foreign constructors rebuilt by ours: (module, function) -> (our module, our function).
CONSTRUCTOR_MAP: Dict[Tuple[str, str], Tuple[str, str]] = {
    ("ltr.models.tracking.transt", "transt_resnet50"): ("ltr_slt.models.tracking.transt", "transt_resnet50"),
    ("ltr.models.tracking.transt_slt", "transt_resnet50"): ("ltr_slt.models.tracking.transt", "transt_resnet50"),
}

for _foreign, _ours in CONSTRUCTOR_MAP.items():  # the registry resolves them (model_constructor)
    register_alias(_foreign[0], _foreign[1], _ours[0], _ours[1])

# Plain attribute-bag classes of this project that checkpoints hold; read as themselves.
PROJECT_RECORDS = (
    "ltr_slt.admin.model_constructor.NetConstructor",
    "ltr_slt.admin.settings.Settings",
    "ltr_slt.admin.environment.EnvSettings",
    "ltr_slt.admin.stats.StatValue",
    "ltr_slt.admin.stats.AverageMeter",
    "ltr_slt.admin.stats.RunningAverage",
    "ltr_slt.admin.loading.ForeignObject",
)
_NUMPY_GLOBALS = {"_reconstruct", "scalar", "ndarray", "dtype"}

_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+) was not an allowed global")
_STATE_KEYS = ("net", "model", "state_dict")


class CheckpointError(RuntimeError):
    """A checkpoint file could not be read or does not fit the network."""


class NotACheckpointError(CheckpointError):
    """The file is not a torch checkpoint at all (random bytes, text, ...)."""


class StubObject:
    """Inert stand-in for a pickled object whose class is not available (e.g. ``ltr.*``).

    Keeps the pickled state as attributes (so ``stub.fun_name`` etc. still work) and the
    constructor arguments in ``_stub_args``; never runs any code of the original class.
    """

    _stub_name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._stub_args = args
        self._stub_kwargs = kwargs

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and (state[1] is None or isinstance(state[1], dict)):
            state, slots = state
            self.__dict__.update(slots or {})
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self._stub_state = state

    def __repr__(self) -> str:
        return f"<stub of {self._stub_name}>"


class _StubDict(dict):
    """Stub used by the trusted unpickler: also absorbs dict / list subclass contents."""

    _stub_name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._stub_args = args

    def __setstate__(self, state: Any) -> None:
        StubObject.__setstate__(self, state)  # type: ignore[arg-type]

    def append(self, item: Any) -> None:
        self.__dict__.setdefault("_stub_items", []).append(item)

    def extend(self, items: Any) -> None:
        self.__dict__.setdefault("_stub_items", []).extend(items)

    def __repr__(self) -> str:
        return f"<stub of {self._stub_name}>"


_STUBS: Dict[str, type] = {}


class ForeignObject:
    """Picklable copy of a stubbed object's attributes (e.g. an ltr ``Settings``).

    Stubs cannot be pickled again (their class does not exist), so constructor arguments taken
    from foreign checkpoints are converted to this before they are attached to a network.
    """

    def __init__(self, _foreign_class: str = "?", **attrs: Any) -> None:
        self._foreign_class = _foreign_class
        self.__dict__.update(attrs)

    def __repr__(self) -> str:
        return f"ForeignObject({self._foreign_class}, {sorted(k for k in vars(self) if k[0] != '_')})"


def _sanitize(obj: Any, depth: int = 0) -> Any:
    """Replace stubs (recursively) by picklable ``ForeignObject``s."""
    if depth > 20:
        return None
    if isinstance(obj, (StubObject, _StubDict)):
        attrs = {k: _sanitize(v, depth + 1) for k, v in vars(obj).items() if not k.startswith("_stub")}
        if isinstance(obj, _StubDict) and len(obj):
            attrs["items"] = {k: _sanitize(v, depth + 1) for k, v in obj.items()}
        return ForeignObject(obj._stub_name, **attrs)
    if isinstance(obj, dict):
        return {k: _sanitize(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_sanitize(v, depth + 1) for v in obj)
    return obj


def _make_stub(cache: Dict[str, type], base: type, full_name: str) -> type:
    """One stub class per foreign global, named like the original (needed by the allowlist)."""
    if full_name not in cache:
        module, _, name = full_name.rpartition(".")
        cache[full_name] = type(name, (base,), {"__module__": module, "__qualname__": name,
                                                "_stub_name": full_name})
    return cache[full_name]


_DICT_STUBS: Dict[str, type] = {}


def _stub_class(full_name: str) -> type:
    return _make_stub(_STUBS, StubObject, full_name)


def _dict_stub_class(full_name: str) -> type:
    return _make_stub(_DICT_STUBS, _StubDict, full_name)


# -- trusted fallback: restricted unpickler -------------------------------------------------------
_SAFE_BUILTINS = {"set", "frozenset", "list", "dict", "tuple", "slice", "range", "complex", "bytearray",
                  "bytes", "int", "float", "str", "bool", "object"}
_SAFE_NUMPY = {"_reconstruct", "scalar", "ndarray", "dtype"}


def _torch_allowed(full_name: str) -> bool:
    try:
        from torch._weights_only_unpickler import _get_allowed_globals  # private but long-standing
        return full_name in _get_allowed_globals()
    except Exception:  # pragma: no cover - torch internals moved
        name = full_name.rpartition(".")[2]
        return name.startswith("_rebuild") or name.endswith("Storage") or name in ("Size", "device")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        top = module.split(".")[0]
        if (module == "builtins" and name in _SAFE_BUILTINS) or full in ("_codecs.encode",
                                                                        "copyreg._reconstructor") \
                or (module == "collections" and name in ("OrderedDict", "defaultdict", "Counter")) \
                or (top == "torch" and _torch_allowed(full)) \
                or (top == "numpy" and (name in _SAFE_NUMPY or module.startswith("numpy.dtypes"))):
            return super().find_class(module, name)
        logger.debug("checkpoint global %s replaced by a stub", full)
        return _dict_stub_class(full)


_restricted_pickle = types.ModuleType("slt_restricted_pickle")
_restricted_pickle.Unpickler = _RestrictedUnpickler  # type: ignore[attr-defined]
_restricted_pickle.load = lambda f, **kw: _RestrictedUnpickler(f, **kw).load()  # type: ignore[attr-defined]
_restricted_pickle.__dict__.update({k: getattr(pickle, k) for k in ("UnpicklingError", "HIGHEST_PROTOCOL")})


# -- reading ---------------------------------------------------------------------------------------
def _is_weights_only_rejection(err: BaseException) -> bool:
    return isinstance(err, pickle.UnpicklingError) and "Weights only load failed" in str(err)


def _real_global(full_name: str) -> Optional[Any]:
    """The real object for an allowlisted non-torch global (project records, numpy arrays)."""
    module, _, name = full_name.rpartition(".")
    top = module.split(".")[0]
    if full_name not in PROJECT_RECORDS and not (
            top == "numpy" and (name in _NUMPY_GLOBALS or (module == "numpy.dtypes" and name.endswith("DType")))):
        return None
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) or top == "numpy" else None


def _numpy_dtype_classes() -> List[type]:
    try:
        import numpy.dtypes as npd
    except ImportError:  # pragma: no cover - numpy < 1.25
        return []
    return [v for k, v in vars(npd).items() if k.endswith("DType") and isinstance(v, type)]


_LEGACY_MAGIC = b"l\xfc\x9cF\xf9 j\xa8P\x19"  # legacy torch.save starts by pickling this number


def _check_torch_file(path: str) -> None:
    """Raise ``NotACheckpointError`` unless the file starts like a torch zip / legacy / tar file."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"PK\x03\x04") or (head.startswith(b"\x80") and _LEGACY_MAGIC in head[:32]) \
            or head[257:262] == b"ustar":
        return
    raise NotACheckpointError(f"'{path}' is not a torch checkpoint (neither a torch zip archive nor a "
                              f"legacy torch file; {len(head)}+ bytes starting {head[:8]!r})")


def read_checkpoint(path: str | os.PathLike, trusted: bool = False) -> Any:
    """Read a checkpoint file to CPU without executing code from it (see module docstring)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint file not found: '{path}'")
    _check_torch_file(path)
    stubs: Dict[str, Any] = {}

    def allow(name: str) -> None:
        real = _real_global(name)
        stubs[name] = real if real is not None else _stub_class(name)
        if real is not None and name.startswith("numpy"):  # dtype instances are BUILT as their DType class
            for dtype_cls in _numpy_dtype_classes():
                stubs.setdefault(f"numpy.dtypes.{dtype_cls.__name__}", dtype_cls)

    try:  # zip files can list their foreign globals up front
        for name in torch.serialization.get_unsafe_globals_in_checkpoint(path):
            allow(name)
    except Exception:  # legacy format / torch without the helper: discovered one by one below
        pass
    last_err: Optional[BaseException] = None
    for _ in range(200):  # each round allowlists one more foreign global
        try:
            with torch.serialization.safe_globals([(v, n) for n, v in stubs.items()]):
                obj = torch.load(path, map_location="cpu", weights_only=True)
            foreign = sorted(n for n, v in stubs.items() if isinstance(v, type) and issubclass(v, StubObject))
            if foreign:
                # Every pickled foreign class is read as data, never executed.
                logger.info("read %s with inert stubs for %d pickled classes: %s", path, len(foreign),
                            ", ".join(foreign))
            return obj
        except Exception as err:  # noqa: BLE001 - classified below
            last_err = err
            match = _UNSUPPORTED_GLOBAL.search(str(err))
            if _is_weights_only_rejection(err) and match and match.group(1) not in stubs:
                allow(match.group(1))
                continue
            break
    assert last_err is not None
    if not _is_weights_only_rejection(last_err):
        raise CheckpointError(f"cannot read checkpoint '{path}' (corrupt or truncated file?): "
                              f"{type(last_err).__name__}: {last_err}") from last_err
    if not trusted:
        reason = str(last_err).splitlines()[-3:] if str(last_err) else []
        raise CheckpointError(
            f"checkpoint '{path}' contains pickled objects that cannot be read safely "
            f"({' '.join(s.strip() for s in reason)[:300]}). If you trust this file, pass trusted=True "
            "to read it with a restricted unpickler (weights_only=False).")
    logger.warning("checkpoint '%s': falling back to weights_only=False with a restricted unpickler "
                   "(trusted=True); unknown classes become inert stubs", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_restricted_pickle)
    except Exception as err:
        raise CheckpointError(f"cannot read checkpoint '{path}' even with the trusted unpickler: "
                              f"{type(err).__name__}: {err}") from err


# -- state dicts ------------------------------------------------------------------------------------
def _strip_prefix(state: Mapping[str, Any], prefix: str) -> Tuple[Dict[str, Any], Optional[str]]:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}, prefix
    return dict(state), None


def extract_state_dict(checkpoint: Any, source: str = "<dict>") -> Tuple[Dict[str, torch.Tensor], str, List[str]]:
    """(state_dict, format, stripped prefixes) from any supported checkpoint object."""
    if isinstance(checkpoint, nn.Module):
        return checkpoint.state_dict(), "module", []
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"checkpoint {source} is a {type(checkpoint).__name__}, not a dict")
    fmt = "state_dict"
    state: Any = checkpoint
    for key in _STATE_KEYS:
        if key in checkpoint and isinstance(checkpoint[key], Mapping):
            state, fmt = checkpoint[key], key
            break
    if isinstance(state, nn.Module):
        state = state.state_dict()
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"checkpoint {source} holds no tensors (keys: {sorted(map(str, checkpoint))[:8]})")
    if len(tensors) != len(state):
        bad = [k for k in state if k not in tensors][:5]
        raise CheckpointError(f"checkpoint {source}: entries {bad} of its '{fmt}' are not tensors")
    stripped: List[str] = []
    for prefix in ("module.", "_orig_mod."):  # DataParallel/DDP, torch.compile
        tensors, done = _strip_prefix(tensors, prefix)
        if done:
            stripped.append(done)
    return tensors, fmt, stripped


@dataclass
class LoadReport:
    """What ``load_checkpoint`` did (also logged)."""

    source: str
    format: str  # 'state_dict' | 'net' | 'model' | 'module'
    missing_keys: List[str] = field(default_factory=list)
    unexpected_keys: List[str] = field(default_factory=list)
    stripped_prefixes: List[str] = field(default_factory=list)
    num_loaded: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing_keys and not self.unexpected_keys

    def __str__(self) -> str:
        s = f"loaded {self.num_loaded} entries from {self.source} (format '{self.format}'"
        if self.stripped_prefixes:
            s += f", stripped {self.stripped_prefixes}"
        s += ")"
        if self.missing_keys:
            s += f"; {len(self.missing_keys)} missing, e.g. {self.missing_keys[:3]}"
        if self.unexpected_keys:
            s += f"; {len(self.unexpected_keys)} unexpected, e.g. {self.unexpected_keys[:3]}"
        return s


def _unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, (nn.DataParallel, nn.parallel.DistributedDataParallel)) else net


def nonfinite_tensors(state: Mapping[str, torch.Tensor]) -> List[str]:
    """Names of floating-point tensors holding NaN or inf."""
    return [k for k, v in state.items()
            if (v.is_floating_point() or v.is_complex()) and v.numel() and not bool(torch.isfinite(v).all())]


def load_checkpoint(net: nn.Module, path_or_dict: Any, strict: bool = True, trusted: bool = False,
                    refuse_nonfinite: bool = False) -> LoadReport:
    """Load weights into ``net`` from a file or an in-memory checkpoint; returns a ``LoadReport``.

    With ``strict=True`` any missing or unexpected key raises ``CheckpointError`` (listing them);
    with ``strict=False`` they are reported and logged. Shape mismatches always raise. Tensors
    holding NaN/inf are counted in a warning naming the file; ``refuse_nonfinite=True`` raises
    ``CheckpointError`` instead (use it for evaluation: such a network tracks nothing).
    """
    if isinstance(path_or_dict, (str, os.PathLike)):
        source = f"'{os.fspath(path_or_dict)}'"
        checkpoint = read_checkpoint(path_or_dict, trusted=trusted)
    else:
        source, checkpoint = "<in-memory checkpoint>", path_or_dict
    return _load_state(net, checkpoint, source, strict, refuse_nonfinite)


def _load_state(net: nn.Module, checkpoint: Any, source: str, strict: bool, refuse_nonfinite: bool) -> LoadReport:
    state, fmt, stripped = extract_state_dict(checkpoint, source)
    bad = nonfinite_tensors(state)
    if bad:
        msg = (f"checkpoint {source} has {len(bad)} tensor(s) with NaN/inf values, e.g. {bad[:3]}")
        if refuse_nonfinite:
            raise CheckpointError(msg + " (refuse_nonfinite=True)")
        logger.warning("%s", msg)
    target = _unwrap(net)
    own = target.state_dict()
    report = LoadReport(source, fmt, sorted(set(own) - set(state)), sorted(set(state) - set(own)), stripped)
    mismatched = [f"{k}: checkpoint {tuple(state[k].shape)} vs net {tuple(own[k].shape)}"
                  for k in own if k in state and state[k].shape != own[k].shape]
    if mismatched:
        raise CheckpointError(f"checkpoint {source} does not fit the network: {len(mismatched)} shape "
                              f"mismatches, e.g. {mismatched[:3]}")
    if strict and not report.ok:
        raise CheckpointError(f"checkpoint {source} does not match the network (strict): "
                              f"{len(report.missing_keys)} missing keys {report.missing_keys[:5]}, "
                              f"{len(report.unexpected_keys)} unexpected keys {report.unexpected_keys[:5]}")
    target.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    report.num_loaded = len(set(state) & set(own))
    (logger.info if report.ok else logger.warning)("%s", report)
    return report


# -- rebuilding networks ----------------------------------------------------------------------------
def constructor_from_checkpoint(checkpoint: Mapping[str, Any]) -> Optional[NetConstructor]:
    """Our ``NetConstructor`` from the checkpoint's (ours, ltr's or stubbed) record, or None."""
    rec = checkpoint.get("constructor") if isinstance(checkpoint, Mapping) else None
    if rec is None:
        return None
    try:
        name, module = rec.fun_name, rec.fun_module
        args, kwds = tuple(getattr(rec, "args", ())), dict(getattr(rec, "kwds", {}) or {})
    except AttributeError as err:
        raise CheckpointError(f"checkpoint constructor record {rec!r} lacks fun_name/fun_module") from err
    if not isinstance(name, str) or not isinstance(module, str):
        raise CheckpointError(f"checkpoint constructor record {rec!r}: fun_name/fun_module are not strings")
    module, name = canonical_name(module, name)  # foreign (ltr) names -> ours; nothing imported but ours
    return NetConstructor(name, module, _sanitize(args), _sanitize(kwds))


def _find_checkpoint_file(path: Path) -> Path:
    if path.is_file():
        return path
    if path.is_dir():
        files = sorted(path.glob("*.pth.tar"))
        if not files:
            raise FileNotFoundError(f"no *.pth.tar checkpoint in directory '{path}'")
        return files[-1]
    raise FileNotFoundError(f"network checkpoint not found: '{path}'")


def load_network(path: str | os.PathLike, strict: bool = True, trusted: bool = False,
                 refuse_nonfinite: bool = False, **kwargs: Any) -> Tuple[nn.Module, Dict[str, Any]]:
    """Rebuild a network from a checkpoint's recorded constructor and load its weights (ltr API).

    ``path``: a checkpoint file or a directory (newest ``*.pth.tar``). Keyword arguments matching
    the factory's signature override the recorded ones (e.g. ``backbone_pretrained=False``), others
    are ignored with a warning. Without a constructor record, a state dict with TransT-R50's keys
    builds ``transt_resnet50``. Returns ``(net, checkpoint_dict)`` like ltr. Only registered
    network factories are built (``ltr_slt.admin.model_constructor``); a record naming anything
    else raises ``CheckpointError`` naming the file and the refused ``module.function``.
    """
    file = _find_checkpoint_file(Path(path))
    checkpoint = read_checkpoint(file, trusted=trusted)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"checkpoint '{file}' is a {type(checkpoint).__name__}, not a dict")
    constructor = constructor_from_checkpoint(checkpoint)
    if constructor is None:
        constructor = _guess_constructor(checkpoint, file)
    try:
        factory = resolve_factory(constructor.fun_module, constructor.fun_name)
    except (UnknownFactoryError, ImportError) as err:
        raise CheckpointError(f"checkpoint '{file}': {err}") from err
    # One recorded name, several networks (TrDiMP records DiMP's ``dimpnet50``): the weights decide.
    state_keys, _, _ = extract_state_dict(checkpoint, f"'{file}'")
    variant = resolve_key_variant(constructor.fun_module, constructor.fun_name, state_keys)
    if variant != (constructor.fun_module, constructor.fun_name):
        logger.info("'%s' records %s.%s; its weights are %s.%s's", file, constructor.fun_module,
                    constructor.fun_name, *variant)
        constructor.fun_module, constructor.fun_name = variant
        factory = resolve_factory(*variant)
    # Records of trained networks say backbone_pretrained=True (ImageNet init for training); the
    # checkpoint replaces those weights, so they are not looked for (ltr's callers pass False too).
    if "backbone_pretrained" in constructor.kwds and "backbone_pretrained" not in kwargs:
        constructor.kwds["backbone_pretrained"] = False
    params = inspect.signature(inspect.unwrap(factory)).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for key, value in kwargs.items():
        if key in params or accepts_any:
            constructor.kwds[key] = value
        elif key == "backbone_pretrained":  # a factory without ImageNet weights (the tiny nets) fetches none anyway
            continue
        else:
            logger.warning('keyword argument "%s" not found when loading network; it was ignored', key)
    net = constructor.get()
    net.constructor = constructor
    _load_state(net, checkpoint, f"'{file}'", strict, refuse_nonfinite)
    if "net_info" in checkpoint:
        net.info = checkpoint["net_info"]
    logger.info("built %s.%s from %s", constructor.fun_module, constructor.fun_name, file)
    return net, dict(checkpoint)


def _guess_constructor(checkpoint: Mapping[str, Any], file: Path) -> NetConstructor:
    state, _, _ = extract_state_dict(checkpoint, f"'{file}'")
    if "featurefusion_network.decoder.norm.weight" in state and "backbone.0.body.conv1.weight" in state:
        width = state["backbone.0.body.conv1.weight"].shape[0]
        hidden = state["input_proj.weight"].shape[0]
        if width == 64 and hidden == 256:
            logger.info("'%s' has no constructor record; its keys are TransT-R50's", file)
            return NetConstructor("transt_resnet50", "ltr_slt.models.tracking.transt", (None,), {})
    if "classifier.filter_optimizer.log_step_length" in state and "feature_extractor.layer4.0.conv1.weight" in state \
            and state["feature_extractor.conv1.weight"].shape[0] == 64:
        # DiMP family at R50 size: the recorded init arguments only set initial values that the
        # checkpoint overwrites, so the released ones are used.
        name = "trdimpnet50" if any(k.startswith("classifier.transformer.") for k in state) else "dimpnet50"
        logger.info("'%s' has no constructor record; its keys are %s's", file, name)
        return NetConstructor(name, "ltr_slt.models.tracking.dimpnet", (), {})
    raise CheckpointError(f"No constructor for the given network: '{file}' records none and its keys "
                          "are not TransT-R50's or a DiMP-50 / TrDiMP's; build the network yourself and use "
                          "load_checkpoint")
