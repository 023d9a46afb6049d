"""Checks of the audit from a user's side, against oracles outside sklfair.

- A seed the split cannot take (negative, or 2**32 and above) is a bad
  argument: one line and exit status 2 from the command line, an
  :class:`~sklfair.exceptions.AuditError` from :func:`run_audit`, before any
  model is fitted (it was a traceback from ``train_test_split``).
- ``--quick`` is quicker: its networks take fewer optimizer steps than the
  default run's.
"""

import warnings

import pytest

from sklfair.__main__ import main
from sklfair.audit import AuditError, load_audit_data, run_audit


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_is_a_one_line_error(seed, tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["audit", "--dataset", "german", "--quick", "--seed", seed]
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--out", str(out)])
    captured = capsys.readouterr()
    assert exc.value.code == 2
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "--seed" in lines[0] and seed in lines[0]
    assert "Traceback" not in captured.err
    assert not out.exists()


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_run_audit_refuses_a_bad_seed_before_fitting(seed, tmp_path):
    out = tmp_path / "report"
    with pytest.raises(AuditError, match="--seed"):
        run_audit(load_audit_data("german"), out=out, seed=seed, progress=False)
    assert not out.exists()


def test_the_largest_seed_is_accepted():
    from sklfair.__main__ import build_parser

    args = build_parser().parse_args(["audit", "--seed", str(2**32 - 1)])
    assert args.seed == 2**32 - 1


def test_the_quick_budget_is_smaller_than_the_full_one():
    """``--quick`` trains the networks for fewer optimizer steps than the
    default (it had batches of 64 against 256: 3 times the steps on Taiwan
    credit, and fits about twice as slow as the default run)."""
    from sklfair.audit import BUDGETS

    full, quick = BUDGETS["full"], BUDGETS["quick"]
    for epochs in ("net_epochs", "student_epochs"):
        steps_full = full[epochs] / full["batch_size"]
        steps_quick = quick[epochs] / quick["batch_size"]
        assert steps_quick < steps_full
    assert quick["hgb_iter"] <= full["hgb_iter"]
    assert quick["lr_iter"] <= full["lr_iter"]


@pytest.mark.parametrize("bound", ["inf", "nan", "1.5", "-0.1"])
def test_a_bound_that_is_no_gap_is_a_one_line_error(bound, tmp_path, capsys):
    # a gap between rates lies in [0, 1]: "inf" was certified at inf
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as exc:
        main(["audit", "--dataset", "german", "--quick", "--bound", bound])
    assert exc.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "--bound" in lines[0]
    with pytest.raises(AuditError, match="--bound"):
        run_audit(
            load_audit_data("german"), out=out, bound=float(bound), progress=False
        )
    assert not out.exists()


def test_a_rate_undefined_on_the_test_rows_is_a_note_not_a_raw_warning(tmp_path):
    # a group of the test rows without negatives has no false positive rate:
    # the report notes it instead of printing a raw warning with a file path
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sklfair.audit._report import _group_sections

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=200), "g": np.repeat(["a", "b"], 100)})
    y = (X["x"] > 0).astype(int).to_numpy().copy()
    y[X["g"] == "b"] = 1
    # the group is not an input, as in the audit's models
    model = make_pipeline(
        make_column_transformer(("passthrough", ["x"])), LogisticRegression()
    ).fit(X, y)

    result = SimpleNamespace(
        data=SimpleNamespace(sensitive=["g"], pos_label=1), models={"m": model}
    )
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        files, html = _group_sections(result, tmp_path, X, y, notes)
    assert files and "m" in html
    assert any(
        note.startswith("m: UndefinedRateWarning") and "false_positive_rate" in note
        for note in notes
    ), notes
