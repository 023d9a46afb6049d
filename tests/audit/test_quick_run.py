"""The audit: one quick run on German credit, checked against independent oracles.

The run goes through the command line (``main``), as a user would start it.
Its table is checked against fairlearn's and scikit-learn's metrics computed
here from the predictions it saved, and its logistic regression row against
a logistic regression fitted here on the same documented split. The run fits
every contender on the whole German credit data set: the module is ``slow``.
"""

import contextlib
import io
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    equalized_odds_difference,
)
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.__main__ import main
from sklfair.audit import TEST_SIZE, load_audit_data, make_contenders
from sklfair.datasets import load_german_credit

pytestmark = pytest.mark.slow

SENSITIVE = ["sex", "age_band"]
SEED = 3


@pytest.fixture(scope="module")
def audit_run(tmp_path_factory):
    """Run ``python -m sklfair audit --dataset german --quick`` once."""
    out = tmp_path_factory.mktemp("audit") / "report"  # created by the run
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(
            [
                "audit",
                "--dataset",
                "german",
                "--quick",
                "--device",
                "cpu",
                "--seed",
                str(SEED),
                "--out",
                str(out),
            ]
        )
    return {
        "status": status,
        "out": out,
        "stdout": stdout.getvalue(),
        "stderr": stderr.getvalue(),
        "table": pd.read_csv(out / "results.csv", index_col="model"),
        "predictions": pd.read_csv(out / "predictions.csv"),
    }


def test_run_succeeds_and_reports_progress(audit_run):
    assert audit_run["status"] == 0
    names = [c.name for c in make_contenders(load_audit_data("german"))[0]]
    # Every contender was announced, and fitted, on stderr.
    for number, name in enumerate(names, start=1):
        assert f"[{number}/{len(names)}] {name}: done" in audit_run["stderr"]
    assert list(audit_run["table"].index) == names
    assert "FAILED" not in audit_run["stderr"]


def _numbers(text):
    return [float(v) for v in re.findall(r"\d+\.\d+", text)]


def test_printed_table_matches_saved_table(audit_run):
    """Two blocks: accuracy [interval], AUC, certificate, fit s; then the gaps."""
    table = audit_run["table"]
    stdout = audit_run["stdout"]
    first, rest = stdout.split("gaps between groups [95% intervals]")
    gaps = rest.split("credit at an approval rate")[0]
    header = next(ln for ln in first.splitlines() if "accuracy [95% interval]" in ln)
    for column in ["AUC", "certificate", "fit s"]:
        assert column in header
    gap_header = gaps.splitlines()[1]
    for attribute in SENSITIVE:
        assert f"DP diff {attribute}" in gap_header
        assert f"EO diff {attribute}" in gap_header
    for name, row in table.iterrows():
        pattern = rf"^{re.escape(name)}\s+\d.*$"
        (line,) = re.findall(pattern, first, flags=re.M)
        accuracy, low, high, auc, bound, seconds = _numbers(line[len(name) :])
        np.testing.assert_allclose(
            [accuracy, low, high, auc, bound],
            [
                row["accuracy"],
                row["accuracy low"],
                row["accuracy high"],
                row["AUC"],
                row["bound"],
            ],
            atol=5e-4,
        )
        assert seconds == pytest.approx(row["fit s"], abs=0.051)
        assert f"{row['certificate']} at {row['bound']:g}" in line
        (line,) = re.findall(pattern, gaps, flags=re.M)
        expected = [
            row[f"{gap} diff {a}{end}"]
            for gap in ("DP", "EO")
            for a in SENSITIVE
            for end in ("", " low", " high")
        ]
        np.testing.assert_allclose(_numbers(line[len(name) :]), expected, atol=5e-4)


def test_table_matches_fairlearn_on_saved_predictions(audit_run):
    """Every row, recomputed from the saved predictions with fairlearn/sklearn."""
    bunch = load_german_credit()
    predictions = audit_run["predictions"]
    groups = bunch.sensitive.iloc[predictions["row"]].reset_index(drop=True)
    y_true = predictions["y_true"].to_numpy()
    # The saved labels are the data set's own.
    np.testing.assert_array_equal(y_true, bunch.target.to_numpy()[predictions["row"]])
    for name, row in audit_run["table"].iterrows():
        y_pred = predictions[f"{name} y_pred"].to_numpy()
        score = predictions[f"{name} score"].to_numpy()
        assert row["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
        assert row["AUC"] == pytest.approx(roc_auc_score(y_true, score))
        for attribute in SENSITIVE:
            dp = demographic_parity_difference(
                y_true, y_pred, sensitive_features=groups[attribute]
            )
            eo = equalized_odds_difference(
                y_true, y_pred, sensitive_features=groups[attribute]
            )
            assert row[f"DP diff {attribute}"] == pytest.approx(dp, abs=1e-12)
            assert row[f"EO diff {attribute}"] == pytest.approx(eo, abs=1e-12)


def test_logistic_regression_row_matches_an_independent_fit(audit_run):
    """Same documented split, same preprocessing, fitted here: same numbers."""
    bunch = load_german_credit()
    X, y = bunch.data, bunch.target
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SEED
    )
    features = [c for c in X.columns if c not in SENSITIVE]
    categorical = [c for c in features if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in features if c not in categorical]
    model = make_pipeline(
        ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            ]
        ),
        LogisticRegression(max_iter=300, random_state=SEED),
    ).fit(X_tr, y_tr)
    y_pred = model.predict(X_te)
    row = audit_run["table"].loc["logistic regression"]
    assert row["accuracy"] == pytest.approx(accuracy_score(y_te, y_pred))
    assert row["DP diff age_band"] == pytest.approx(
        demographic_parity_difference(y_te, y_pred, sensitive_features=X_te.age_band)
    )
    # The split is the documented one: the held-out rows are X_te's.
    np.testing.assert_array_equal(
        np.sort(audit_run["predictions"]["row"]), np.sort(X_te.index.to_numpy())
    )


def test_split_is_stratified_and_disjoint(audit_run):
    bunch = load_german_credit()
    rows = audit_run["predictions"]["row"].to_numpy()
    assert len(np.unique(rows)) == len(rows) == round(TEST_SIZE * len(bunch.target))
    held_out_rate = bunch.target.to_numpy()[rows].mean()
    assert held_out_rate == pytest.approx(bunch.target.mean(), abs=1 / len(rows))


def test_report_and_plots_exist(audit_run):
    out = audit_run["out"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>")
    images = re.findall(r'<img src="([^"]+)"', report)
    assert "pareto.png" in images
    assert len([i for i in images if i.startswith("groups_")]) == len(
        audit_run["table"]
    )
    for image in images:
        data = (out / image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", image
    for name in audit_run["table"].index:
        assert name.replace("<", "&lt;") in report
    assert f"report: {out / 'report.html'}" in audit_run["stdout"]


def test_quick_run_output(audit_run):
    """What the quick run produces: the table's rows and columns, finite
    metrics in their ranges, the predictions of every model, and exactly the
    report's files in the output folder (nothing else, nothing left beside)."""
    table, predictions, out = (
        audit_run["table"],
        audit_run["predictions"],
        audit_run["out"],
    )
    names = [c.name for c in make_contenders(load_audit_data("german"))[0]]
    assert list(table.index) == names
    assert list(table.columns) == [
        "kind",
        "accuracy",
        "accuracy low",
        "accuracy high",
        "AUC",
        *[
            f"{gap} diff {a}{end}"
            for gap in ("DP", "EO")
            for a in SENSITIVE
            for end in ("", " low", " high")
        ],
        "bound",
        "certificate",
        "fit s",
    ]
    assert set(table["kind"]) == {
        "baseline",
        "pre-processing",
        "in-processing",
        "post-processing",
        "distillation",
    }
    metrics = table.drop(columns=["kind", "certificate", "fit s"]).to_numpy(dtype=float)
    assert np.isfinite(metrics).all()
    assert ((metrics >= 0) & (metrics <= 1)).all()
    # Every model learnt something: better than chance in ranking.
    assert (table["AUC"] > 0.6).all(), table["AUC"]
    fit_seconds = table["fit s"].to_numpy(dtype=float)
    assert np.isfinite(fit_seconds).all() and (fit_seconds > 0).all()

    bunch = load_german_credit()
    assert len(predictions) == round(TEST_SIZE * len(bunch.target))
    assert list(predictions.columns) == [
        "row",
        "y_true",
        *[f"{n} {what}" for n in names for what in ("y_pred", "score")],
        *[f"{n} approved" for n in names],
    ]
    labels = set(np.unique(bunch.target))
    for name in names:
        assert set(predictions[f"{name} y_pred"]) <= labels
        scores = predictions[f"{name} score"].to_numpy()
        assert ((scores >= 0) & (scores <= 1)).all()

    slugs = [re.sub(r"[^a-z0-9]+", "_", n.lower()).strip("_") for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "report.html",
            "results.csv",
            "predictions.csv",
            "credit.csv",
            "pareto.png",
            *[
                f"{plot}_{slug}.png"
                for slug in slugs
                for plot in ("groups", "calibration", "approval")
            ],
        ]
    )
    # No staging folder is left next to the report.
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_credit_section_of_every_model(audit_run):
    """Every contender in credit.csv, its Gini that of its saved scores (German
    credit: the bad label is 0, so the PD is one minus the score), and its
    declined rows explained: networks by shap's deep explainer, the logistic
    regression by its linear one, the gradient boosting by its tree one, the
    group thresholds through the network's score they threshold: every
    model has reasons by default."""
    credit = pd.read_csv(audit_run["out"] / "credit.csv", index_col="model")
    predictions = audit_run["predictions"]
    assert list(credit.index) == list(audit_run["table"].index)
    bad = (predictions["y_true"] == 0).to_numpy()
    for name, row in credit.iterrows():
        pd_score = 1.0 - predictions[f"{name} score"].to_numpy()
        assert row["Gini"] == pytest.approx(2 * roc_auc_score(bad, pd_score) - 1)
        approved = predictions[f"{name} approved"].to_numpy() == 1
        assert row["bad rate"] == pytest.approx(bad[approved].mean())
    page = (audit_run["out"] / "report.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="credit">')[1].split("<h2 ")[0]
    for explainer in ("deep explainer", "linear explainer", "tree explainer"):
        assert f"shap's {explainer}" in section
    assert "on the score the group thresholds are applied to" in section
    # by default, no slow permutation explainer, and no model left out
    assert "permutation explainer" not in section
    assert "No reasons for this model" not in section
    assert "membership inference" not in audit_run["stdout"]  # off by default
