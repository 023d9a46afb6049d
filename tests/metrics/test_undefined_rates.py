"""The metrics say when they count an undefined rate as 0 (issue 22, item 2).

A group with no negatives has no false positive rate. Like fairlearn, the
metrics count it as 0; like the constrained estimators' claim, they now say
so with an UndefinedRateWarning naming the rate and the group, in the same
words, so that the claim and the metric agree in value and in what they say.
"""

import re
import warnings

import fairlearn.metrics as fm
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import sklfair.metrics as M
from sklfair.constrained import FairConstrainedClassifier
from sklfair.exceptions import BoundNotMetWarning, UndefinedRateWarning

FPR = r"false_positive_rate of group 1 \(no negatives\)"


@pytest.fixture(scope="module")
def data():
    # as tests/constrained/test_claim.py: group 1 has no negatives
    rng = np.random.RandomState(0)
    n = 300
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=n), rng.normal(size=n), group])
    y = (X[:, 0] + rng.normal(0, 0.5, n) > 0).astype(int)
    y[group == 1] = 1
    model = LogisticRegression().fit(X, y)
    return {"X": X, "y": y, "group": group, "model": model, "pred": model.predict(X)}


def _gap(name):
    def call(d):
        return getattr(M, name)(d["y"], d["pred"], sensitive_features=d["group"])

    return call


#: public function -> (call(data), what its warning names)
WARNERS = {
    **{
        name: (_gap(name), FPR)
        for name in ["equalized_odds_difference", "equalized_odds_ratio"]
    },
    "multiclass_equalized_odds_difference": (
        _gap("multiclass_equalized_odds_difference"),
        r"false_positive_rate of group 1 for class 1 \(no negatives\)",
    ),
    "group_metrics": (_gap("group_metrics"), FPR),
    "average_difference": (
        lambda d: M.average_difference(
            "false_positive_rate", d["y"], d["pred"], sensitive_features=d["group"]
        ),
        FPR,
    ),
    "fairness_interval": (
        lambda d: M.fairness_interval(
            "equalized_odds_difference",
            d["y"],
            d["pred"],
            sensitive_features=d["group"],
        ),
        FPR + r".*The analytic interval treats each as anywhere in \[0, 1\]",
    ),
    "certify": (
        lambda d: M.certify(
            d["model"],
            d["X"],
            d["y"],
            sensitive_features=d["group"],
            constraint="equalized_odds",
            bound=1.0,
        ),
        FPR,
    ),
    "fairness_report": (
        lambda d: M.fairness_report(
            d["model"], d["X"], d["y"], sensitive_features=d["group"]
        ),
        r"^fairness_report \(sensitive_feature\): .*" + FPR,
    ),
}


@pytest.mark.parametrize("name", list(WARNERS))
def test_an_undefined_rate_is_named_once(data, name):
    call, names = WARNERS[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(data)
    assert [w.category for w in caught] == [UndefinedRateWarning]
    message = str(caught[0].message)
    assert re.search(names, message), message
    assert "They count as 0, as in fairlearn's metrics" in message
    assert caught[0].filename == __file__  # it points at the caller's line


def test_the_scorer_warns_through_its_metric(data):
    scorer = M.make_fairness_scorer("equalized_odds_difference", sensitive_columns=2)
    # the groups come from X's float column here: group 1.0
    with pytest.warns(UndefinedRateWarning, match=FPR.replace("1", r"1\.0")):
        score = scorer(data["model"], data["X"], data["y"])
    assert -score == pytest.approx(
        fm.equalized_odds_difference(
            data["y"], data["pred"], sensitive_features=data["group"]
        )
    )


@pytest.mark.parametrize(
    "name",
    ["equal_opportunity_difference", "demographic_parity_difference"],
)
def test_a_defined_rate_is_not_warned_about(data, name):
    # group 1 has positives, so its true positive rate is defined; selection
    # rates always are
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = _gap(name)(data)
    assert value == pytest.approx(
        getattr(fm, name)(data["y"], data["pred"], sensitive_features=data["group"])
    )


def test_the_value_is_fairlearns_with_the_rate_at_zero(data):
    y, pred, group = data["y"], data["pred"], data["group"]
    with pytest.warns(UndefinedRateWarning):
        ours = M.equalized_odds_difference(y, pred, sensitive_features=group)
    fpr_0 = np.mean(pred[(group == 0) & (y == 0)])
    tpr = [np.mean(pred[(group == g) & (y == 1)]) for g in (0, 1)]
    assert ours == pytest.approx(max(abs(tpr[0] - tpr[1]), fpr_0 - 0.0))
    assert ours == pytest.approx(
        fm.equalized_odds_difference(y, pred, sensitive_features=group)
    )


def test_weight_zero_rows_are_not_in_the_event(data):
    # group 0's negatives all weigh 0: its false positive rate is undefined
    y, pred, group = data["y"], data["pred"], data["group"]
    weights = np.where((group == 0) & (y == 0), 0.0, 1.0)
    with pytest.warns(UndefinedRateWarning, match="false_positive_rate of group 0"):
        M.equalized_odds_difference(
            y, pred, sensitive_features=group, sample_weight=weights
        )


def test_the_claim_and_the_metric_say_the_same(data):
    X, y = data["X"], data["y"]
    clf = FairConstrainedClassifier(
        LogisticRegression(),
        constraint="equalized_odds",
        bound=0.05,
        method="reductions",
        sensitive_columns=[2],
    )
    with warnings.catch_warnings(record=True) as claimed:
        warnings.simplefilter("always")
        clf.fit(X, y)
    with warnings.catch_warnings(record=True) as measured:
        warnings.simplefilter("always")
        gap = M.equalized_odds_difference(y, clf.predict(X), sensitive_features=X[:, 2])
    assert clf.constraint_violation_ == pytest.approx(gap - 0.05)
    assert any(w.category is BoundNotMetWarning for w in claimed)
    said = [
        str(w.message) for w in claimed + measured if w.category is UndefinedRateWarning
    ]
    assert len(said) == 2
    assert all("false_positive_rate of group 1.0" in text for text in said)
    assert all("They count as 0, as in fairlearn's metrics" in text for text in said)


def test_german_credit_by_sex_and_purpose(german, numeric_model):
    # three women borrowing for retraining, none of them a bad risk: their
    # false positive rate is undefined, and counting it as 0 makes the
    # equalized odds difference 1.0, as in fairlearn -- now with a warning
    X, y = german
    y_pred = numeric_model().fit(X, y).predict(X)
    groups = X[["sex", "purpose"]]
    with pytest.warns(
        UndefinedRateWarning,
        match="false_positive_rate of group 'sex=female, purpose=retraining'",
    ):
        gap = M.equalized_odds_difference(y, y_pred, sensitive_features=groups)
    assert gap == fm.equalized_odds_difference(y, y_pred, sensitive_features=groups)
    assert gap == 1.0
