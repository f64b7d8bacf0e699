"""One bad frame in a training dataset is skipped and reported, not fatal; many are (issue 13, item 13).

A real LaSOT-layout dataset on disk (the synthetic generator) read by the real LaSOT reader, with
JPEG files corrupted the way a broken download leaves them.
"""
from __future__ import annotations

import logging

import pytest

from ltr_slt.data import SLTLoader, SequenceSampler
from ltr_slt.data.sampler import BadDataError
from ltr_slt.dataset.lasot import Lasot
from ltr_slt.dataset.synthetic import SyntheticConfig, generate_dataset


@pytest.fixture(scope="module")
def lasot_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("lasot")
    cfg = SyntheticConfig(num_frames=30, width=64, height=48, use_photos=False, occlusion_prob=0.0,
                          out_of_view_prob=0.0)
    generate_dataset(str(root), layout="lasot", num_seq=3, seed=0, config=cfg, test_every=0)
    return root


def _loader(root, samples=24, **kw):
    sampler = SequenceSampler([Lasot(str(root))], None, samples, 30, 4, frame_sample_mode="sequential",
                              seed=0, min_visible_frames=0)
    return SLTLoader("train", sampler, batch_size=4, **kw)


def _corrupt(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # truncated JPEG: no end-of-image marker


def test_one_bad_frame_is_skipped_counted_and_named(lasot_root, tmp_path, caplog):
    import shutil
    root = tmp_path / "lasot"
    shutil.copytree(lasot_root, root)
    frames = sorted(root.glob("*/*-*/img/*.jpg"))
    for f in frames[:30]:  # every frame of the first video
        _corrupt(f)
    loader = _loader(root)
    with caplog.at_level(logging.WARNING, logger="ltr_slt.data.loader"):
        batches = list(loader)
    assert sum(len(b) for b in batches) == 24  # the epoch is complete
    assert all(not c.skipped_bad or c.seq_id != 0 for b in batches for c in b)  # clips come from good videos
    warnings = [r.getMessage() for r in caplog.records if "unreadable training sample" in r.getMessage()]
    assert 0 < len(warnings) == loader.bad_samples <= loader.max_bad_samples == 10
    assert all("truncated JPEG" in w and str(frames[0].parent) in w and "\n" not in w for w in warnings)


def test_past_the_threshold_training_stops_in_one_line(lasot_root, tmp_path):
    import shutil
    root = tmp_path / "lasot"
    shutil.copytree(lasot_root, root)
    for f in sorted(root.glob("*/*-*/img/*.jpg"))[:60]:  # two of the three videos
        _corrupt(f)
    with pytest.raises(BadDataError, match=r"unreadable training samples this epoch \(more than max_bad_samples=3\)"):
        list(_loader(root, max_bad_samples=3))


def test_every_file_broken_fails_fast_naming_the_last_file(lasot_root, tmp_path):
    import shutil
    root = tmp_path / "lasot"
    shutil.copytree(lasot_root, root)
    for f in root.glob("*/*-*/img/*.jpg"):
        _corrupt(f)
    sampler = _loader(root).dataset
    with pytest.raises(BadDataError, match=r"10 samples in a row hit unreadable data \(last: cannot read image"):
        sampler[0]


def test_clean_data_draws_exactly_the_same_clips(lasot_root):
    """Redrawing only happens on errors: a clean dataset gives the clips it gave before."""
    sampler = _loader(lasot_root).dataset
    clip = sampler[3]
    again = sampler._sample(*sampler.rng_for(3))
    assert clip.skipped_bad == () and clip.search_frame_ids == again.search_frame_ids
    assert clip.seq_id == again.seq_id


def test_trainer_stops_on_bad_data_with_one_error_line(lasot_root, tmp_path, caplog):
    import shutil

    from test_slt_trainer import make_trainer
    root = tmp_path / "lasot"
    shutil.copytree(lasot_root, root)
    for f in sorted(root.glob("*/*-*/img/*.jpg"))[:60]:
        _corrupt(f)
    trainer = make_trainer(tmp_path / "ws")
    trainer.loaders = [_loader(root, samples=8, max_bad_samples=0)]
    with caplog.at_level(logging.ERROR, logger="ltr_slt.trainers"):
        with pytest.raises(BadDataError):
            trainer.train(1)
    assert "Traceback" not in caplog.text and "Training crashed" not in caplog.text
    assert "max_bad_samples=0" in caplog.text
