"""The prepared GPU check runs end to end on the CPU at tiny sizes (so it is known to work before a GPU is lent)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import torch

_PATH = Path(__file__).resolve().parents[1] / "experiments" / "bench" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", _PATH)  # the script puts the repo root on sys.path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_quick_on_cpu_prints_every_part(capsys):
    threads = torch.get_num_threads()
    try:
        assert _load().main(["--quick", "--device", "cpu", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    number = r"[0-9]+\.[0-9]+"
    assert re.search(rf"\[1\] rollout .*efficiency {number}.*official-style .*efficiency {number}.*"
                     rf"ours vs official-style {number}x", out)
    for label in ("fp32", "tf32", "bf16-autocast"):  # iterations/s, both peaks, reward, entropy
        row = re.search(rf"^\s+{label}\s+({number})\s+{number}\s+(-?[0-9]+|nan)\s+(-?[0-9]+|nan)\s+(-?{number})\s+"
                        rf"({number})$", out, re.M)
        assert row, f"{label} row missing or failed:\n{out}"
        assert float(row.group(1)) > 0 and 0 < float(row.group(5)) <= 2 * 2.8  # entropy <= log(256 cells)
    assert re.search(rf"\[3\] tracker .*ours {number} FPS \| official-style {number} FPS .*"
                     rf"largest box difference", out)
    box_diff = float(re.search(r"largest box difference ([0-9.e+-]+) px", out).group(1))
    assert box_diff < 1e-3  # our tracker and the official-style loop agree on the same net
    assert "gpu_check done" in out
