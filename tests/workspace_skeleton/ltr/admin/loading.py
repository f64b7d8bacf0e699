"""Skeleton of ltr/admin/loading.py::load_network (contract 3.2). Like upstream, torch.load is called without
weights_only (on torch >= 2.6 set TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, the documented workaround)."""
import importlib
import inspect
import os
import sys
from pathlib import Path

import torch


def load_network(network_dir=None, checkpoint=None, constructor_fun_name=None, constructor_module=None, **kwargs):
    net_path = Path(network_dir) if network_dir is not None else None
    if net_path is not None and net_path.is_file():
        checkpoint = str(net_path)

    if checkpoint is None:
        found = sorted(net_path.glob('*.pth.tar'))
        if not found:
            raise Exception('No matching checkpoint file found')
        checkpoint_path = found[-1]
    elif isinstance(checkpoint, int):
        found = sorted(net_path.glob('*_ep{:04d}.pth.tar'.format(checkpoint)))
        if not found:
            raise Exception('No matching checkpoint file found')
        if len(found) > 1:
            raise Exception('Multiple matching checkpoint files found')
        checkpoint_path = found[0]
    elif isinstance(checkpoint, str):
        checkpoint_path = os.path.expanduser(checkpoint)
    else:
        raise TypeError

    checkpoint_dict = torch_load_legacy(checkpoint_path)
    constructor = checkpoint_dict.get('constructor')
    if constructor is None:
        raise RuntimeError('No constructor for the given network.')
    if constructor_fun_name is not None:
        constructor.fun_name = constructor_fun_name
    if constructor_module is not None:
        constructor.fun_module = constructor_module
    if constructor.fun_module.startswith('dlframework.'):
        constructor.fun_module = constructor.fun_module[len('dlframework.'):]
    factory = getattr(importlib.import_module(constructor.fun_module), constructor.fun_name)
    accepted = inspect.signature(factory).parameters
    for key, value in kwargs.items():
        if key in accepted:
            constructor.kwds[key] = value
        else:
            print('WARNING: Keyword argument "{}" not found when loading network. It was ignored.'.format(key))
    net = constructor.get()
    net.load_state_dict(checkpoint_dict['net'])  # strict, as upstream
    net.constructor = checkpoint_dict['constructor']
    if checkpoint_dict.get('net_info') is not None:
        net.info = checkpoint_dict['net_info']
    return net, checkpoint_dict


def torch_load_legacy(path):
    _setup_legacy_env()
    checkpoint_dict = torch.load(path, map_location='cpu')
    _cleanup_legacy_env()
    return checkpoint_dict


def _setup_legacy_env():
    # Imports ltr.admin.local unconditionally, as upstream: tracking needs a working ltr local.py too.
    importlib.import_module('ltr')
    sys.modules['dlframework'] = sys.modules['ltr']
    sys.modules['dlframework.common'] = sys.modules['ltr']
    importlib.import_module('ltr.admin')
    sys.modules['dlframework.common.utils'] = sys.modules['ltr.admin']
    for name in ('model_constructor', 'settings', 'local'):
        importlib.import_module('ltr.admin.' + name)
        sys.modules['dlframework.common.utils.' + name] = sys.modules['ltr.admin.' + name]


def _cleanup_legacy_env():
    for name in [m for m in sys.modules if m.startswith('dlframework')]:
        del sys.modules[name]
