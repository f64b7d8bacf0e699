"""Dataset readers on tiny on-disk datasets in the real LaSOT / GOT-10k / TrackingNet / folder layouts."""
from __future__ import annotations

import builtins
import io
import logging
import os
import pickle

import cv2
import numpy as np
import pytest
import torch

from ltr_slt.data.image_loader import ImageReadError
from ltr_slt.dataset import (AnnotationError, DatasetRootError, FolderDataset, Got10k, Lasot, SplitError,
                             TrackingNet)
from ltr_slt.dataset import base_video_dataset as bvd
from ltr_slt.dataset.base_video_dataset import read_box_file, read_flag_file

from helpers import isolate_slt_env

H, W = 12, 16


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    isolate_slt_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    monkeypatch.setenv("SLT_IMAGE_BACKEND", "opencv")
    monkeypatch.setattr(bvd, "_file_warnings", 0)      # per-file warnings are rate limited per process


def _frame_value(k: int) -> int:
    return (20 * k + 10) % 250


def _write_frames(folder, n, name_fn):
    """Frame k (0-based) is a flat image whose red channel encodes k; blue = 255 - red (RGB check)."""
    os.makedirs(folder, exist_ok=True)
    for k in range(n):
        v = _frame_value(k)
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[..., 0], rgb[..., 2] = v, 255 - v
        cv2.imwrite(os.path.join(folder, name_fn(k)), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _frame_index(img) -> int:
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    red = int(round(float(img[..., 0].mean())))
    assert abs(int(round(float(img[..., 2].mean()))) - (255 - red)) <= 3   # RGB, not BGR
    return min(range(12), key=lambda k: abs(_frame_value(k) - red))


def _boxes(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.c_[rng.uniform(0, 5, (n, 2)), rng.uniform(1, 8, (n, 2))].round(2)


def _write_boxes(path, boxes, delim=","):
    with open(path, "w") as f:
        for b in boxes:
            f.write(delim.join(f"{v:g}" for v in b) + "\n")


# ----------------------------------------------------------------------------------------------
# layouts
# ----------------------------------------------------------------------------------------------
def make_lasot(root, classes=("bird", "cat"), ks=(1, 2), n=6, frames=True):
    for c in classes:
        for k in ks:
            seq = os.path.join(root, c, f"{c}-{k}")
            os.makedirs(seq, exist_ok=True)
            if frames:
                _write_frames(os.path.join(seq, "img"), n, lambda i: f"{i + 1:08d}.jpg")
            _write_boxes(os.path.join(seq, "groundtruth.txt"), _boxes(n, k))
            occ = [0] * n
            oov = [0] * n
            occ[1] = 1
            oov[2] = 1
            with open(os.path.join(seq, "full_occlusion.txt"), "w") as f:
                f.write(",".join(map(str, occ)))
            with open(os.path.join(seq, "out_of_view.txt"), "w") as f:
                f.write(",".join(map(str, oov)))
    return str(root)


def make_got10k(root, n_seq=3, n=5):
    names = [f"GOT-10k_Train_{i + 1:06d}" for i in range(n_seq)]
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "list.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    for i, name in enumerate(names):
        seq = os.path.join(root, name)
        _write_frames(seq, n, lambda k: f"{k + 1:08d}.jpg")
        _write_boxes(os.path.join(seq, "groundtruth.txt"), _boxes(n, i))
        with open(os.path.join(seq, "absence.label"), "w") as f:
            f.write("\n".join(["0", "1"] + ["0"] * (n - 2)) + "\n")
        with open(os.path.join(seq, "cover.label"), "w") as f:
            f.write("\n".join(["8", "0", "0", "4"] + ["8"] * (n - 4)) + "\n")
        with open(os.path.join(seq, "meta_info.ini"), "w") as f:
            f.write("[METAINFO]\nurl: https://example.invalid\nbegin: 00:00:01\nend: 00:00:09\nanno_fps: 10Hz\n"
                    f"object_class: {'dog' if i % 2 == 0 else 'fish'}\nmotion_class: running\n"
                    "major_class: animal\nroot_class: animal\nmotion_adverb: slowly\nresolution: (16, 12)\n")
    return str(root), names


def make_trackingnet(root, sets=(0, 2), videos=("vidA", "vidB"), n=4):
    for s in sets:
        for v in videos:
            _write_frames(os.path.join(root, f"TRAIN_{s}", "frames", v), n, lambda k: f"{k}.jpg")
            os.makedirs(os.path.join(root, f"TRAIN_{s}", "anno"), exist_ok=True)
            _write_boxes(os.path.join(root, f"TRAIN_{s}", "anno", v + ".txt"), _boxes(n, s))
    return str(root)


# ----------------------------------------------------------------------------------------------
# API + layouts
# ----------------------------------------------------------------------------------------------
def _check_info(info, n):
    assert info["bbox"].dtype == torch.float32 and info["bbox"].shape == (n, 4)
    assert info["valid"].dtype == torch.bool and info["valid"].shape == (n,)
    assert info["visible"].dtype == torch.bool and info["visible"].shape == (n,)


def test_lasot_reader(tmp_path):
    root = make_lasot(tmp_path / "lasot")
    ds = Lasot(root)
    assert ds.get_name() == "lasot" and ds.is_video_sequence() and ds.has_class_info() and ds.has_occlusion_info()
    assert ds.get_num_sequences() == len(ds) == 4
    assert ds.get_class_list() == ["bird", "cat"] and ds.get_num_classes() == 2
    assert [ds.get_sequence_name(i) for i in ds.get_sequences_in_class("cat")] == ["cat-1", "cat-2"]
    seq = ds.sequence_list.index("cat-2")
    info = ds.get_sequence_info(seq)
    _check_info(info, 6)
    np.testing.assert_allclose(info["bbox"].numpy(), _boxes(6, 2), atol=1e-4)
    assert info["visible"].tolist() == [True, False, False, True, True, True]   # occluded 1, out of view 2
    frames, anno, meta = ds.get_frames(seq, [0, 4, 2])
    assert [_frame_index(f) for f in frames] == [0, 4, 2]          # frame id f -> %08d.jpg of f + 1
    assert set(anno) == {"bbox", "valid", "visible"}
    assert torch.equal(anno["bbox"][1], info["bbox"][4]) and anno["visible"][2].item() is False
    assert meta["object_class_name"] == "cat" and list(meta) == [
        "object_class_name", "motion_class", "major_class", "root_class", "motion_adverb"]
    anno["bbox"][0] += 100                                      # per-frame annos are copies
    assert not torch.equal(anno["bbox"][0], ds.get_sequence_info(seq)["bbox"][0])


def test_lasot_sequence_selection(tmp_path, monkeypatch):
    root = make_lasot(tmp_path / "lasot", ks=(1, 2, 3), frames=False)
    assert Lasot(root, vid_ids=[1, 3]).sequence_list == ["bird-1", "bird-3", "cat-1", "cat-3"]
    assert Lasot(root, sequences=["cat-2"]).sequence_list == ["cat-2"]
    with pytest.raises(SplitError, match="testing_set.txt"):
        Lasot(root, split="test")
    (tmp_path / "lasot" / "testing_set.txt").write_text("bird-2\ncat-3\n")
    assert Lasot(root, split="test").sequence_list == ["bird-2", "cat-3"]
    (tmp_path / "lasot" / "training_set.txt").write_text("bird-1\n")
    assert Lasot(root, split="train").sequence_list == ["bird-1"]
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "lasot_train_split.txt").write_text("cat-1\nbird-3\n")
    monkeypatch.setenv("SLT_DATASPEC_PATH", str(specs))
    assert Lasot(root, split="train").sequence_list == ["cat-1", "bird-3"]    # data_specs wins
    user = tmp_path / "mine.txt"
    user.write_text("# my subset\ncat-2\n\n")
    assert Lasot(root, split=str(user)).sequence_list == ["cat-2"]
    user.write_text("cat-2\ncat-9\n")
    with pytest.raises(SplitError, match="cat-9"):
        Lasot(root, split=str(user))
    with pytest.raises(SplitError, match="unknown LaSOT split 'nonsense'"):
        Lasot(root, split="nonsense")
    a = Lasot(root, data_fraction=0.5).sequence_list
    assert len(a) == 3 and a == Lasot(root, data_fraction=0.5).sequence_list   # deterministic


def test_got10k_reader(tmp_path, monkeypatch):
    root, names = make_got10k(tmp_path / "got10k" / "train")
    ds = Got10k(root)
    assert ds.get_name() == "got10k" and ds.get_num_sequences() == 3
    info = ds.get_sequence_info(1)
    _check_info(info, 5)
    assert info["visible"].tolist() == [True, False, False, True, True]     # absent 1, cover 0 at 2
    assert torch.allclose(info["visible_ratio"], torch.tensor([1.0, 0.0, 0.0, 0.5, 1.0]))
    frames, anno, meta = ds.get_frames(1, [3, 0])
    assert [_frame_index(f) for f in frames] == [3, 0]
    assert set(anno) == {"bbox", "valid", "visible", "visible_ratio"}
    assert meta["object_class_name"] == "fish" and meta["motion_adverb"] == "slowly"
    assert ds.get_class_list() == ["dog", "fish"] and ds.get_sequences_in_class("dog") == [0, 2]
    assert Got10k(root, seq_ids=[2, 0]).sequence_list == [names[2], names[0]]
    assert Got10k(root, split="all").sequence_list == names
    with pytest.raises(SplitError, match="SLT_DATASPEC_PATH"):
        Got10k(root, split="vottrain")
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "got10k_vot_train_split.txt").write_text("2\n1\n")
    (specs / "got10k_vot_val_split.txt").write_text("GOT-10k_Train_000001\n")
    (specs / "got10k_val_split.txt").write_text("7\n")
    monkeypatch.setenv("SLT_DATASPEC_PATH", str(specs))
    assert Got10k(root, split="vottrain").sequence_list == [names[2], names[1]]   # indices into list.txt
    assert Got10k(root, split="votval").sequence_list == [names[0]]
    with pytest.raises(SplitError, match="out of range"):
        Got10k(root, split="val")


def test_got10k_without_list_txt_and_missing_meta(tmp_path):
    root, names = make_got10k(tmp_path / "train", n_seq=2)
    os.remove(os.path.join(root, "list.txt"))
    os.remove(os.path.join(root, names[0], "meta_info.ini"))
    ds = Got10k(root)
    assert ds.sequence_list == names
    assert all(v is None for v in ds.get_frames(0, [0])[2].values())


def test_trackingnet_reader(tmp_path):
    root = make_trackingnet(tmp_path / "tn")
    ds = TrackingNet(root)
    assert ds.get_name() == "trackingnet" and ds.set_ids == [0, 2]
    assert ds.sequence_list == [(0, "vidA"), (0, "vidB"), (2, "vidA"), (2, "vidB")]
    assert ds.get_sequence_name(3) == "vidB"
    info = ds.get_sequence_info(2)
    _check_info(info, 4)
    assert torch.equal(info["visible"], info["valid"])
    frames, _, meta = ds.get_frames(2, [0, 3])
    assert [_frame_index(f) for f in frames] == [0, 3]          # 0-based, unpadded
    assert meta["object_class_name"] == "Unknown"
    assert TrackingNet(root, set_ids=[2]).get_num_sequences() == 2
    with pytest.raises(SplitError, match="TRAIN_1"):
        TrackingNet(root, set_ids=[1])


@pytest.mark.parametrize("subdir", ["img", ""])
def test_folder_dataset(tmp_path, subdir):
    for name in ("walk", "run"):
        seq = tmp_path / "videos" / name
        _write_frames(str(seq / subdir) if subdir else str(seq), 11, lambda k: f"{k + 1}.png")
        _write_boxes(str(seq / "groundtruth.txt"), _boxes(11), delim="\t")
    (tmp_path / "videos" / "run" / "absence.label").write_text("0\n" * 10 + "1\n")
    ds = FolderDataset(tmp_path / "videos", name="myvids")
    assert ds.get_name() == "myvids" and ds.sequence_list == ["run", "walk"]
    frames, _, _ = ds.get_frames(1, [1, 9, 10])                  # natural order: 2.png, 10.png, 11.png
    assert [_frame_index(f) for f in frames] == [1, 9, 10]
    assert ds.get_sequence_info(0)["visible"].tolist() == [True] * 10 + [False]
    assert FolderDataset(tmp_path / "videos", sequences=["walk"]).sequence_list == ["walk"]


# ----------------------------------------------------------------------------------------------
# root resolution
# ----------------------------------------------------------------------------------------------
def test_root_from_environment_and_clear_errors(tmp_path, monkeypatch):
    root = make_lasot(tmp_path / "lasot", frames=False)
    with pytest.raises(DatasetRootError, match="SLT_LASOT_DIR"):
        Lasot()
    with pytest.raises(DatasetRootError, match="SLT_GOT10K_DIR"):
        Got10k()
    with pytest.raises(DatasetRootError, match="SLT_TRACKINGNET_DIR"):
        TrackingNet()
    monkeypatch.setenv("SLT_LASOT_DIR", root)
    assert Lasot().get_num_sequences() == 4
    monkeypatch.setenv("SLT_LASOT_DIR", str(tmp_path / "gone"))
    with pytest.raises(DatasetRootError, match="gone.*env SLT_LASOT_DIR"):
        Lasot()


# ----------------------------------------------------------------------------------------------
# bad annotations
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "1,2,3,4\n5,6,7,8\n",
    "1\t2\t3\t4\n5\t6\t7\t8\n",
    "1 2 3 4\n5  6 7   8\n",
    "1, 2, 3, 4\r\n5;6;7;8\r\n\n\n",
    "\ufeff1,2,3,4\n5,6,7,8",
])
def test_delimiters_accepted(tmp_path, text):
    p = tmp_path / "gt.txt"
    p.write_text(text, encoding="utf-8")
    np.testing.assert_array_equal(read_box_file(str(p)), [[1, 2, 3, 4], [5, 6, 7, 8]])


@pytest.mark.parametrize("text,match", [
    ("1,2,3,4\n1,2,3\n", r"gt\.txt:2: expected 4 numbers"),
    ("1,2,3,4\n1,2,3,4,5\n", r"gt\.txt:2: expected 4 numbers"),
    ("1,2,3,4\n1,2,3,4\nx,2,3,4\n", r"gt\.txt:3: not a number"),
    ("1,2,3,4\n\n1,2,3,4\n", r"gt\.txt:2: empty line"),
    ("", r"gt\.txt: annotation file is empty"),
    ("\n\n", r"gt\.txt: annotation file is empty"),
])
def test_malformed_box_files_raise_with_file_and_line(tmp_path, text, match):
    p = tmp_path / "gt.txt"
    p.write_text(text)
    with pytest.raises(AnnotationError, match=match):
        read_box_file(str(p))


def test_flag_file_errors_name_line(tmp_path):
    p = tmp_path / "absence.label"
    p.write_text("0\n1\nyes\n")
    with pytest.raises(AnnotationError, match=r"absence\.label:3"):
        read_flag_file(str(p))
    p.write_text("0,1,0\n")
    assert read_flag_file(str(p)).tolist() == [0, 1, 0]


def _lasot_one(tmp_path, gt_text, n_frames=5, occ=None):
    root = tmp_path / "lasot"
    seq = root / "fox" / "fox-1"
    _write_frames(str(seq / "img"), n_frames, lambda i: f"{i + 1:08d}.jpg")
    (seq / "groundtruth.txt").write_text(gt_text)
    if occ is not None:
        (seq / "full_occlusion.txt").write_text(occ)
        (seq / "out_of_view.txt").write_text(",".join(["0"] * n_frames))
    return Lasot(str(root))


def test_nan_and_nonpositive_boxes_are_invisible(tmp_path):
    ds = _lasot_one(tmp_path, "1,2,3,4\nnan,nan,nan,nan\n1,2,0,4\n1,2,-3,4\n-5,-6,3,4\n",
                    occ="0,0,0,0,0")
    info = ds.get_sequence_info(0)
    assert info["valid"].tolist() == [True, False, False, False, True]   # negative x, y is fine
    assert info["visible"].tolist() == [True, False, False, False, True]
    assert torch.isfinite(info["bbox"]).all() and info["bbox"][1].tolist() == [0, 0, 0, 0]
    assert info["bbox"][3].tolist() == [1, 2, -3, 4]                    # kept, only flagged


def test_fewer_lines_than_frames_pads_invisible(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        ds = _lasot_one(tmp_path, "1,2,3,4\n1,2,3,4\n", n_frames=4, occ="0,0,0,0")
        info = ds.get_sequence_info(0)
    assert info["bbox"].shape == (4, 4)
    assert info["valid"].tolist() == [True, True, False, False]
    assert info["visible"].tolist() == [True, True, False, False]
    assert any("groundtruth.txt" in r.getMessage() and "not visible" in r.getMessage() for r in caplog.records)


def test_more_lines_than_frames_truncates(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        ds = _lasot_one(tmp_path, "1,2,3,4\n" * 6, n_frames=3, occ="0,0,0")
        assert ds.get_sequence_info(0)["bbox"].shape == (3, 4)
    assert any("extra entries ignored" in r.getMessage() for r in caplog.records)


def test_missing_or_short_flag_files(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        ds = _lasot_one(tmp_path, "1,2,3,4\n" * 4, n_frames=4, occ=None)        # no flag files
        assert ds.get_sequence_info(0)["visible"].tolist() == [True] * 4
    assert any("full_occlusion.txt missing" in r.getMessage() for r in caplog.records)
    ds = _lasot_one(tmp_path / "b", "1,2,3,4\n" * 4, n_frames=4, occ="0,1")      # short -> padded occluded
    assert ds.get_sequence_info(0)["visible"].tolist() == [True, False, False, False]


def test_bad_annotation_error_surfaces_from_dataset(tmp_path):
    ds = _lasot_one(tmp_path, "1,2,3,4\n1,2,3\n", occ="0,0,0,0,0")
    with pytest.raises(AnnotationError, match=r"fox-1.groundtruth\.txt:2"):
        ds.get_sequence_info(0)


def test_missing_frame_and_bad_frame_id(tmp_path):
    ds = _lasot_one(tmp_path, "1,2,3,4\n" * 5, occ="0,0,0,0,0")
    os.remove(tmp_path / "lasot" / "fox" / "fox-1" / "img" / "00000003.jpg")
    with pytest.raises(ImageReadError, match="00000003.jpg"):
        ds.get_frames(0, [0, 2])
    with pytest.raises(IndexError, match="frame 5 out of range"):
        ds.get_frames(0, [5])
    with pytest.raises(IndexError, match="seq_id 1"):
        ds.get_sequence_info(1)


# ----------------------------------------------------------------------------------------------
# laziness, caching, pickling
# ----------------------------------------------------------------------------------------------
class _OpenRecorder:
    def __init__(self, monkeypatch):
        self.paths = []
        real = builtins.open

        def recording_open(file, *args, **kwargs):
            self.paths.append(os.fspath(file) if isinstance(file, (str, os.PathLike)) else str(file))
            return real(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", recording_open)
        monkeypatch.setattr(io, "open", recording_open)

    def annotation_opens(self):
        names = ("groundtruth.txt", "full_occlusion.txt", "out_of_view.txt", "absence.label", "cover.label",
                 "meta_info.ini")
        return [p for p in self.paths if p.endswith(names) or (os.sep + "anno" + os.sep) in p]


def _many(tmp_path, layout, n=2000):
    root = tmp_path / layout
    if layout == "lasot":
        for i in range(n):
            seq = root / f"c{i % 20}" / f"c{i % 20}-{i // 20 + 1}"
            seq.mkdir(parents=True)
            (seq / "groundtruth.txt").touch()
        return Lasot, str(root)
    if layout == "got10k":
        root.mkdir()
        names = [f"GOT-10k_Train_{i:06d}" for i in range(n)]
        (root / "list.txt").write_text("\n".join(names))
        for name in names:
            (root / name).mkdir()
            (root / name / "groundtruth.txt").touch()
        return Got10k, str(root)
    if layout == "trackingnet":
        (root / "TRAIN_0" / "anno").mkdir(parents=True)
        for i in range(n):
            (root / "TRAIN_0" / "anno" / f"v{i}.txt").touch()
        return TrackingNet, str(root)
    for i in range(n):
        (root / f"s{i}").mkdir(parents=True)
        (root / f"s{i}" / "groundtruth.txt").touch()
    return FolderDataset, str(root)


@pytest.mark.parametrize("layout", ["lasot", "got10k", "trackingnet", "folder"])
def test_construction_reads_no_annotation(tmp_path, monkeypatch, layout):
    cls, root = _many(tmp_path, layout)
    rec = _OpenRecorder(monkeypatch)
    ds = cls(root)
    assert ds.get_num_sequences() == 2000
    assert rec.annotation_opens() == []
    assert len(rec.paths) <= 1            # at most the sequence list (GOT-10k list.txt)
    # the recorder does see annotation reads: the first info access opens the (empty) file
    with pytest.raises((AnnotationError, FileNotFoundError)):
        ds.get_sequence_info(0)
    assert rec.annotation_opens()


def test_info_cached_in_bounded_lru_and_pickle_drops_cache(tmp_path, monkeypatch):
    root = make_lasot(tmp_path / "lasot", ks=(1, 2))
    ds = Lasot(root, anno_cache_size=2)
    rec = _OpenRecorder(monkeypatch)
    first = ds.get_sequence_info(0)
    n_opens = len(rec.annotation_opens())
    assert n_opens == 3                                   # groundtruth + 2 flag files
    again = ds.get_sequence_info(0)
    assert len(rec.annotation_opens()) == n_opens         # cached
    assert torch.equal(first["bbox"], again["bbox"])
    first["bbox"] += 50                                   # callers get copies, the cache is untouched
    assert torch.equal(ds.get_sequence_info(0)["bbox"], again["bbox"])
    for i in range(4):
        ds.get_sequence_info(i)
    assert len(ds._info_cache) == 2                      # bounded
    clone = pickle.loads(pickle.dumps(ds))
    assert len(clone._info_cache) == 0
    assert torch.equal(clone.get_sequence_info(3)["bbox"], ds.get_sequence_info(3)["bbox"])


def test_per_file_warnings_are_rate_limited(tmp_path, caplog):
    ds = _lasot_one(tmp_path, "1,2,3,4\n" * 5, occ=None)       # two missing flag files per sequence
    with caplog.at_level(logging.DEBUG, logger=bvd.__name__):
        for _ in range(8):
            ds._info_cache.clear()
            ds.get_sequence_info(0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == bvd._MAX_FILE_WARNINGS + 1          # + the "further ... at DEBUG" notice
    assert sum(r.levelno == logging.DEBUG and "missing" in r.getMessage() for r in caplog.records) == 6


def test_split_names_resolve_against_workspace_data_specs(tmp_path, monkeypatch):
    ws = tmp_path / "pytracking"
    for sub in ("ltr/admin", "pytracking/evaluation", "ltr/data_specs"):
        (ws / sub).mkdir(parents=True)
    (ws / "ltr" / "data_specs" / "lasot_train_split.txt").write_text("bird-2\n")
    (ws / "ltr" / "data_specs" / "got10k_vot_train_split.txt").write_text("1\n")
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(ws))
    root = make_lasot(tmp_path / "lasot", frames=False)
    assert Lasot(root, split="train").sequence_list == ["bird-2"]
    got_root, names = make_got10k(tmp_path / "got" / "train", n_seq=2, n=2)
    assert Got10k(got_root, split="vottrain").sequence_list == [names[1]]
