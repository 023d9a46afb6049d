"""The report folder: written whole or not at all, never mixed with an older run.

Before, an existing folder was written into silently (stale files of an
older run stayed beside the new report) and a failure while writing left the
CSV files without ``report.html``.
"""

import filecmp
import shutil

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sklfair.audit._report as report_module
from sklfair.audit import (
    AuditData,
    AuditError,
    Contender,
    load_audit_data,
    make_preprocessor,
    run_audit,
    write_report,
)

REPORT_FILES = [
    "approval_logistic_regression.png",
    "calibration_logistic_regression.png",
    "credit.csv",
    "groups_logistic_regression.png",
    "pareto.png",
    "predictions.csv",
    "report.html",
    "results.csv",
]


@pytest.fixture(scope="module")
def result():
    """An audit of 200 rows of German credit by a logistic regression."""
    german = load_audit_data("german")
    data = AuditData(
        **{**vars(german), "X": german.X.iloc[:200], "y": german.y.iloc[:200]}
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "sklfair.audit._run.make_contenders",
            lambda data, **kwargs: (
                [
                    Contender(
                        "logistic regression",
                        "baseline",
                        lambda fitted: make_pipeline(
                            make_preprocessor(data.X, data.sensitive),
                            LogisticRegression(),
                        ),
                    )
                ],
                [],
            ),
        )
        return run_audit(data, progress=False)


@pytest.fixture(scope="module")
def previous(result, tmp_path_factory):
    """A report written once, copied where a test needs an older run."""
    folder = tmp_path_factory.mktemp("previous") / "report"
    _write(result, folder)
    return folder


def _write(result, out, **kwargs):
    rows = result.test_index
    return write_report(
        result,
        out,
        X_test=result.data.X.iloc[rows],
        y_test=result.data.y.iloc[rows],
        **kwargs,
    )


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_report_goes_to_a_new_or_empty_folder(result, previous, tmp_path):
    # ``previous`` went to a new folder (its parents created).
    assert _names(previous) == REPORT_FILES
    assert _names(previous.parent) == ["report"]  # no staging folder left
    (tmp_path / "empty").mkdir()
    inode = (tmp_path / "empty").stat().st_ino
    files = _write(result, tmp_path / "empty")
    # The folder is kept (a mount point, a shell's working folder).
    assert (tmp_path / "empty").stat().st_ino == inode
    assert files[0] == tmp_path / "empty" / "report.html"
    assert sorted(f.name for f in files) == REPORT_FILES
    assert _names(tmp_path / "empty") == REPORT_FILES
    assert _names(tmp_path) == ["empty"]


def test_overwrite_replaces_an_older_report_wholly(result, previous, tmp_path):
    out = tmp_path / "report"
    shutil.copytree(previous, out)
    (out / "groups_an_older_model.png").write_bytes(b"stale")
    (out / ".DS_Store").write_bytes(b"")
    (out / ".partial-0123abcd").mkdir()  # left by a killed run
    (out / ".partial-0123abcd" / "results.csv").write_text("half")
    inode, old_report = out.stat().st_ino, (out / "report.html").stat().st_ino
    with pytest.raises(AuditError, match="not empty"):
        _write(result, out)
    _write(result, out, overwrite=True)
    assert _names(out) == REPORT_FILES
    assert _names(tmp_path) == ["report"]
    assert out.stat().st_ino == inode
    assert (out / "report.html").stat().st_ino != old_report  # written anew


@pytest.mark.parametrize("foreign", ["notes.txt", "data/"])
def test_overwrite_refuses_a_folder_with_other_files(
    result, previous, tmp_path, foreign
):
    out = tmp_path / "work"
    shutil.copytree(previous, out)
    if foreign.endswith("/"):
        (out / foreign).mkdir()
    else:
        (out / foreign).write_text("mine")
    with pytest.raises(AuditError, match=f"other entries \\({foreign}\\)"):
        _write(result, out, overwrite=True)
    assert (out / foreign.rstrip("/")).exists()


def test_a_file_is_not_a_folder(result, tmp_path):
    (tmp_path / "report").write_text("")
    with pytest.raises(AuditError, match="is a file"):
        _write(result, tmp_path / "report", overwrite=True)


@pytest.mark.parametrize("stop", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("older", [False, True], ids=["new", "overwrite"])
def test_a_failure_while_writing_leaves_the_folder_as_it_was(
    result, previous, tmp_path, monkeypatch, stop, older
):
    """An error or Ctrl-C after the CSV files are written: no new folder, and
    the previous report (with --overwrite) unchanged."""
    out = tmp_path / "report"
    if older:
        shutil.copytree(previous, out)

    def failing_plot(*args, **kwargs):
        raise stop("the plot failed")

    monkeypatch.setattr(report_module, "pareto_plot", failing_plot)
    with pytest.raises(stop):
        _write(result, out, overwrite=True)
    if older:
        assert _names(tmp_path) == ["report"]
        match, mismatch, errors = filecmp.cmpfiles(
            previous, out, REPORT_FILES, shallow=False
        )
        assert (mismatch, errors) == ([], [])
        assert _names(out) == REPORT_FILES
    else:
        assert _names(tmp_path) == []
