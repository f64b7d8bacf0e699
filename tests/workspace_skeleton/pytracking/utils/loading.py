"""Skeleton of pytracking/utils/loading.py (contract 8.4): what pytracking's NetWrapper calls."""
import os

import ltr.admin.loading as ltr_loading
from pytracking.evaluation.environment import env_settings


def load_network(net_path, **kwargs):
    kwargs['backbone_pretrained'] = False  # always forced upstream
    if os.path.isabs(net_path):
        net, _ = ltr_loading.load_network(net_path, **kwargs)
        return net
    folders = env_settings().network_path
    folders = folders if isinstance(folders, (list, tuple)) else [folders]
    for folder in folders:
        try:
            net, _ = ltr_loading.load_network(os.path.join(folder, net_path), **kwargs)
            return net
        except Exception as e:
            print(e)
    raise AssertionError('Failed to load network')
