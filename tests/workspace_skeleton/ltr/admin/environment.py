"""Skeleton of ltr/admin/environment.py: on ANY failure to use local.py it overwrites the file with the
default template and raises (contract 1.3). This is the hazard the SLT plugin must never trigger."""
import importlib
import os

LOCAL_FILE = os.path.join(os.path.dirname(__file__), 'local.py')
DEFAULTS = (('workspace_dir', "''"),
            ('tensorboard_dir', "self.workspace_dir + '/tensorboard/'"),
            ('pretrained_networks', "self.workspace_dir + '/pretrained_networks/'"),
            ('lasot_dir', "''"), ('got10k_dir', "''"), ('trackingnet_dir', "''"), ('coco_dir', "''"))


def create_default_local_file():
    lines = ['class EnvironmentSettings:', '    def __init__(self):']
    lines += ['        self.{} = {}'.format(name, value) for name, value in DEFAULTS]
    with open(LOCAL_FILE, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def env_settings():
    try:
        return importlib.import_module('ltr.admin.local').EnvironmentSettings()
    except:  # noqa: E722 - upstream catches everything
        create_default_local_file()
        raise RuntimeError('YOU HAVE NOT SETUP YOUR local.py!!!\n Go to "{}" and set all the paths you need. '
                           'Then try to run again.'.format(LOCAL_FILE))
