"""Evaluation datasets read from tiny copies of the real layouts (LaSOT, GOT-10k, TrackingNet, OTB,
UAV123, NfS, the synthetic generator's output) and the registry with pytracking's names."""
from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from pytracking_slt.evaluation import Sequence, SequenceList, get_dataset, load_dataset
from pytracking_slt.evaluation.data import UnreadableSequence, UnreadableSequenceError
from pytracking_slt.evaluation.specs import SpecError


# ------------------------------------------------------------------------------------------------ builders
def write_frames(folder, n, pattern="%08d.jpg", start=1, size=(40, 30)):
    os.makedirs(folder, exist_ok=True)
    img = np.full((size[1], size[0], 3), 90, np.uint8)
    for i in range(n):
        cv2.imwrite(os.path.join(folder, pattern % (start + i)), img)


def moving_boxes(n, x0=5.0):
    return np.array([[x0 + i, 6, 12, 9] for i in range(n)], float)


def make_lasot(root, names=("cat-1", "cat-3", "dog-2"), n=5, invisible_last=True, testing_set=True):
    for name in names:
        d = os.path.join(root, name.rsplit("-", 1)[0], name)
        write_frames(os.path.join(d, "img"), n)
        np.savetxt(os.path.join(d, "groundtruth.txt"), moving_boxes(n), fmt="%d", delimiter=",")
        occ = ["0"] * n
        oov = ["0"] * (n - 1) + ["1" if invisible_last else "0"]
        with open(os.path.join(d, "full_occlusion.txt"), "w") as f:
            f.write(",".join(occ))
        with open(os.path.join(d, "out_of_view.txt"), "w") as f:
            f.write(",".join(oov))
    if testing_set:
        with open(os.path.join(root, "testing_set.txt"), "w") as f:
            f.write("\n".join(names) + "\n")
    return list(names)


def make_got10k(root, split="val", names=("GOT-10k_Val_000001", "GOT-10k_Val_000002"), n=4):
    base = os.path.join(root, split)
    for name in names:
        d = os.path.join(base, name)
        write_frames(d, n)
        gt = moving_boxes(n) if split != "test" else moving_boxes(1)
        np.savetxt(os.path.join(d, "groundtruth.txt"), gt, fmt="%.4f", delimiter=",")
        if split != "test":
            np.savetxt(os.path.join(d, "cover.label"), [8] * (n - 1) + [0], fmt="%d")
            np.savetxt(os.path.join(d, "absence.label"), [0] * (n - 1) + [1], fmt="%d")
            with open(os.path.join(d, "meta_info.ini"), "w") as f:
                f.write("[METAINFO]\nurl: x\nbegin time: 0\nend time: 1\nobject_class: cat\n"
                        "motion_class: walk\nmajor_class: animal\nroot_class: animal\nmotion_adverb: slowly\n"
                        "resolution: (40, 30)\n")
    with open(os.path.join(base, "list.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    return list(names)


def make_trackingnet(root, videos=("vid_b", "vid_a"), n=4):
    for v in videos:
        write_frames(os.path.join(root, "TEST", "frames", v), n, pattern="%d.jpg", start=0)
        os.makedirs(os.path.join(root, "TEST", "anno"), exist_ok=True)
        np.savetxt(os.path.join(root, "TEST", "anno", v + ".txt"), moving_boxes(1), fmt="%.2f", delimiter=",")
    return sorted(videos)


# ------------------------------------------------------------------------------------------------ LaSOT
def test_lasot_layout_visibility_and_frames(tmp_path):
    names = make_lasot(str(tmp_path))
    seqs = get_dataset("lasot", root=str(tmp_path))
    assert isinstance(seqs, SequenceList) and seqs.names == names
    s = seqs["cat-3"]
    assert s.dataset == "lasot" and s.object_class == "cat" and len(s.frames) == 5
    assert s.frames[0].endswith(os.path.join("cat", "cat-3", "img", "00000001.jpg"))
    assert s.target_visible.tolist() == [True] * 4 + [False]
    assert s.ground_truth_rect.dtype == np.float64 and s.ground_truth_rect.shape == (5, 4)
    assert s.init_info() == {"init_bbox": [5.0, 6.0, 12.0, 9.0]}
    assert seqs[1].name == "cat-3" and seqs[[0, 2]].names == ["cat-1", "dog-2"]


def test_lasot_split_from_user_file_and_clear_error(tmp_path, monkeypatch):
    make_lasot(str(tmp_path), testing_set=False)
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    with pytest.raises(SpecError, match="testing_set.txt"):
        get_dataset("lasot", root=str(tmp_path))
    split = tmp_path / "my_split.txt"
    split.write_text("# two of them\ndog-2\ncat-1\n")
    assert get_dataset("lasot", root=str(tmp_path), split_file=str(split)).names == ["dog-2", "cat-1"]
    monkeypatch.setenv("SLT_LASOT_SPEC", str(split))
    assert get_dataset("lasot", root=str(tmp_path)).names == ["dog-2", "cat-1"]


def test_lasot_names_from_workspace_file_read_not_imported(tmp_path, monkeypatch):
    make_lasot(str(tmp_path / "lasot"), testing_set=False)
    ws = tmp_path / "ws"
    (ws / "ltr" / "admin").mkdir(parents=True)
    (ws / "pytracking" / "evaluation").mkdir(parents=True)
    (ws / "pytracking" / "evaluation" / "lasotdataset.py").write_text(
        "import this_module_does_not_exist\n"
        "class LaSOTDataset:\n    def _get_sequence_list(self):\n"
        "        sequence_list = ['cat-3',\n                         'dog-2']\n        return sequence_list\n")
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", str(ws))
    assert get_dataset("lasot", root=str(tmp_path / "lasot")).names == ["cat-3", "dog-2"]


def test_lasot_missing_flags_named(tmp_path):
    make_lasot(str(tmp_path))
    os.remove(os.path.join(str(tmp_path), "dog", "dog-2", "out_of_view.txt"))
    seqs = get_dataset("lasot", root=str(tmp_path))  # one broken sequence fails alone (issue 13, item 13)
    bad = seqs["dog-2"]
    assert isinstance(bad, UnreadableSequence) and not isinstance(seqs[0], UnreadableSequence)
    with pytest.raises(UnreadableSequenceError, match="dog-2.*out_of_view.txt"):
        bad.ground_truth_rect


# ------------------------------------------------------------------------------------------------ GOT-10k / TrackingNet
def test_got10k_val_and_test(tmp_path):
    names = make_got10k(str(tmp_path), "val")
    seqs = get_dataset("got10k_val", root=str(tmp_path))
    assert seqs.names == names
    s = seqs[0]
    assert s.dataset == "got10k" and s.target_visible is None               # as pytracking
    assert s.cover.tolist() == [8, 8, 8, 0] and s.image_size == (40, 30)
    assert len(s.frames) == 4 and s.frames[-1].endswith("00000004.jpg")
    make_got10k(str(tmp_path), "test", names=("GOT-10k_Test_000001",), n=6)
    t = get_dataset("got10k_test", root=str(tmp_path))[0]
    assert t.ground_truth_rect.shape == (1, 4) and len(t.frames) == 6


def test_trackingnet_test(tmp_path):
    videos = make_trackingnet(str(tmp_path))
    seqs = get_dataset("trackingnet", root=str(tmp_path))
    assert seqs.names == videos and seqs[0].dataset == "trackingnet"
    assert [os.path.basename(f) for f in seqs[0].frames] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]


# ------------------------------------------------------------------------------------------------ OTB / UAV / NfS
def test_otb_discovery_names_and_ambiguity(tmp_path, monkeypatch):
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    root = str(tmp_path)
    write_frames(os.path.join(root, "Basketball", "img"), 3, pattern="%04d.jpg")
    np.savetxt(os.path.join(root, "Basketball", "groundtruth_rect.txt"), moving_boxes(3), fmt="%d", delimiter=",")
    write_frames(os.path.join(root, "Jogging", "img"), 3, pattern="%04d.jpg")
    for k in (1, 2):
        np.savetxt(os.path.join(root, "Jogging", f"groundtruth_rect.{k}.txt"), moving_boxes(3), fmt="%d",
                   delimiter="\t")
    seqs = get_dataset("otb", root=root)
    assert seqs.names == ["Basketball", "Jogging_1", "Jogging_2"] and seqs[0].dataset == "otb"
    assert seqs["Jogging_2"].frames[2].endswith(os.path.join("Jogging", "img", "0003.jpg"))
    # a sequence whose annotation covers only part of the folder needs the table
    write_frames(os.path.join(root, "David", "img"), 5, pattern="%04d.jpg")
    np.savetxt(os.path.join(root, "David", "groundtruth_rect.txt"), moving_boxes(3), fmt="%d", delimiter=",")
    with pytest.raises(SpecError, match="David.*ambiguous"):
        get_dataset("otb", root=root)
    spec = tmp_path / "otb.json"
    spec.write_text(json.dumps([{"name": "David", "path": "David/img", "startFrame": 3, "endFrame": 5, "nz": 4,
                                 "ext": "jpg", "anno_path": "David/groundtruth_rect.txt", "object_class": "face"}]))
    david = get_dataset("otb", root=root, spec_file=str(spec))[0]
    assert david.frames[0].endswith("0003.jpg") and len(david.frames) == 3 and david.object_class == "face"


def test_uav_nan_gt_and_nfs_tab_annotations(tmp_path, monkeypatch):
    monkeypatch.setenv("SLT_PYTRACKING_WORKSPACE", "none")
    uav = str(tmp_path / "uav")
    write_frames(os.path.join(uav, "data_seq", "UAV123", "bike1"), 3, pattern="%06d.jpg")
    os.makedirs(os.path.join(uav, "anno", "UAV123"))
    with open(os.path.join(uav, "anno", "UAV123", "bike1.txt"), "w") as f:
        f.write("1,2,10,10\nNaN,NaN,NaN,NaN\n3,4,10,10\n")
    s = get_dataset("uav", root=uav)[0]
    assert s.name == "uav_bike1" and s.dataset == "uav" and np.isnan(s.ground_truth_rect[1]).all()
    nfs = str(tmp_path / "nfs")
    write_frames(os.path.join(nfs, "sequences", "Gymnastics"), 2, pattern="%05d.jpg")
    os.makedirs(os.path.join(nfs, "anno"))
    with open(os.path.join(nfs, "anno", "nfs_Gymnastics.txt"), "w") as f:
        f.write("1\t2\t10\t10\n2\t2\t10\t10\n")
    s = get_dataset("nfs", root=nfs)[0]
    assert s.name == "nfs_Gymnastics" and s.frames[1].endswith("00002.jpg") and s.dataset == "nfs"


# ------------------------------------------------------------------------------------------------ synthetic / registry
@pytest.mark.parametrize("layout", ["lasot", "got10k"])
def test_synthetic_generator_output_is_readable(tmp_path, layout):
    synthetic = pytest.importorskip("ltr_slt.dataset.synthetic")
    cfg = synthetic.SyntheticConfig(num_frames=6, width=64, height=48, use_photos=False)
    synthetic.generate_dataset(str(tmp_path), layout=layout, num_seq=3, seed=1, config=cfg, split="test")
    seqs = get_dataset("synthetic", root=str(tmp_path), split="all")
    assert len(seqs) >= 1 and all(s.dataset == "synthetic" for s in seqs)
    for s in seqs:
        assert len(s.frames) == 6 == s.ground_truth_rect.shape[0] and all(os.path.isfile(f) for f in s.frames)
        assert s.target_visible is not None and s.target_visible[0]


def test_registry_errors_and_concatenation(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset 'nope'"):
        load_dataset("nope")
    make_lasot(str(tmp_path / "a"), names=("cat-1",))
    make_lasot(str(tmp_path / "b"), names=("dog-1", "dog-2"))
    both = get_dataset("lasot", root=str(tmp_path / "a")) + get_dataset("lasot", root=str(tmp_path / "b"))
    assert both.names == ["cat-1", "dog-1", "dog-2"]
    with pytest.raises(IndexError, match="bird-1"):
        both["bird-1"]


def test_sequence_init_frame_trimming():
    gt = moving_boxes(4)
    s = Sequence("s", ["a", "b", "c", "d"], "otb", gt, init_data={2: {"bbox": list(gt[2])}})
    assert s.frames == ["c", "d"] and s.ground_truth_rect.shape == (2, 4) and s.init_info()["init_bbox"][0] == 7.0
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        Sequence("bad", ["a"], "otb", np.zeros((2, 3)))
