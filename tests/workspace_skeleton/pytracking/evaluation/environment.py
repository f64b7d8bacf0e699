"""Skeleton of pytracking/evaluation/environment.py (contract 7.2): defaults, and overwrite-on-failure."""
import importlib
import os

PYTRACKING_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
LOCAL_FILE = os.path.join(os.path.dirname(__file__), 'local.py')
EMPTY_FIELDS = ('otb_path', 'nfs_path', 'uav_path', 'tpl_path', 'vot_path', 'got10k_path', 'lasot_path',
                'lasot_extension_subset_path', 'trackingnet_path', 'oxuva_path', 'davis_dir', 'youtubevos_dir',
                'got_packed_results_path', 'got_reports_path', 'tn_packed_results_path')


class EnvSettings:
    def __init__(self):
        self.results_path = '{}/tracking_results/'.format(PYTRACKING_DIR)
        self.segmentation_path = '{}/segmentation_results/'.format(PYTRACKING_DIR)
        self.network_path = '{}/networks/'.format(PYTRACKING_DIR)
        self.result_plot_path = '{}/result_plots/'.format(PYTRACKING_DIR)
        for name in EMPTY_FIELDS:
            setattr(self, name, '')


def create_default_local_file():
    defaults = EnvSettings()
    lines = ['from pytracking.evaluation.environment import EnvSettings', '', 'def local_env_settings():',
             '    settings = EnvSettings()', '']
    for name in sorted(vars(defaults)):
        lines.append("    settings.{} = '{}'".format(name, getattr(defaults, name)))
    lines += ['', '    return settings']
    with open(LOCAL_FILE, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def env_settings():
    try:
        return importlib.import_module('pytracking.evaluation.local').local_env_settings()
    except:  # noqa: E722 - upstream catches everything
        create_default_local_file()
        raise RuntimeError('YOU HAVE NOT SETUP YOUR local.py!!!\n Go to "{}" and set all the paths you need. '
                           'Then try to run again.'.format(LOCAL_FILE))
