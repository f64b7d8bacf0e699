"""User mistakes reach the terminal as one `error:` line naming what is wrong; bugs keep their traceback."""
import pytest

from ltr_slt.admin.cli_errors import is_user_error, run_cli
from ltr_slt.dataset.splits import SplitError
from pytracking_slt.workspace.weights import WeightsNotFoundError


def test_classification():
    assert is_user_error(WeightsNotFoundError("network file 'transt.pth' not found"))
    assert is_user_error(SplitError("unknown split"))
    assert is_user_error(FileNotFoundError("x.txt"))
    assert not is_user_error(ZeroDivisionError())
    assert not is_user_error(KeyError("bug"))


def test_user_error_is_one_line(capsys, monkeypatch):
    monkeypatch.delenv("SLT_TRACEBACK", raising=False)

    def body():
        raise SplitError("split file /x/list.txt: line 3 names an unknown sequence 'foo'")

    assert run_cli(body) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: split file /x/list.txt: line 3") and "Traceback" not in err


def test_bugs_and_traceback_request_propagate(monkeypatch):
    with pytest.raises(ZeroDivisionError):
        run_cli(lambda: 1 // 0)
    monkeypatch.setenv("SLT_TRACEBACK", "1")
    with pytest.raises(SplitError):
        run_cli(lambda: (_ for _ in ()).throw(SplitError("x")))


def test_training_cli_reports_missing_weights_without_traceback(tmp_path, capsys, monkeypatch):
    from ltr_slt.run_training import main
    monkeypatch.delenv("SLT_TRACEBACK", raising=False)
    rc = main(["slt", "transt_slt", "--workspace", str(tmp_path), "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "error: network file 'transt.pth' not found" in err and "Traceback" not in err
