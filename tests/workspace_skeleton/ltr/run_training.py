"""Skeleton of pytracking's ltr/run_training.py (contract section 1.1): same CLI, same sys.path mechanics."""
import argparse
import importlib
import multiprocessing
import os
import sys

import cv2 as cv
import torch.backends.cudnn

# Appended, not prepended: sys.path[0] stays this folder (ltr/), as upstream.
root_dir = os.path.join(os.path.dirname(__file__), '..')
if root_dir not in sys.path:
    sys.path.append(root_dir)

import ltr.admin.settings as ws_settings  # noqa: E402


def run_training(train_module, train_name, cudnn_benchmark=True):
    cv.setNumThreads(0)
    torch.backends.cudnn.benchmark = cudnn_benchmark
    print('Training:  {}  {}'.format(train_module, train_name))

    settings = ws_settings.Settings()
    settings.module_name = train_module
    settings.script_name = train_name
    settings.project_path = 'ltr/{}/{}'.format(train_module, train_name)

    module = importlib.import_module('ltr.train_settings.{}.{}'.format(train_module, train_name))
    module.run(settings)  # return value ignored, as upstream


def main():
    parser = argparse.ArgumentParser(description='Train with a settings file from ltr/train_settings/.')
    parser.add_argument('train_module', type=str, help='sub-package of train_settings/')
    parser.add_argument('train_name', type=str, help='settings file name without .py')
    parser.add_argument('--cudnn_benchmark', type=bool, default=True, help='(type=bool, as upstream)')
    args = parser.parse_args()
    run_training(args.train_module, args.train_name, args.cudnn_benchmark)


if __name__ == '__main__':
    multiprocessing.set_start_method('spawn', force=True)
    main()
