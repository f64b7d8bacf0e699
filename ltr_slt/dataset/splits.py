"""Which sequences of a dataset to use: split names, user split files, explicit ids, or all.

A ``split`` argument is resolved in this order:

1. a path to an existing file (``split='/my/splits/lasot_small.txt'``): one entry per line
   (names such as ``airplane-1`` / ``GOT-10k_Train_000001``, or for GOT-10k 0-based indices into
   ``list.txt``); blank lines and ``#`` comments ignored;
2. a split *name* looked up in the data-spec folder: ``env_settings().dataspec_path``
   (``SLT_DATASPEC_PATH``; defaults to the enclosing pytracking workspace's ``ltr/data_specs``),
   with ltr's file names (:data:`SPLIT_FILES`);
3. LaSOT only: ``'train'`` / ``'test'`` -> ``training_set.txt`` / ``testing_set.txt`` at the LaSOT
   root, as shipped with the official download;
4. otherwise a clear error listing what was tried.

``split=None`` (and no explicit ids) means every sequence found on disk. No split files are
bundled with this package (they belong to their authors); copy them from a pytracking checkout
into a folder and point ``dataspec_path`` at it when working outside a workspace.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Union

from ltr_slt.admin.fileio import read_list_file

# ltr/data_specs file names as ltr's dataset classes use them (split name -> file).
SPLIT_FILES: Dict[str, Dict[str, str]] = {
    "lasot": {
        "train": "lasot_train_split.txt",
        "train_train": "lasot_train_train_split.txt",
        "train_val": "lasot_train_val_split.txt",
    },
    "got10k": {
        "train": "got10k_train_split.txt",
        "val": "got10k_val_split.txt",
        "vottrain": "got10k_vot_train_split.txt",
        "votval": "got10k_vot_val_split.txt",
        "all": "got10k_all.txt",     # SLT fork's name; without the file 'all' means every sequence
    },
}
LASOT_OFFICIAL_FILES = {"train": "training_set.txt", "test": "testing_set.txt"}

SplitArg = Union[str, "os.PathLike[str]"]


class SplitError(ValueError):
    """A split could not be resolved; the message says what was tried."""


# Entries of a split file (stripped; blank lines and ``#`` comments skipped; first comma field).
read_split_file = read_list_file


def data_specs_dir() -> Optional[str]:
    """The folder holding ltr's split files, or None when unknown / missing."""
    from ltr_slt.admin.environment import env_settings
    path = env_settings().dataspec_path
    return path if path and os.path.isdir(path) else None


def _split_file_path(dataset: str, split: SplitArg, root: Optional[str], tried: List[str]) -> Optional[str]:
    text = os.fspath(split)
    if os.path.isfile(text):
        return text
    tried.append(f"file {text!r} (not found)")
    name = text.lower()
    specs = data_specs_dir()
    filename = SPLIT_FILES.get(dataset, {}).get(name)
    if filename:
        if specs:
            candidate = os.path.join(specs, filename)
            if os.path.isfile(candidate):
                return candidate
            tried.append(f"{candidate} (not found)")
        else:
            tried.append(f"{filename} in dataspec_path (not configured: set SLT_DATASPEC_PATH to a pytracking "
                         f"ltr/data_specs folder, or run inside a pytracking workspace)")
    if dataset == "lasot" and name in LASOT_OFFICIAL_FILES and root:
        candidate = os.path.join(root, LASOT_OFFICIAL_FILES[name])
        if os.path.isfile(candidate):
            return candidate
        tried.append(f"{candidate} (not found; the official LaSOT download ships it)")
    return None


def lasot_split(split: SplitArg, root: str) -> List[str]:
    """Sequence names (``<class>-<k>``) of a LaSOT split."""
    tried: List[str] = []
    path = _split_file_path("lasot", split, root, tried)
    if path is None:
        raise SplitError(f"unknown LaSOT split {os.fspath(split)!r}; tried: " + "; ".join(tried)
                         + f". Known names: {sorted(set(SPLIT_FILES['lasot']) | set(LASOT_OFFICIAL_FILES))}, "
                           f"or pass a split file path, or vid_ids=[...]")
    names = read_split_file(path)
    if not names:
        raise SplitError(f"LaSOT split file {path} is empty")
    return names


def got10k_split(split: SplitArg, sequence_list: Sequence[str]) -> List[int]:
    """0-based indices into ``list.txt`` order for a GOT-10k split (ids or names in the file)."""
    tried: List[str] = []
    path = _split_file_path("got10k", split, None, tried)
    if path is None:
        if os.fspath(split).lower() == "all":
            return list(range(len(sequence_list)))
        raise SplitError(f"unknown GOT-10k split {os.fspath(split)!r}; tried: " + "; ".join(tried)
                         + f". Known names: {sorted(SPLIT_FILES['got10k'])}, or pass a split file path, "
                           f"or seq_ids=[...]")
    return entries_to_indices(read_split_file(path), sequence_list, path)


def entries_to_indices(entries: Sequence[Union[str, int]], sequence_list: Sequence[str], source: str) -> List[int]:
    """Split entries (0-based ints, or sequence names) -> indices, with errors naming the source."""
    index_of = None
    out: List[int] = []
    for k, entry in enumerate(entries):
        text = str(entry).strip()
        if text.lstrip("-").isdigit():
            i = int(text)
            if not 0 <= i < len(sequence_list):
                raise SplitError(f"{source}: entry {k + 1} = {i} is out of range for {len(sequence_list)} sequences")
            out.append(i)
            continue
        if index_of is None:
            index_of = {name: i for i, name in enumerate(sequence_list)}
        if text not in index_of:
            raise SplitError(f"{source}: entry {k + 1} = {text!r} is not a sequence of this dataset")
        out.append(index_of[text])
    return out


def select_names(wanted: Sequence[str], available: Sequence[str], source: str) -> List[str]:
    """``wanted`` in its order, checking every entry exists (error lists the first missing ones)."""
    have = set(available)
    missing = [w for w in wanted if w not in have]
    if missing:
        raise SplitError(f"{source}: {len(missing)} of {len(wanted)} sequences are not on disk, e.g. "
                         f"{missing[:5]} (partial download? pass an explicit list instead)")
    return list(wanted)


__all__ = ["SPLIT_FILES", "LASOT_OFFICIAL_FILES", "SplitError", "read_split_file",
           "data_specs_dir", "lasot_split", "got10k_split", "entries_to_indices", "select_names"]
