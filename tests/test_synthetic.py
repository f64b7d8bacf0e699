"""Synthetic generator: determinism, exact ground truth, flags, both on-disk layouts, reader round trip."""
from __future__ import annotations

import dataclasses
import os

import cv2
import numpy as np
import pytest

from ltr_slt.dataset.synthetic import (SyntheticConfig, generate_dataset, generate_sequence, got10k_sequence_name,
                                       lasot_sequence_name, main)

TINY = SyntheticConfig(num_frames=30, width=160, height=120)
# every event switched on, so the flag checks below meet occlusion and out-of-view frames
HARD = dataclasses.replace(TINY, num_frames=40, occlusion_prob=1.0, out_of_view_prob=1.0, jump_prob=0.05,
                           fast_motion_prob=1.0, blur_prob=0.3)


def _read_lines(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def test_sequence_is_deterministic_and_seed_dependent():
    a = generate_sequence(3, TINY, seed=7)
    b = generate_sequence(3, TINY, seed=7)
    c = generate_sequence(3, TINY, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    assert np.array_equal(a.boxes, b.boxes) and a.class_name == b.class_name
    assert not all(np.array_equal(x, y) for x, y in zip(a.frames, c.frames))


def test_sequence_k_does_not_depend_on_num_seq(tmp_path):
    generate_dataset(str(tmp_path / "two"), "got10k", num_seq=2, seed=3, config=TINY)
    generate_dataset(str(tmp_path / "three"), "got10k", num_seq=3, seed=3, config=TINY)
    for k in range(2):
        name = got10k_sequence_name("train", k)
        for fname in ("groundtruth.txt", "absence.label", "cover.label", "00000001.jpg", "00000030.jpg"):
            with open(tmp_path / "two" / "train" / name / fname, "rb") as f1, \
                    open(tmp_path / "three" / "train" / name / fname, "rb") as f2:
                assert f1.read() == f2.read(), (name, fname)


@pytest.mark.parametrize("use_photos", [True, False])
def test_ground_truth_matches_drawn_pixels_and_flags(use_photos):
    cfg = dataclasses.replace(HARD, use_photos=use_photos)
    seen_occlusion = seen_out_of_view = 0
    for k in range(6):
        seq = generate_sequence(k, cfg, seed=11, return_masks=True)
        n = cfg.num_frames
        assert len(seq.frames) == n and seq.boxes.shape == (n, 4)
        assert seq.frames[0].shape == (cfg.height, cfg.width, 3) and seq.frames[0].dtype == np.uint8
        for t in range(n):
            mask, vis = seq.target_masks[t], seq.visible_masks[t]
            x, y, w, h = seq.boxes[t].astype(int)
            assert not (vis & ~mask).any()                       # visible pixels are target pixels
            if not mask.any():
                assert seq.out_of_view[t] and not seq.full_occlusion[t]
                assert (w, h) == (0, 0) and seq.cover[t] == 0
                continue
            assert not seq.out_of_view[t]
            inside = np.zeros_like(mask)
            inside[y:y + h, x:x + w] = True
            assert not (mask & ~inside).any(), f"seq {k} frame {t}: target pixel outside its box"
            # tight: every box edge touches a target pixel; clipped to the image
            assert mask[y:y + h, x].any() and mask[y:y + h, x + w - 1].any()
            assert mask[y, x:x + w].any() and mask[y + h - 1, x:x + w].any()
            assert 0 <= x and 0 <= y and x + w <= cfg.width and y + h <= cfg.height
            assert seq.full_occlusion[t] == (not vis.any())
            assert (seq.cover[t] == 0) == (not vis.any()) and 0 <= seq.cover[t] <= 8
        # the template frame (0) is always fully visible and inside the image
        assert seq.visible[0] and seq.cover[0] == 8 and not seq.cut_by_image[0]
        assert np.array_equal(seq.absence, seq.full_occlusion | seq.out_of_view)
        seen_occlusion += int(seq.full_occlusion.any())
        seen_out_of_view += int(seq.out_of_view.any())
    assert seen_occlusion >= 3 and seen_out_of_view >= 3


def test_difficulty_knobs_change_the_events():
    calm = dataclasses.replace(TINY, num_distractors=0, occlusion_prob=0.0, out_of_view_prob=0.0, jump_prob=0.0,
                               fast_motion_prob=0.0, blur_prob=0.0)
    for k in range(4):
        seq = generate_sequence(k, calm, seed=1)
        assert seq.visible.all() and not seq.events["jumps"] and not seq.events["blur"]
        assert not seq.events["distractor_crossings"]
    busy = dataclasses.replace(HARD, num_distractors=3)
    seq = generate_sequence(0, busy, seed=1)
    assert len(seq.events["distractor_crossings"]) == 3 and seq.events["fast_motion"]
    # scale and aspect ratio really change along the sequence (visible frames only)
    vis = generate_sequence(1, calm, seed=2)
    area = vis.boxes[:, 2] * vis.boxes[:, 3]
    aspect = vis.boxes[:, 2] / vis.boxes[:, 3]
    assert area.max() / area.min() > 1.2 and aspect.max() / aspect.min() > 1.1


@pytest.mark.parametrize("use_photos", [True, False])
def test_distractors_look_like_the_target(use_photos):
    """A look-alike elsewhere in the frame matches the target's appearance almost perfectly."""
    cfg = dataclasses.replace(TINY, use_photos=use_photos, num_frames=20, width=240, height=180, num_distractors=3, distractor_tint=0.0,
                              occlusion_prob=0.0, out_of_view_prob=0.0, blur_prob=0.0, illumination=0.0,
                              scale_change=0.0, aspect_change=0.0, camera_pan=0.0)
    best = []
    for k in range(4):
        seq = generate_sequence(k, cfg, seed=5, return_masks=True)
        for t in range(cfg.num_frames):
            x, y, w, h = seq.boxes[t].astype(int)
            if seq.cut_by_image[t] or (seq.visible_masks[t] != seq.target_masks[t]).any():
                continue
            patch = seq.frames[t][y:y + h, x:x + w]
            score = cv2.matchTemplate(seq.frames[t], patch, cv2.TM_CCOEFF_NORMED)
            score[max(0, y - h // 2):y + h // 2 + 1, max(0, x - w // 2):x + w // 2 + 1] = -1   # not the target itself
            best.append(float(score.max()))
    assert max(best) > 0.9


def test_lasot_layout_and_reader_round_trip(tmp_path):
    root = str(tmp_path / "lasot")
    names = generate_dataset(root, "lasot", num_seq=5, seed=2, config=HARD, test_every=5)
    seqs = [generate_sequence(k, HARD, seed=2) for k in range(5)]
    assert names == [lasot_sequence_name(s) for s in seqs]
    for seq, name in zip(seqs, names):
        folder = os.path.join(root, seq.class_name, name)
        expected = [f"{i:08d}.jpg" for i in range(1, HARD.num_frames + 1)]
        assert sorted(os.listdir(os.path.join(folder, "img"))) == expected
        gt = np.loadtxt(os.path.join(folder, "groundtruth.txt"), delimiter=",")
        assert np.array_equal(gt, seq.boxes)
        for fname, flags in (("full_occlusion.txt", seq.full_occlusion), ("out_of_view.txt", seq.out_of_view)):
            lines = _read_lines(os.path.join(folder, fname))
            assert len(lines) == 1 and [int(v) for v in lines[0].split(",")] == flags.astype(int).tolist()
        assert _read_lines(os.path.join(folder, "nlp.txt"))
    assert _read_lines(os.path.join(root, "testing_set.txt")) == [names[4]]
    assert sorted(_read_lines(os.path.join(root, "training_set.txt"))) == sorted(names[:4])

    from ltr_slt.dataset import Lasot
    ds = Lasot(root)
    assert ds.get_num_sequences() == 5
    for seq_id, name in enumerate(ds.sequence_list):
        seq = seqs[names.index(name)]
        info = ds.get_sequence_info(seq_id)
        assert np.allclose(info["bbox"].numpy(), seq.boxes)
        assert np.array_equal(info["visible"].numpy(), seq.visible)
        frames, anno, meta = ds.get_frames(seq_id, [0, HARD.num_frames - 1], info)
        assert meta["object_class_name"] == seq.class_name
        for got, want in zip(frames, [seq.frames[0], seq.frames[-1]]):
            assert got.shape == want.shape and np.abs(got.astype(int) - want).mean() < 6   # JPEG loss only


def test_got10k_layout_and_reader_round_trip(tmp_path):
    root = str(tmp_path / "got")
    names = generate_dataset(root, "got10k", num_seq=4, seed=4, config=HARD)
    seqs = [generate_sequence(k, HARD, seed=4) for k in range(4)]
    train = os.path.join(root, "train")
    assert _read_lines(os.path.join(train, "list.txt")) == names == [f"GOT-10k_Train_{k:06d}" for k in range(1, 5)]
    for seq, name in zip(seqs, names):
        folder = os.path.join(train, name)
        assert len([f for f in os.listdir(folder) if f.endswith(".jpg")]) == HARD.num_frames
        assert os.path.isfile(os.path.join(folder, "00000001.jpg"))
        assert [int(v) for v in _read_lines(os.path.join(folder, "absence.label"))] == seq.absence.astype(int).tolist()
        assert [int(v) for v in _read_lines(os.path.join(folder, "cover.label"))] == seq.cover.tolist()
        assert len(_read_lines(os.path.join(folder, "cut_by_image.label"))) == HARD.num_frames
        meta = _read_lines(os.path.join(folder, "meta_info.ini"))
        assert meta[5] == f"object_class: {seq.class_name}"   # line 6, where ltr reads it

    from ltr_slt.dataset import Got10k
    ds = Got10k(train)
    for seq_id, seq in enumerate(seqs):
        info = ds.get_sequence_info(seq_id)
        assert np.allclose(info["bbox"].numpy(), seq.boxes)
        assert np.array_equal(info["visible"].numpy(), seq.visible)
        assert ds.get_meta(seq_id)["object_class_name"] == seq.class_name

    # test-style split with hidden ground truth, appended to the same root
    generate_dataset(root, "got10k", num_seq=2, seed=4, config=TINY, split="test", hide_gt=True)
    test_folder = os.path.join(root, "test", got10k_sequence_name("test", 0))
    assert len(_read_lines(os.path.join(test_folder, "groundtruth.txt"))) == 1
    assert not os.path.exists(os.path.join(test_folder, "absence.label"))


def test_cli_builds_tiny_set(tmp_path, capsys):
    rc = main(["--out", str(tmp_path / "cli"), "--layout", "lasot", "--num-seq", "4", "--seed", "9",
               "--num-frames", "30", "--size", "160x120", "--num-distractors", "1", "--occlusion-prob", "0.5"])
    assert rc == 0 and "wrote 4 lasot sequences" in capsys.readouterr().out
    classes = [c for c in os.listdir(tmp_path / "cli") if os.path.isdir(tmp_path / "cli" / c)]
    assert sum(len(os.listdir(tmp_path / "cli" / c)) for c in classes) == 4


def test_bad_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="num_frames"):
        generate_sequence(0, dataclasses.replace(TINY, num_frames=1))
    with pytest.raises(ValueError, match="occlusion_prob"):
        generate_sequence(0, dataclasses.replace(TINY, occlusion_prob=2.0))
    with pytest.raises(ValueError, match="layout"):
        generate_dataset(str(tmp_path), "otb", 1, config=TINY)
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--size", "big"])


def test_distractor_prob_removes_some_look_alikes_and_keeps_old_sequences():
    always = generate_sequence(3, TINY, seed=4)
    assert dataclasses.replace(TINY, distractor_prob=1.0) == TINY   # the default draws nothing extra
    never = generate_sequence(3, dataclasses.replace(TINY, distractor_prob=0.0), seed=4)
    assert len(always.events["distractor_crossings"]) == TINY.num_distractors
    assert not never.events["distractor_crossings"] and not never.events["distractor_near"]
    assert "among 0 look-alike" in never.description
    counts = {len(generate_sequence(k, dataclasses.replace(TINY, distractor_prob=0.5), seed=4)
                  .events["distractor_crossings"]) for k in range(12)}
    assert len(counts) > 1   # some sequences have fewer look-alikes than others
    with pytest.raises(ValueError, match="distractor_prob"):
        generate_sequence(0, dataclasses.replace(TINY, distractor_prob=1.5))


def test_attributes_follow_the_generated_events(tmp_path):
    from ltr_slt.dataset.synthetic import ATTRIBUTE_FILE, ATTRIBUTES, sequence_attributes
    from pytracking_slt.analysis.attributes import load_attributes
    seen = set()
    for k in range(6):
        seq = generate_sequence(k, HARD, seed=7)
        att = sequence_attributes(seq)
        assert set(att) <= set(ATTRIBUTES)
        assert ("FOC" in att) == bool(seq.full_occlusion.any())
        assert ("OV" in att) == bool(seq.out_of_view.any())
        assert ("FM" in att) == bool(seq.events["fast_motion"] or seq.events["jumps"])
        assert ("DIS" in att) == bool(seq.events["distractor_near"])
        for t in seq.events["distractor_near"]:   # a look-alike really overlaps the target box there
            assert seq.boxes[t, 2] > 0
        seen.update(att)
    assert {"FOC", "OV", "FM"} <= seen
    calm = dataclasses.replace(TINY, num_distractors=0, occlusion_prob=0.0, out_of_view_prob=0.0, jump_prob=0.0,
                               fast_motion_prob=0.0, scale_change=0.0)
    assert sequence_attributes(generate_sequence(0, calm, seed=1)) == []
    # written as pytracking's attribute JSON beside the sequences, extended by later calls
    root = tmp_path / "set"
    first = generate_dataset(str(root), "lasot", 2, seed=7, config=HARD)
    more = generate_dataset(str(root), "lasot", 2, seed=7, config=HARD, start_index=2)
    data = load_attributes("synthetic", path=str(root / ATTRIBUTE_FILE))
    assert data["att_name_short"] == list(ATTRIBUTES) and data["att_name_long"] == list(ATTRIBUTES.values())
    for k, name in enumerate(first + more):
        assert data[name] == sequence_attributes(generate_sequence(k, HARD, seed=7))
