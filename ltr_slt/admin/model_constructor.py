"""Record how a network was built, so a checkpoint can rebuild it (ltr's ``model_constructor``).

The decorator stores ``NetConstructor(fun_name, fun_module, args, kwds)`` as ``net.constructor``.
The record is pickled into checkpoints; ``get()`` re-imports the factory by its dotted path, so a
checkpoint written by this package rebuilds without any of the code that trained it.
"""
from __future__ import annotations

import functools
import importlib
from typing import Any, Callable, Dict, Tuple

__all__ = ["NetConstructor", "model_constructor"]


class NetConstructor:
    """Picklable recipe ``fun_module.fun_name(*args, **kwds)`` (same attribute names as ltr)."""

    def __init__(self, fun_name: str, fun_module: str, args: Tuple[Any, ...] = (),
                 kwds: Dict[str, Any] | None = None) -> None:
        self.fun_name = fun_name
        self.fun_module = fun_module
        self.args = tuple(args)
        self.kwds = dict(kwds or {})

    def get(self) -> Any:
        """Import the factory and call it with the recorded arguments."""
        try:
            module = importlib.import_module(self.fun_module)
        except ImportError as err:
            raise ImportError(f"cannot import network module '{self.fun_module}' recorded in the "
                              f"checkpoint's constructor: {err}") from err
        try:
            fun = getattr(module, self.fun_name)
        except AttributeError as err:
            raise AttributeError(f"module '{self.fun_module}' has no network factory "
                                 f"'{self.fun_name}'") from err
        return fun(*self.args, **self.kwds)

    def __repr__(self) -> str:
        return (f"NetConstructor({self.fun_module}.{self.fun_name}, args={len(self.args)}, "
                f"kwds={sorted(self.kwds)})")


def model_constructor(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a network factory so each call attaches ``net.constructor`` (element 0 of a tuple)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwds: Any) -> Any:
        constructor = NetConstructor(f.__name__, f.__module__, args, kwds)
        output = f(*args, **kwds)
        if isinstance(output, (tuple, list)):
            output[0].constructor = constructor
        else:
            output.constructor = constructor
        return output

    return wrapper
