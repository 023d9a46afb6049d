"""The comparison table: every gap and the accuracy with its interval.

Checked on the saved predictions of a small German credit audit against
oracles computed here: fairlearn's gaps, Wilson's score interval written
out by hand, and :func:`sklfair.metrics.fairness_interval` called on the
saved decisions (the audit must give it the held-out groups and the
positive label it reports).
"""

import re

import numpy as np
import pandas as pd
import pytest
from audit_cases import german_audit
from fairlearn.metrics import (
    demographic_parity_difference,
    equalized_odds_difference,
)
from scipy.stats import norm

from sklfair.audit import format_table, interval_columns
from sklfair.datasets import load_german_credit
from sklfair.metrics import fairness_interval

SENSITIVE = ["sex", "age_band"]


@pytest.fixture(scope="module")
def audit():
    result, out = german_audit(privacy=True)
    return {
        "result": result,
        "table": pd.read_csv(out / "results.csv", index_col="model"),
        "predictions": pd.read_csv(out / "predictions.csv"),
    }


def _wilson(successes, n, confidence=0.95):
    """Wilson's score interval, from its formula."""
    z = norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_the_table_has_an_interval_for_every_gap_and_the_accuracy(audit):
    table = audit["table"]
    for attribute in SENSITIVE:
        for gap in ("DP", "EO"):
            name = f"{gap} diff {attribute}"
            assert {name, f"{name} low", f"{name} high"} <= set(table.columns)
            assert (table[f"{name} low"] <= table[name]).all()
            assert (table[name] <= table[f"{name} high"]).all()
    assert (table["accuracy low"] < table["accuracy"]).all()
    assert (table["accuracy"] < table["accuracy high"]).all()


def test_intervals_match_independent_oracles(audit):
    predictions = audit["predictions"]
    groups = load_german_credit().sensitive.iloc[predictions["row"]]
    y_true = predictions["y_true"].to_numpy()
    for name, row in audit["table"].iterrows():
        y_pred = predictions[f"{name} y_pred"].to_numpy()
        correct = int((y_pred == y_true).sum())
        low, high = _wilson(correct, len(y_true))
        assert row["accuracy"] == pytest.approx(correct / len(y_true))
        assert row["accuracy low"] == pytest.approx(low, abs=1e-12)
        assert row["accuracy high"] == pytest.approx(high, abs=1e-12)
        for attribute in SENSITIVE:
            group = groups[attribute].to_numpy()
            for gap, metric, fairlearn_gap in (
                ("DP", "demographic_parity_difference", demographic_parity_difference),
                ("EO", "equalized_odds_difference", equalized_odds_difference),
            ):
                column = f"{gap} diff {attribute}"
                assert row[column] == pytest.approx(
                    fairlearn_gap(y_true, y_pred, sensitive_features=group),
                    abs=1e-12,
                )
                interval = fairness_interval(
                    metric, y_true, y_pred, sensitive_features=group, pos_label=1
                )
                assert row[f"{column} low"] == pytest.approx(interval.low)
                assert row[f"{column} high"] == pytest.approx(interval.high)


def test_the_printed_table_shows_each_interval(audit):
    table = audit["result"].table
    text = format_table(table)
    first, gaps = text.split("gaps between groups [95% intervals]")
    assert "accuracy [95% interval]" in first
    row = table.loc["logistic regression"]
    (line,) = re.findall(r"^logistic regression\s.*$", gaps, flags=re.M)
    expected = " ".join(
        f"{row[c]:.3f} [{row[c + ' low']:.3f}, {row[c + ' high']:.3f}]"
        for c in ("DP diff sex", "DP diff age_band", "EO diff sex", "EO diff age_band")
    )
    assert " ".join(line.split()[2:]) == expected
    (line,) = re.findall(r"^claims 0\.001\s.*$", first, flags=re.M)
    assert "NOT CERTIFIABLE with these rows at 0.001" in line


def test_interval_columns_merge_value_and_interval():
    table = pd.DataFrame(
        {"gap": [0.1, np.nan], "gap low": [0.05, 0.0], "gap high": [0.2, 0.1]},
        index=["a", "b"],
    )
    shown = interval_columns(table)
    assert list(shown.columns) == ["gap"]
    assert shown["gap"].tolist() == ["0.100 [0.050, 0.200]", "-"]
