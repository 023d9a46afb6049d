"""compare(): the report's numbers against sklfair.metrics and sklearn computed
directly, ONNX graphs beside fitted models, the warning past the bound."""

import warnings

import numpy as np
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklfair.deploy import compare, quantize, to_onnx
from sklfair.exceptions import DeploymentGapWarning
from sklfair.metrics import (
    demographic_parity_difference,
    equalized_odds_difference,
    fairness_interval,
)
from sklfair.nets import TabularNetClassifier

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


@pytest.fixture(scope="module")
def report(credit, fair_student):
    X_train, X_test, _, y_test, _ = credit
    models = {
        "student": fair_student,
        "int8": quantize(fair_student),
        "student.onnx": to_onnx(fair_student, X_train.iloc[:5]),
    }
    # whether the small student's held-out gap passes its bound is beside the
    # point here (test_a_gap_past_the_bound_warns tests the warning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeploymentGapWarning)
        table = compare(
            models,
            X_test,
            y_test,
            sensitive_features=X_test[["age_band"]],
            batch_size=500,
            n_latency_rows=5,
            repeats=1,
        )
    return models, table


def test_report_numbers_match_the_metrics(credit, report):
    _, X_test, _, y_test, _ = credit
    models, table = report
    student = models["student"]
    y_pred = student.predict(X_test)
    row = table.loc["student"]
    assert row["accuracy"] == pytest.approx(np.mean(y_pred == y_test))
    assert row["auc"] == pytest.approx(
        roc_auc_score(y_test, student.predict_proba(X_test)[:, 1])
    )
    groups = X_test["age_band"]
    assert row["dp age_band"] == pytest.approx(
        demographic_parity_difference(y_test, y_pred, sensitive_features=groups)
    )
    assert row["eo age_band"] == pytest.approx(
        equalized_odds_difference(y_test, y_pred, sensitive_features=groups)
    )
    # each gap with its analytic 95% interval
    for kind, metric in [("dp", "demographic_parity"), ("eo", "equalized_odds")]:
        interval = fairness_interval(
            f"{metric}_difference", y_test, y_pred, sensitive_features=groups
        )
        column = f"{kind} age_band"
        assert row[f"{column} low"] == pytest.approx(interval.low)
        assert row[f"{column} high"] == pytest.approx(interval.high)
        assert interval.low <= row[column] <= interval.high
    # the graph of the student measures as the student
    for column in ("accuracy", "auc", "dp age_band", "eo age_band"):
        assert table.loc["student.onnx", column] == pytest.approx(row[column], abs=1e-6)
    assert row["parameters"] == student.n_student_params_
    assert table.loc["int8", "parameters"] == row["parameters"]
    assert table.loc["int8", "size_kb"] < row["size_kb"]
    assert (table[["latency_ms", "rows_per_s"]] > 0).all().all()


def test_a_gap_past_the_bound_warns(credit, fair_student, teacher):
    X_train, X_test, _, y_test, _ = credit
    # a network that flags every client under 25 and nobody else
    on_age = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["age_band"])),
        TabularNetClassifier(
            hidden_units=(8,), max_epochs=100, lr=0.05, random_state=0
        ),
    ).fit(X_train, (X_train["age_band"] == "<25").astype(int))
    with pytest.warns(
        DeploymentGapWarning, match="'on age'.*above the bound 0.05"
    ) as record:
        table = compare(
            {"student": fair_student, "teacher": teacher, "on age": on_age},
            X_test,
            y_test,
            sensitive_features=X_test["age_band"],
            batch_size=100,
            n_latency_rows=2,
            repeats=1,
        )
    assert table.loc["on age", "dp age_band"] > 0.05
    # the teacher is compared, not checked: the only warning is the network's
    assert len(record) == 1


def test_bad_arguments(credit, fair_student):
    _, X_test, _, y_test, _ = credit
    with pytest.raises(TypeError, match="classifiers"):
        compare(
            {"s": fair_student, "r": LinearRegression().fit([[0], [1]], [0, 1])},
            X_test,
            y_test,
            sensitive_features=X_test["age_band"],
        )
    with pytest.raises(ValueError, match="rows"):
        compare({"s": fair_student}, X_test, y_test, sensitive_features=[1, 2])
    with pytest.raises(ValueError, match="reference"):
        compare(
            {"s": fair_student},
            X_test,
            y_test,
            sensitive_features=X_test["age_band"],
            reference="teacher",
        )
