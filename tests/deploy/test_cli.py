"""python -m sklfair export: a smoke run on a few rows writes the graphs and
the report; bad arguments end with status 2."""

import pandas as pd
import pytest

from sklfair.__main__ import main

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


def test_export_writes_graphs_and_report(tmp_path, capsys):
    code = main(
        [
            "export",
            "--quick",
            "--rows",
            "800",
            "--hidden",
            "8",
            "4",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    for name in ("student.onnx", "int8.onnx", "pruned_int8.onnx", "report.csv"):
        assert (tmp_path / name).stat().st_size > 0
    report = pd.read_csv(tmp_path / "report.csv", index_col=0)
    assert list(report.index) == [
        "teacher",
        "student",
        "pruned",
        "int8",
        "pruned int8",
        "student.onnx",
        "int8.onnx",
        "pruned int8.onnx",
    ]
    assert {"size_kb", "auc", "dp age_band", "eo sex"} <= set(report.columns)
    out = capsys.readouterr().out
    assert "int8.onnx" in out and "report:" in out


def test_bad_sparsity_is_a_one_line_error(tmp_path, capsys):
    code = main(["export", "--sparsity", "1.5", "--out", str(tmp_path)])
    assert code == 2
    assert "--sparsity must be in (0, 1)" in capsys.readouterr().err
