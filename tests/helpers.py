"""Helpers shared by several test files (not collected: no ``test_`` prefix)."""
from __future__ import annotations

import os


def isolate_slt_env(monkeypatch, tmp_path) -> None:
    """Drop every ``SLT_*`` variable of the caller's shell and point ``SLT_CONFIG`` at a missing file,
    so path resolution only sees what the test sets."""
    for key in list(os.environ):
        if key.startswith("SLT_") and key != "SLT_CONFIG":
            monkeypatch.delenv(key)
    monkeypatch.setenv("SLT_CONFIG", str(tmp_path / "no_config.json"))


# ---------------------------------------------------------------------------------------------
# SLT actors: gradients of an iteration learnt in chunks
# ---------------------------------------------------------------------------------------------
def chunked_grads(actor, traj, adv, chunk: int):
    """Learn ``traj`` in chunks of ``chunk`` clips with the iteration's normaliser, as the trainer does:
    (summed loss, {parameter name: gradient})."""
    actor.net.zero_grad(set_to_none=True)
    norm = actor.normaliser(traj)
    total = 0.0
    for start in range(0, traj.num_clips, chunk):
        idx = list(range(start, min(start + chunk, traj.num_clips)))
        loss, _ = actor.learn(traj.chunk(idx), adv[:, idx], norm)
        loss.backward()
        total += float(loss.detach())
    return total, {n: p.grad.clone() for n, p in actor.net.named_parameters() if p.grad is not None}


def assert_same_grads(grads, ref) -> None:
    """Same parameters, equal up to float32 summation order: per-tensor relative error of the norm < 1e-4."""
    assert grads.keys() == ref.keys()
    for name, g in ref.items():
        err = (grads[name] - g).norm() / g.norm().clamp(min=1e-12)
        assert err < 1e-4, (name, float(err))


# ---------------------------------------------------------------------------------------------
# TransT: the official positive-cell rule
# ---------------------------------------------------------------------------------------------
def official_slice_cells(box, n: int) -> set:
    """Flat token indices the official rule marks positive for a normalised cxcywh ``box`` on an n x n grid,
    with real numpy slicing of the token grid (negative bounds count from the end)."""
    import numpy as np

    cx, cy, w, h = box
    xs, ys = int(np.ceil((cx - w / 2) * n)), int(np.ceil((cy - h / 2) * n))
    xe, ye = int(np.ceil((cx + w / 2) * n)), int(np.ceil((cy + h / 2) * n))
    xe += xs == xe
    ye += ys == ye
    grid = np.arange(n * n).reshape(n, n)
    return set(int(t) for t in grid[ys:ye, xs:xe].flatten())


# ---------------------------------------------------------------------------------------------
# DiMP-family models: a tiny training batch
# ---------------------------------------------------------------------------------------------
def tiny_dimp_batch(seed: int, seq: int, num_test: int, num_proposals: int, box):
    """Random 64 px train (2) / test (``num_test``) images of ``seq`` sequences, the same ``box`` in every
    train image and ``num_proposals`` copies of one proposal per test image: (train, test, train_bb, proposals)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    train = torch.randn(2, seq, 3, 64, 64, generator=g)
    test = torch.randn(num_test, seq, 3, 64, 64, generator=g)
    bb = torch.tensor([float(v) for v in box]).repeat(2, seq, 1)
    props = torch.tensor([14.0, 15.0, 26.0, 22.0]).repeat(num_test, seq, num_proposals, 1)
    return train, test, bb, props


# ---------------------------------------------------------------------------------------------
# foreign pickles: a throw-away package importable while files are written
# ---------------------------------------------------------------------------------------------
def write_fake_package(root, files) -> str:
    """Write ``files`` ({relative path: source, dedented}) under ``root``; returns ``root`` for sys.path."""
    import textwrap
    from pathlib import Path

    root = Path(root)
    for rel, text in files.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text))
    return str(root)


def forget_package(name: str) -> None:
    """Drop ``name`` and its sub-modules from ``sys.modules`` (plain deletes, no monkeypatch record)."""
    import sys

    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]


def exit_worker() -> None:
    """End a finished DDP worker without interpreter teardown: gloo's background threads can abort a normal
    exit ("terminate called without an active exception", SIGABRT) after all results are written."""
    import os
    import sys
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class MemoryVideos:
    """ltr-API dataset held in memory: frame f of sequence s is filled with the value s*64+f, GT box
    ``[10 + f, 20, 30, 40 + s]``; ``visible`` / ``invalid``: {seq: frame ids} (visible only there / not valid)."""

    def __init__(self, lengths=(30, 30, 30), visible=None, video=True, name="mem", invalid=None, frame_hw=(60, 80)):
        self.lengths = list(lengths)
        self.visible = visible or {}
        self.invalid = invalid or {}
        self.video = video
        self.name = name
        self.frame_hw = tuple(frame_hw)
        self.info_calls = 0

    def get_name(self):
        return self.name

    def is_video_sequence(self):
        return self.video

    def get_num_sequences(self):
        return len(self.lengths)

    def get_sequence_info(self, seq_id):
        import torch
        self.info_calls += 1
        n = self.lengths[seq_id]
        bbox = torch.stack([torch.tensor([10.0 + f, 20.0, 30.0, 40.0 + seq_id]) for f in range(n)])
        vis = torch.ones(n, dtype=torch.bool)
        if seq_id in self.visible:
            vis[:] = False
            vis[list(self.visible[seq_id])] = True
        valid = vis.clone()
        valid[list(self.invalid.get(seq_id, []))] = False
        return {"bbox": bbox, "valid": valid, "visible": vis}

    def get_frames(self, seq_id, frame_ids, anno=None):
        import numpy as np
        anno = anno or self.get_sequence_info(seq_id)
        frames = [np.full((*self.frame_hw, 3), (seq_id * 64 + f) % 256, np.uint8) for f in frame_ids]
        return frames, {k: [v[f] for f in frame_ids] for k, v in anno.items()}, {"object_class_name": None}


def assert_resumes_exactly(make, tmp_path, epochs: int = 2, atol: float = 0.0):
    """``make(workspace) -> trainer``: ``epochs`` epochs straight give the weights of one epoch, a new trainer
    and ``load_latest`` up to ``epochs``. Returns the straight trainer."""
    import torch
    straight = make(tmp_path / "a")
    straight.train(epochs)
    make(tmp_path / "b").train(1)
    resumed = make(tmp_path / "b")
    resumed.train(epochs, load_latest=True)
    assert resumed.epoch == epochs
    for (n, a), b in zip(straight.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=atol, rtol=0.0), n
    return straight
