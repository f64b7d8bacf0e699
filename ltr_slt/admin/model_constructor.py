"""Record how a network was built, so a checkpoint can rebuild it (ltr's ``model_constructor``).

The decorator stores ``NetConstructor(fun_name, fun_module, args, kwds)`` as ``net.constructor``
and registers the factory. The record is pickled into checkpoints; ``get()`` looks the factory up
in the **registry of known network factories** and calls it. A record naming anything else
(``os.system``, ``builtins.exec``, an unknown module ...) is refused with
:class:`UnknownFactoryError`: a checkpoint can choose *which* known network to build, never which
code to run.

Registry:

* ``@model_constructor`` registers ``(f.__module__, f.__name__)``; for our ``ltr_slt.*`` modules
  the pytracking name (``ltr.*``, same function name) is registered as an alias automatically.
* ``register_factory(f, aliases=[(module, name), ...])`` adds one explicitly (new families, foreign
  names such as ``ltr.models.tracking.transt_slt.transt_resnet50``).
* ``register_key_variant`` picks another registered factory for a record when the checkpoint's
  weights say so (TransformerTrack / SLTtrack record ``dimpnet50`` for TrDiMP, whose state dict
  holds ``classifier.transformer.*``): ``resolve_key_variant`` after the name lookup.
* ``FACTORY_MODULES`` lists the modules whose factories may be imported on demand (importing any
  other module named by a checkpoint is refused too); ``register_factory_module`` extends it.
"""
from __future__ import annotations

import functools
import importlib
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

__all__ = ["NetConstructor", "model_constructor", "register_factory", "register_alias",
           "register_factory_module", "resolve_factory", "register_key_variant", "resolve_key_variant", "canonical_name", "known_factories", "UnknownFactoryError",
           "FACTORY_MODULES"]

Key = Tuple[str, str]  # (module, function name)

# Modules holding the project's network factories (imported on demand, never anything else).
FACTORY_MODULES: List[str] = ["ltr_slt.models.tracking.transt", "ltr_slt.models.tracking.dimpnet"]

_FACTORIES: Dict[Key, Callable[..., Any]] = {}
# Foreign (pytracking / old ltr) names -> our (module, name).
_ALIASES: Dict[Key, Key] = {
    ("ltr.models.tracking.transt_slt", "transt_resnet50"): ("ltr_slt.models.tracking.transt", "transt_resnet50"),
}


# our (module, name) -> [(predicate on the state-dict keys, our variant (module, name))]
_KEY_VARIANTS: Dict[Key, List[Tuple[Callable[[Iterable[str]], bool], Key]]] = {}


class UnknownFactoryError(LookupError):
    """A constructor record names a function that is not a registered network factory."""


def register_factory_module(module: str) -> None:
    """Allow ``module`` to be imported on demand to find its factories."""
    if module not in FACTORY_MODULES:
        FACTORY_MODULES.append(module)


def register_alias(foreign_module: str, foreign_name: str, module: str, name: str) -> None:
    """Rebuild records naming ``foreign_module.foreign_name`` with our ``module.name``."""
    _ALIASES[(foreign_module, foreign_name)] = (module, name)


def register_factory(f: Callable[..., Any], name: Optional[str] = None, module: Optional[str] = None,
                     aliases: Iterable[Key] = ()) -> Callable[..., Any]:
    """Register network factory ``f`` under ``module.name`` (default: its own) plus ``aliases``."""
    module = module or f.__module__
    name = name or f.__name__
    _FACTORIES[(module, name)] = f
    if module.startswith("ltr_slt."):  # pytracking's name for the same factory
        _ALIASES.setdefault(("ltr." + module[len("ltr_slt."):], name), (module, name))
    for alias in aliases:
        register_alias(alias[0], alias[1], module, name)
    return f


def _canonical(module: str, name: str) -> Key:
    if module.startswith("dlframework."):  # very old ltr checkpoints
        module = "ltr." + module[len("dlframework."):]
    key = (module, name)
    if key in _ALIASES:
        return _ALIASES[key]
    if module.startswith("ltr.") and ("ltr_slt." + module[len("ltr."):]) in FACTORY_MODULES:
        return ("ltr_slt." + module[len("ltr."):], name)  # alias registered when that module is imported
    return key


def canonical_name(module: str, name: str) -> Key:
    """Our ``(module, name)`` for a recorded (possibly foreign) one; no import, no check."""
    key = _canonical(module, name)
    if key not in _FACTORIES and key[0] in FACTORY_MODULES:
        importlib.import_module(key[0])
        key = _canonical(module, name)
    return key


def resolve_factory(module: str, name: str) -> Callable[..., Any]:
    """The registered factory for a recorded ``module.name`` (foreign names mapped), else raise.

    Only modules in ``FACTORY_MODULES`` are ever imported; anything not registered raises
    :class:`UnknownFactoryError` naming the refused ``module.name``.
    """
    key = canonical_name(str(module), str(name))
    if key not in _FACTORIES:
        raise UnknownFactoryError(
            f"refused constructor '{module}.{name}': not a registered network factory "
            f"(known: {', '.join(known_factories()) or 'none'}); register it with "
            "ltr_slt.admin.model_constructor.register_factory")
    return _FACTORIES[key]


def register_key_variant(module: str, name: str, predicate: Callable[[Iterable[str]], bool],
                         variant_module: str, variant_name: str) -> None:
    """Build records of our ``module.name`` with ``variant_module.variant_name`` when
    ``predicate(state_dict_keys)`` holds (same keyword arguments)."""
    entries = _KEY_VARIANTS.setdefault((module, name), [])
    if not any(v == (variant_module, variant_name) for _, v in entries):
        entries.append((predicate, (variant_module, variant_name)))


def resolve_key_variant(module: str, name: str, state_keys: Iterable[str]) -> Key:
    """Our ``(module, name)`` after the key-based variants of ``register_key_variant``."""
    keys = list(state_keys)
    for predicate, variant in _KEY_VARIANTS.get((module, name), []):
        if predicate(keys):
            return variant
    return (module, name)


def known_factories() -> List[str]:
    """Dotted names of all registered factories (importing ``FACTORY_MODULES`` first)."""
    for module in list(FACTORY_MODULES):
        try:
            importlib.import_module(module)
        except ImportError:  # pragma: no cover - optional family missing
            pass
    return sorted(f"{m}.{n}" for m, n in _FACTORIES)


class NetConstructor:
    """Picklable recipe ``fun_module.fun_name(*args, **kwds)`` (same attribute names as ltr)."""

    def __init__(self, fun_name: str, fun_module: str, args: Tuple[Any, ...] = (),
                 kwds: Dict[str, Any] | None = None) -> None:
        self.fun_name = fun_name
        self.fun_module = fun_module
        self.args = tuple(args)
        self.kwds = dict(kwds or {})

    def get(self) -> Any:
        """Look the factory up in the registry (see module docstring) and call it."""
        fun = resolve_factory(self.fun_module, self.fun_name)
        return fun(*self.args, **self.kwds)

    def __repr__(self) -> str:
        return (f"NetConstructor({self.fun_module}.{self.fun_name}, args={len(self.args)}, "
                f"kwds={sorted(self.kwds)})")


def model_constructor(f: Optional[Callable[..., Any]] = None, *,
                      aliases: Iterable[Key] = ()) -> Any:
    """Decorate (and register) a network factory so each call attaches ``net.constructor``.

    ``@model_constructor`` or ``@model_constructor(aliases=[("ltr.models.x", "old_name")])``.
    The constructor goes on element 0 when the factory returns a tuple/list.
    """
    if f is None:
        return lambda g: model_constructor(g, aliases=aliases)

    @functools.wraps(f)
    def wrapper(*args: Any, **kwds: Any) -> Any:
        constructor = NetConstructor(f.__name__, f.__module__, args, kwds)
        output = f(*args, **kwds)
        if isinstance(output, (tuple, list)):
            output[0].constructor = constructor
        else:
            output.constructor = constructor
        return output

    register_factory(wrapper, f.__name__, f.__module__, aliases)
    return wrapper
