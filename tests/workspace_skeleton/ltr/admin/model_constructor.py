"""Skeleton of ltr/admin/model_constructor.py (contract 3.1)."""
import functools
import importlib


class NetConstructor:
    """Recipe fun_module.fun_name(*args, **kwds); pickled into checkpoints."""

    def __init__(self, fun_name, fun_module, args, kwds):
        self.fun_name = fun_name
        self.fun_module = fun_module
        self.args = args
        self.kwds = kwds

    def get(self):
        fun = getattr(importlib.import_module(self.fun_module), self.fun_name)
        return fun(*self.args, **self.kwds)


def model_constructor(f):
    @functools.wraps(f)
    def wrapped(*args, **kwds):
        record = NetConstructor(f.__name__, f.__module__, args, kwds)
        out = f(*args, **kwds)
        (out[0] if isinstance(out, (tuple, list)) else out).constructor = record
        return out
    return wrapped
