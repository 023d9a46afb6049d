"""Loading the audit's data: CSV files, their faults, and the checks.

The parse errors are those pandas reads silently or names without the
file: a quote that is never closed, one closed in the middle of a field, a
record folded over several lines, a row with fewer fields than the header.
Each must be named as a parse error, with the file and the line.
"""

import bz2
import gzip

import numpy as np
import pandas as pd
import pytest

from sklfair.audit import AuditError, load_audit_data, make_preprocessor
from sklfair.exceptions import AuditError as AuditErrorInExceptions


def _loans(n=80, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(size=n).round(3),
            "housing": rng.choice(["own", "rent"], n),
            "sex": rng.choice(["female", "male"], n),
            "approved": rng.choice(["no", "yes"], n),
        }
    )


def test_load_audit_data_from_csv(tmp_path):
    frame = _loans()
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    data = load_audit_data(csv=path, target="approved", sensitive=["sex"])
    assert data.pos_label == "yes"  # the greater label, as scikit-learn
    assert data.mitigate == "sex"
    assert list(data.X.columns) == ["income", "housing", "sex"]
    assert isinstance(data.X["housing"].dtype, pd.CategoricalDtype)
    np.testing.assert_array_equal(data.X["income"], frame["income"])
    Xt = make_preprocessor(data.X, data.sensitive).fit_transform(data.X)
    # income + two housing categories; sex is not an input.
    assert Xt.shape == (len(frame), 3)
    with pytest.raises(AuditError, match="'age'"):
        load_audit_data(csv=path, target="approved", sensitive=["age"])


def test_audit_error_lives_in_exceptions():
    assert AuditError is AuditErrorInExceptions
    assert issubclass(AuditError, ValueError)


@pytest.mark.parametrize("opener, suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2")])
def test_compressed_csv_reads_as_the_plain_one(tmp_path, opener, suffix):
    frame = _loans()
    path = tmp_path / f"loans.csv{suffix}"
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False)
    data = load_audit_data(csv=path, target="approved", sensitive=["sex"])
    pd.testing.assert_frame_equal(
        data.X.astype({"housing": str, "sex": str}),
        frame.drop(columns="approved"),
    )


def test_quoted_fields_and_blank_lines_are_fine(tmp_path):
    """Legitimate quoting (a comma inside quotes, doubled quotes) and blank
    lines read as pandas reads them."""
    housing = ['"own, outright"', '"rent ""short"""']  # as written in the file
    lines = ["income,housing,sex,approved"]
    lines += [
        f"{i},{housing[i % 2]},{'fm'[i % 3 == 0]},{'ny'[i % 4 == 0]}" for i in range(40)
    ]
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(lines[:20]) + "\n\n" + "\n".join(lines[20:]) + "\n")
    data = load_audit_data(csv=path, target="approved", sensitive=["sex"])
    assert len(data.X) == 40
    assert set(data.X["housing"]) == {"own, outright", 'rent "short"'}


def _write_with(tmp_path, line_number, replacement):
    """The loans CSV with one line (1-based, header = 1) replaced."""
    lines = _loans().to_csv(index=False).splitlines()
    lines[line_number - 1] = replacement(lines[line_number - 1])
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "line, replacement, fragments",
    [
        # A quote opened and never closed: it runs to the end of the file.
        (
            12,
            lambda text: text.replace(",", ',"', 1),
            ["line 12", "never closed"],
        ),
        # Closed in the middle of a field: before the fix, the row lost a
        # field and the error was "the target has 1 missing values".
        (
            7,
            lambda text: '"' + text.replace(",", ',"', 1),
            ["line 7", "middle of a field"],
        ),
        # Closed on a later line: two records fold into one.
        (
            9,
            lambda text: text.replace(",", ',"', 1) + '\n1.0,own",female',
            ["lines 9-10", "one record"],
        ),
        # A short row: pandas fills the missing fields with NaN.
        (30, lambda text: text.rsplit(",", 1)[0], ["line 30", "3 fields", "has 4"]),
        # A long row.
        (5, lambda text: text + ",extra", ["line 5", "5 fields", "has 4"]),
    ],
)
def test_parse_errors_name_the_file_and_line(tmp_path, line, replacement, fragments):
    path = _write_with(tmp_path, line, replacement)
    with pytest.raises(AuditError) as caught:
        load_audit_data(csv=path, target="approved", sensitive=["sex"])
    message = str(caught.value)
    assert message.startswith(f"cannot parse {str(path)!r} as CSV: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert "missing values" not in message
    assert len(message.splitlines()) == 1


def test_real_missing_target_values_are_still_named(tmp_path):
    frame = _loans()
    frame.loc[[3, 8], "approved"] = None
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(AuditError, match="'approved' has 2 missing values"):
        load_audit_data(csv=path, target="approved", sensitive=["sex"])


def test_text_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.csv"
    frame = _loans()
    frame.loc[0, "housing"] = "propriété"
    path.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    with pytest.raises(AuditError, match="not UTF-8 text"):
        load_audit_data(csv=path, target="approved", sensitive=["sex"])
