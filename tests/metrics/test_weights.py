"""Every public function of sklfair.metrics checks its sample weights (issue 22).

One check (scikit-learn's semantics: finite, non-negative, not all zero, one
per row) with an error naming the function and the problem, against the
silent or cryptic results these inputs gave before: a NaN weight made the
demographic parity difference 0.0, negative weights were accepted, all-zero
weights gave NaN with a numpy warning, a length mismatch surfaced as a pandas
message. Then what a weight of 0 means: a row that is not there.
"""

import functools
import re

import fairlearn.metrics as fm
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import _check_sample_weight

import sklfair.metrics as M

N = 60


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    income = rng.normal(size=N)
    groups = np.array(["a", "b"] * (N // 2))
    X = np.column_stack([income, groups == "b"])  # the group in column 1
    y = (income + rng.normal(size=N) > 0.5).astype(int)  # 1 = default, ~30%
    model = LogisticRegression().fit(X, y)
    return {
        "X": X,
        "y": y,
        "pred": (income > 0.2).astype(int),
        "proba": model.predict_proba(X)[:, 1],
        "groups": groups,
        "y_reg": income,
        "pred_reg": income + rng.normal(scale=0.3, size=N),
        "model": model,
    }


def _binary(name):
    def call(d, w):
        return getattr(M, name)(
            d["y"], d["pred"], sensitive_features=d["groups"], sample_weight=w
        )

    return name, (name, call)


def _average(name):
    def call(d, w):
        return getattr(M, name)(
            "true_positive_rate",
            d["y"],
            d["pred"],
            sensitive_features=d["groups"],
            sample_weight=w,
        )

    return name, (name, call)


def _regression(name):
    def call(d, w):
        return getattr(M, name)(
            d["y_reg"], d["pred_reg"], sensitive_features=d["groups"], sample_weight=w
        )

    return name, (name, call)


def _score(name, **kwargs):
    def call(d, w):
        return getattr(M, name)(d["y"], d["proba"], sample_weight=w, **kwargs)

    return name, (name, call)


def _scorer(message_name, scorer):
    def call(d, w):
        return scorer(d["model"], d["X"], d["y"], sample_weight=w)

    return message_name, call


#: (name in the error message, call(data, weights)) of every public function
#: of sklfair.metrics that takes sample_weight.
PUBLIC = {
    **dict(
        _binary(name)
        for name in [
            "demographic_parity_difference",
            "demographic_parity_ratio",
            "equalized_odds_difference",
            "equalized_odds_ratio",
            "equal_opportunity_difference",
            "equal_opportunity_ratio",
            "multiclass_demographic_parity_difference",
            "multiclass_equalized_odds_difference",
            "group_metrics",
            "adverse_impact_ratio",
            "approval_by_group",
        ]
    ),
    **dict(
        _average(name)
        for name in [
            "average_difference",
            "average_absolute_difference",
            "average_relative_difference",
        ]
    ),
    **dict(
        _regression(name)
        for name in ["mean_prediction_difference", "mean_absolute_error_difference"]
    ),
    **dict(
        _score(name) for name in ["gini", "ks_statistic", "expected_calibration_error"]
    ),
    **dict(
        _score(name, sensitive_features=np.array(["a", "b"] * (N // 2)))
        for name in ["calibration_by_group", "risk_metrics_by_group"]
    ),
    "group_gap": (
        "group_gap('gini')",
        lambda d, w: M.group_gap(
            "gini", d["y"], d["proba"], sensitive_features=d["groups"], sample_weight=w
        ),
    ),
    "approval_rate": (
        "approval_rate",
        lambda d, w: M.approval_rate(d["y"], d["pred"], sample_weight=w),
    ),
    "bad_rate": (
        "bad_rate",
        lambda d, w: M.bad_rate(d["y"], d["pred"], sample_weight=w),
    ),
    "cutoff_for_approval_rate": (
        "cutoff_for_approval_rate",
        lambda d, w: M.cutoff_for_approval_rate(d["model"], d["X"], sample_weight=w),
    ),
    "cutoff_for_bad_rate": (
        "cutoff_for_bad_rate",
        lambda d, w: M.cutoff_for_bad_rate(
            d["model"], d["X"], d["y"], bad_rate=0.5, sample_weight=w
        ),
    ),
    "make_cutoff_scorer": _scorer(
        "make_cutoff_scorer", M.make_cutoff_scorer(max_bad_rate=0.5)
    ),
    "make_fairness_scorer": _scorer(
        "equalized_odds_difference",
        M.make_fairness_scorer("equalized_odds_difference", sensitive_columns=1),
    ),
    "make_fairness_scorer(upper_confidence)": _scorer(
        "fairness_interval",
        M.make_fairness_scorer(
            "demographic_parity_difference", sensitive_columns=1, upper_confidence=0.9
        ),
    ),
    "fairness_interval": (
        "fairness_interval",
        lambda d, w: M.fairness_interval(
            "equalized_odds_difference",
            d["y"],
            d["pred"],
            sensitive_features=d["groups"],
            sample_weight=w,
        ),
    ),
    "certify": (
        "certify",
        lambda d, w: M.certify(
            d["model"],
            d["X"],
            d["y"],
            sensitive_features=d["groups"],
            bound=1.0,
            sample_weight=w,
        ),
    ),
    "fairness_report": (
        "fairness_report",
        lambda d, w: M.fairness_report(
            d["model"], d["X"], d["y"], sensitive_features=d["groups"], sample_weight=w
        ),
    ),
}


def _with(value, n=N):
    weights = np.ones(n)
    weights[3] = value
    return weights


#: bad weights and the problem the error names
BAD_WEIGHTS = {
    "nan": (_with(np.nan), "holds 1 NaN or infinite value(s) (first at row 3: nan)"),
    "inf": (_with(np.inf), "holds 1 NaN or infinite value(s) (first at row 3: inf)"),
    "negative": (_with(-0.5), "holds 1 negative value(s) (first at row 3: -0.5)"),
    "all zero": (np.zeros(N), "is 0 for every row"),
    "too short": (np.ones(N - 1), f"has {N - 1} values, but there are {N} rows"),
    "too long": (np.ones(N + 1), f"has {N + 1} values, but there are {N} rows"),
    "2-d": (np.ones((N, 2)), "must be one-dimensional"),
    "text": (np.array(["1"] * N), "must hold numbers"),
}


@pytest.mark.parametrize("case", list(BAD_WEIGHTS))
@pytest.mark.parametrize("function", list(PUBLIC))
def test_bad_weights_are_a_clear_error(data, function, case):
    name, call = PUBLIC[function]
    weights, problem = BAD_WEIGHTS[case]
    pattern = f"^{re.escape(name)}: sample_weight {re.escape(problem)}"
    with pytest.raises(ValueError, match=pattern):
        call(data, weights)


@pytest.mark.parametrize("function", list(PUBLIC))
def test_valid_weights_pass(data, function):
    _, call = PUBLIC[function]
    weights = np.linspace(0.0, 2.0, N)  # a zero weight is valid
    call(data, weights)
    call(data, weights.tolist())  # a list
    call(data, weights[:, None])  # a column vector


@pytest.mark.parametrize("case", [c for c in BAD_WEIGHTS if c != "text"])
def test_the_rejected_weights_are_sklearns(case):
    weights, _ = BAD_WEIGHTS[case]
    with pytest.raises(ValueError):
        _check_sample_weight(weights, np.empty((N, 1)), ensure_non_negative=True)


def test_a_nan_weight_no_longer_hides_the_german_credit_gap(german, numeric_model):
    # the reproduction of issue 22: DP was 0.0 with one NaN weight
    X, y = german
    y_pred = numeric_model().fit(X, y).predict(X)
    gap = M.demographic_parity_difference(y, y_pred, sensitive_features=X["sex"])
    assert gap == pytest.approx(
        fm.demographic_parity_difference(y, y_pred, sensitive_features=X["sex"])
    )
    assert gap > 0.03
    with pytest.raises(ValueError, match="NaN or infinite"):
        M.demographic_parity_difference(
            y, y_pred, sensitive_features=X["sex"], sample_weight=_with(np.nan, len(y))
        )


# --------------------------------------------------------------------------
# A weight of 0 is a row that is not there
# --------------------------------------------------------------------------

GAPS = [
    "demographic_parity_difference",
    "equalized_odds_difference",
    "equal_opportunity_ratio",
    "multiclass_equalized_odds_difference",
    "mean_prediction_difference",
]


@pytest.mark.parametrize("name", GAPS)
def test_zero_weights_equal_removed_rows(data, name):
    rng = np.random.default_rng(1)
    weights = rng.integers(0, 3, size=N).astype(float)  # 0, 1 or 2
    kept = weights > 0
    func = getattr(M, name)
    y, pred = (
        (data["y_reg"], data["pred_reg"])
        if "mean" in name
        else (
            data["y"],
            data["pred"],
        )
    )
    weighted = func(y, pred, sensitive_features=data["groups"], sample_weight=weights)
    removed = func(
        y[kept],
        pred[kept],
        sensitive_features=data["groups"][kept],
        sample_weight=weights[kept],
    )
    repeated = np.repeat(np.arange(N), weights.astype(int))
    assert weighted == pytest.approx(removed)
    assert weighted == pytest.approx(
        func(y[repeated], pred[repeated], sensitive_features=data["groups"][repeated])
    )


@pytest.mark.parametrize("name", GAPS)
def test_a_group_of_weight_zero_is_left_out(data, name):
    # before: a RuntimeWarning (DP), sklearn's "Sample weights must contain at
    # least one non-zero number" (EO), or a ZeroDivisionError (regression)
    groups = np.array(["a", "b", "c"] * (N // 3))
    weights = np.where(groups == "c", 0.0, 1.0)
    func = getattr(M, name)
    y, pred = (
        (data["y_reg"], data["pred_reg"])
        if "mean" in name
        else (
            data["y"],
            data["pred"],
        )
    )
    without_c = groups != "c"
    assert func(
        y, pred, sensitive_features=groups, sample_weight=weights
    ) == pytest.approx(
        func(y[without_c], pred[without_c], sensitive_features=groups[without_c])
    )


def test_the_tables_and_intervals_leave_a_weightless_group_out(data):
    groups = np.array(["a", "b", "c"] * (N // 3))
    weights = np.where(groups == "c", 0.0, 1.0)
    without_c = groups != "c"
    y, pred = data["y"], data["pred"]
    table = M.group_metrics(y, pred, sensitive_features=groups, sample_weight=weights)
    assert table.index.tolist() == ["a", "b"]
    interval = M.fairness_interval(
        "equalized_odds_difference",
        y,
        pred,
        sensitive_features=groups,
        sample_weight=weights,
    )
    expected = M.fairness_interval(
        "equalized_odds_difference",
        y[without_c],
        pred[without_c],
        sensitive_features=groups[without_c],
    )
    assert interval.group_sizes.index.tolist() == ["a", "b"]
    assert (interval.estimate, interval.low, interval.high) == pytest.approx(
        (expected.estimate, expected.low, expected.high)
    )


def test_functools_partial_metrics_check_through_the_scorer(data):
    # a metric bound with functools.partial reaches the same one check
    scorer = M.make_fairness_scorer(
        functools.partial(M.average_difference, "selection_rate"),
        sensitive_columns=1,
    )
    with pytest.raises(ValueError, match="^average_difference: sample_weight"):
        scorer(data["model"], data["X"], data["y"], sample_weight=_with(-1.0))
