"""The command line: bad arguments end with one line and exit status 2, an
interrupt with status 130 and nothing written.

The audit itself is tested in ``tests/audit/``; here only the paths that stop
before any model is fitted, an interrupted run, and the ``train`` command.
"""

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from sklfair.__main__ import main


def _run(argv, capsys):
    """Exit status, stdout and stderr of ``python -m sklfair <argv>``."""
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _assert_one_line_error(status, err, *fragments):
    assert status == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("python -m sklfair")
    assert "error:" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def credit_csv(tmp_path):
    """A small credit-like CSV: numbers, a text category, sex, a binary target."""
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            "income": rng.normal(3000, 800, n).round(),
            "housing": rng.choice(["own", "rent", "free"], n),
            "sex": rng.choice(["female", "male"], n),
            "age": rng.integers(18, 80, n),
            "outcome": rng.choice(["good", "bad"], n),
            "grade": rng.choice(["A", "B", "C"], n),
        }
    )
    path = tmp_path / "credit.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["audit", "--dataset", "german", "--sensitive", "gender"], ["'gender'"]),
        (["audit", "--dataset", "german", "--mitigate", "race"], ["'race'"]),
        (["audit", "--dataset", "nowhere"], ["invalid choice", "'nowhere'"]),
        (["audit", "--dataset", "german", "--csv", "x.csv"], ["not allowed"]),
        (["audit", "--device", "tpu"], ["invalid choice"]),
        (["audit", "--seed", "one"], ["invalid int value"]),
        (["audit", "--threads", "0"], ["--threads", "at least 1"]),
        (["audit", "--dataset", "german", "--target", "y"], ["--target"]),
        (["audit", "--approval-rate", "0"], ["--approval-rate", "(0, 1]"]),
        (["audit", "--approval-rate", "1.5"], ["--approval-rate", "(0, 1]"]),
        (["audit", "--approval-rate", "most"], ["--approval-rate", "invalid"]),
        (["audit", "--bound", "-0.1"], ["--bound", "0 to 1"]),
        (["audit", "--dataset", "german", "--bad-label", "0"], ["--bad-label"]),
        (["nothing"], ["invalid choice"]),
    ],
)
def test_bad_arguments(argv, fragments, capsys):
    status, out, err = _run(argv, capsys)
    _assert_one_line_error(status, err, *fragments)
    assert out == ""


def test_missing_and_unreadable_files(tmp_path, capsys):
    missing = tmp_path / "absent.csv"
    status, _, err = _run(
        ["audit", "--csv", str(missing), "--target", "y", "--sensitive", "s"], capsys
    )
    _assert_one_line_error(status, err, "cannot read", "absent.csv")

    status, _, err = _run(
        ["audit", "--csv", str(tmp_path), "--target", "y", "--sensitive", "s"], capsys
    )
    _assert_one_line_error(status, err, "folder")

    binary = tmp_path / "data.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    status, _, err = _run(
        ["audit", "--csv", str(binary), "--target", "y", "--sensitive", "s"], capsys
    )
    _assert_one_line_error(status, err, "cannot read")

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    status, _, err = _run(
        ["audit", "--csv", str(empty), "--target", "y", "--sensitive", "s"], capsys
    )
    _assert_one_line_error(status, err, "empty")


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--target", "missing_col", "--sensitive", "sex"], ["'missing_col'"]),
        (["--target", "outcome", "--sensitive", "gender"], ["'gender'"]),
        (["--target", "grade", "--sensitive", "sex"], ["binary", "3 distinct"]),
        (["--target", "outcome", "--sensitive", "age"], ["age"]),
        (["--target", "outcome", "--sensitive", "outcome"], ["target"]),
        (["--target", "outcome"], ["--sensitive"]),
        (["--sensitive", "sex"], ["--target"]),
        (
            ["--target", "outcome", "--sensitive", "sex", "--bad-label", "ugly"],
            ["--bad-label", "'ugly'", "'good'"],
        ),
    ],
)
def test_bad_csv_columns(credit_csv, extra, fragments, capsys):
    status, out, err = _run(["audit", "--csv", str(credit_csv), *extra], capsys)
    _assert_one_line_error(status, err, *fragments)
    assert out == ""


def test_an_output_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "report"
    out.mkdir()
    (out / "results.csv").write_text("from an older run")
    argv = ["audit", "--dataset", "german", "--quick", "--out", str(out)]
    status, out_text, err = _run(argv, capsys)
    _assert_one_line_error(status, err, "not empty", "--overwrite")
    assert out_text == ""
    (out / "notes.txt").write_text("mine")
    status, _, err = _run([*argv, "--overwrite"], capsys)
    _assert_one_line_error(status, err, "other entries (notes.txt)")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.csv"]


# Runs ``python -m sklfair audit`` with one contender whose fit sleeps.
_SLEEPING_AUDIT = textwrap.dedent(
    """
    import sys
    import time

    import sklfair.audit._run as run
    from sklfair.__main__ import main
    from sklfair.audit import Contender


    class Sleeper:
        def fit(self, X, y):
            time.sleep(120)


    run.make_contenders = lambda data, **kwargs: (
        [Contender("sleeper", "baseline", lambda fitted: Sleeper())],
        [],
    )
    sys.exit(main(sys.argv[1:]))
    """
)


def test_ctrl_c_during_a_fit_exits_130_and_writes_nothing(tmp_path):
    """SIGINT sent to the process while a model fits."""
    out = tmp_path / "report"
    process = subprocess.Popen(
        [sys.executable, "-c", _SLEEPING_AUDIT, "audit", "--dataset", "german"]
        + ["--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stderr:
            if "sleeper: fitting" in line:
                break
        else:
            pytest.fail(f"the audit ended before fitting: {process.wait()}")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, stderr
    assert "[1/1] sleeper: interrupted; nothing is written" in stderr
    assert stderr.splitlines()[-1] == "python -m sklfair audit: interrupted"
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_module_entry_point_exit_status():
    """The real ``python -m sklfair`` process exits 2 with one line."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklfair",
            "audit",
            "--dataset",
            "german",
            "--sensitive",
            "no_such_column",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stderr
    assert "'no_such_column'" in lines[0]
    assert completed.stdout == ""


def test_train_command_still_works(capsys):
    status, out, _ = _run(
        ["train", "--dataset", "german", "--epochs", "2", "--device", "cpu"], capsys
    )
    assert status == 0
    accuracy = float(out.split("test accuracy")[1].split()[0])
    assert 0.0 <= accuracy <= 1.0
    assert "demographic parity difference" in out
