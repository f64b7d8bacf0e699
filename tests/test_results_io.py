"""Result files: byte-compatible with pytracking's writer, readable both ways, atomic."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest

from pytracking_slt.evaluation import read_results, results_dir_for, results_exist, save_tracker_output
from pytracking_slt.evaluation.results_io import (ResultFileError, format_boxes, format_values, load_boxes,
                                                  load_text, load_vector)


def _pytracking_savetxt(data, fmt):
    """What pytracking's _save_tracker_output calls (np.savetxt) produces, as text."""
    buf = io.StringIO()
    np.savetxt(buf, data, delimiter="\t", fmt=fmt)
    return buf.getvalue()


def test_box_text_is_byte_identical_to_pytracking_writer():
    boxes = np.array([[1.9, -1.9, 10.99, 5.5], [100.2, 3.0, 0.4, 7.999], [-0.5, 2.5, 3.5, 4.5]])
    assert format_boxes(boxes) == _pytracking_savetxt(np.array(boxes).astype(int), "%d")
    assert format_boxes(boxes).splitlines()[0] == "1\t-1\t10\t5"            # truncation toward zero
    times = [0.0123456789, 1.5, 2e-7]
    assert format_values(times) == _pytracking_savetxt(np.array(times).astype(float), "%f")


def test_round_trip_write_read(tmp_path):
    rdir = results_dir_for(str(tmp_path), "trk", "par", 2)
    assert rdir.endswith(os.path.join("trk", "par_002"))
    out = {"target_bbox": [[1.7, 2.2, 30.9, 40.1], [3, 4, 31, 41]], "time": [0.5, 0.01],
           "object_presence_score": [1.0, 0.25]}
    written = save_tracker_output(rdir, "seqA", out)
    assert sorted(os.path.basename(p) for p in written.values()) == [
        "seqA.txt", "seqA_object_presence_scores.txt", "seqA_time.txt"]
    assert results_exist(rdir, "seqA") and not results_exist(rdir, "seqB")
    back = read_results(rdir, "seqA")
    np.testing.assert_array_equal(back["target_bbox"], [[1, 2, 30, 40], [3, 4, 31, 41]])
    np.testing.assert_allclose(back["time"], [0.5, 0.01])
    np.testing.assert_allclose(back["object_presence_score"], [1.0, 0.25])
    assert not [f for f in os.listdir(rdir) if f.endswith(".tmp")]          # no temporary files left
    # pytracking's reader (np.loadtxt, tab) reads our file
    np.testing.assert_array_equal(np.loadtxt(os.path.join(rdir, "seqA.txt"), delimiter="\t"), back["target_bbox"])


def test_reads_files_written_by_other_tools(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("1.5,2,3,4\n5,6,7,8\n")                                  # GOT-10k toolkit / packed (comma)
    np.testing.assert_array_equal(load_boxes(str(p)), [[1.5, 2, 3, 4], [5, 6, 7, 8]])
    p.write_text("1 2 3 4\r\n5  6\t7,8\r\n\n")                             # OTB whitespace, CRLF, blank line
    np.testing.assert_array_equal(load_boxes(str(p)), [[1, 2, 3, 4], [5, 6, 7, 8]])
    p.write_text("1,2,NaN,4\n")                                            # UAV-style NaN annotations
    assert np.isnan(load_boxes(str(p))[0, 2])
    p.write_text("0,0,1,1,0\n")                                            # LaSOT flags: one comma row
    np.testing.assert_array_equal(load_vector(str(p)), [0, 0, 1, 1, 0])


def test_malformed_files_name_file_and_line(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("1\t2\t3\t4\n5\t6\t7\n")
    with pytest.raises(ResultFileError, match=r"bad.txt: line 2 has 3 values"):
        load_text(str(p))
    p.write_text("1\t2\tx\t4\n")
    with pytest.raises(ResultFileError, match="bad.txt: non-numeric"):
        load_boxes(str(p))
    p.write_text("1\t2\t3\n")
    with pytest.raises(ResultFileError, match="expected 4 values"):
        load_boxes(str(p))
    with pytest.raises(FileNotFoundError, match="Result not found"):
        read_results(str(tmp_path), "nothing")


def test_non_finite_boxes_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ResultFileError, match="frame 1"):
        save_tracker_output(str(tmp_path), "s", {"target_bbox": [[1, 2, 3, 4], [np.nan, 2, 3, 4]], "time": [1, 1]})
    assert not os.path.exists(tmp_path / "s.txt") and not os.path.exists(tmp_path / "s_time.txt")
