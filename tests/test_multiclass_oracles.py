"""Multi-class mitigation checked from the outside, as a user would.

Real multi-class targets: COMPAS's three risk levels (race merged into three
groups) and Adult's education band (three bands of ``education_num``). The
oracles are computed here without sklfair: per-group rates by hand with
numpy, fairlearn's MetricFrame on one-vs-rest indicators, and reweighing's
weights from their formula.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from compas_levels import compas_encoder, compas_risk_levels
from fairlearn.metrics import MetricFrame, false_positive_rate, true_positive_rate
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_adult
from sklfair.exceptions import UndefinedRateWarning
from sklfair.metrics import (
    multiclass_demographic_parity_difference,
    multiclass_equalized_odds_difference,
)
from sklfair.nets import TabularNetClassifier
from sklfair.reweighting import ReweighingClassifier, fair_sample_weight

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.SmallGroupWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


# --------------------------------------------------------------------------
# Data and oracles
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compas():
    """COMPAS's risk levels as the target; sex stays a (string) feature."""
    return compas_risk_levels(drop=("age_cat",))


@pytest.fixture(scope="module")
def adult():
    """Adult's education band as the target, without the education columns."""
    bunch = load_adult()
    band = pd.cut(
        bunch.data["education_num"], [0, 8, 12, 16], labels=["<HS", "HS", "degree"]
    )
    X = bunch.data.drop(columns=["education", "education_num"])
    return X, band.astype(str).to_numpy()


def logistic(categorical=("c_charge_degree", "sex")):
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), list(categorical)),
        remainder=StandardScaler(),
    )
    return make_pipeline(encode, LogisticRegression(max_iter=2000))


def gaps_by_hand(y, pred, groups, kind):
    """Spread (max - min over groups) of every event's rate; an undefined
    rate (no row of the conditioning class in the group) counts as 0."""
    classes = np.unique(y)

    def rate(hit, among):
        return np.mean(hit[among]) if among.any() else 0.0

    table = []
    for g in pd.unique(groups):
        yg, pg = y[groups == g], pred[groups == g]
        if kind == "demographic_parity":
            table.append([np.mean(pg == c) for c in classes])
        elif kind == "equal_opportunity":
            table.append([rate(pg == c, yg == c) for c in classes])
        elif kind == "equalized_odds":
            table.append([rate(pg == c, yg == k) for c in classes for k in classes])
        else:
            table.append([np.mean(pg != yg)])
    table = np.array(table)
    return table.max(axis=0) - table.min(axis=0)


# --------------------------------------------------------------------------
# method="threshold" with k classes
# --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("bound", [0.05, 0.02])
def test_threshold_error_rate_parity_leaves_the_plateau_of_three_groups(compas, bound):
    # the plain model's error rates: 0.43 (African-American), 0.28, 0.22; the
    # offsets can lower the first only to 0.41, so the two others must both
    # rise -- a move of either one alone leaves the spread as it is
    X, y = compas
    clf = FairConstrainedClassifier(
        logistic(),
        constraint="error_rate_parity",
        bound=bound,
        method="threshold",
        sensitive_columns="race",
    ).fit(X, y)
    gap = gaps_by_hand(y, clf.predict(X), X["race"].to_numpy(), "error_rate_parity")
    assert gap.max() <= bound
    assert clf.constraint_violation_ == pytest.approx(gap.max() - bound, abs=1e-12)
    assert clf.estimator_.violation_ == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "constraint", ["demographic_parity", "equal_opportunity", "equalized_odds"]
)
def test_threshold_gaps_on_train_and_held_out_rows(compas, constraint):
    X, y = compas
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    clf = FairConstrainedClassifier(
        logistic(),
        constraint=constraint,
        bound=0.05,
        method="threshold",
        sensitive_columns="race",
    ).fit(X_train, y_train)
    train = gaps_by_hand(
        y_train, clf.predict(X_train), X_train["race"].to_numpy(), constraint
    )
    assert train.max() <= 0.05
    assert clf.constraint_violation_ == pytest.approx(train.max() - 0.05, abs=1e-12)
    pred = clf.predict(X_test)
    test = gaps_by_hand(y_test, pred, X_test["race"].to_numpy(), constraint)
    # per-class one-vs-rest rates from fairlearn's MetricFrame agree with the
    # hand computation on the held-out rows
    if constraint == "demographic_parity":
        frame = MetricFrame(
            metrics={c: (lambda t, p, c=c: np.mean(p == c)) for c in clf.classes_},
            y_true=y_test,
            y_pred=pred,
            sensitive_features=X_test["race"],
        )
        np.testing.assert_allclose(frame.difference().to_numpy(), test)
        assert multiclass_demographic_parity_difference(
            y_test, pred, sensitive_features=X_test["race"]
        ) == pytest.approx(test.max())
    if constraint == "equal_opportunity":
        frame = MetricFrame(
            metrics={
                c: (lambda t, p, c=c: true_positive_rate(t == c, p == c))
                for c in clf.classes_
            },
            y_true=y_test,
            y_pred=pred,
            sensitive_features=X_test["race"],
        )
        np.testing.assert_allclose(frame.difference().to_numpy(), test)
    # no margin: the held-out gap is the training gap plus sampling noise
    # (about 0.05 for demographic parity, far more for the recall of 'High'
    # in the 'Other' group's few rows)
    assert test.max() < 0.3


def test_equalized_odds_metric_is_not_the_constraints_gap():
    # the constraint bounds P(pred = c | y = k) for every pair; the metric's
    # one-vs-rest false positive rate mixes the classes y != c in each
    # group's own proportions (documented in the metric's Notes): here every
    # pair's rate is the same in both groups, yet P(pred = a | y != a) is
    # 2/8 in group 0 and 1/8 in group 1
    y = np.array(list("aabbbbcccc") + list("aabbcccccc"))
    pred = np.array(list("aaaabbcccc") + list("aaabcccccc"))
    groups = np.repeat([0, 1], 10)
    pairs = gaps_by_hand(y, pred, groups, "equalized_odds")
    frame = MetricFrame(
        metrics={
            f"{kind} {c}": (lambda t, p, c=c, f=f: f(t == c, p == c))
            for c in "abc"
            for kind, f in (("tpr", true_positive_rate), ("fpr", false_positive_rate))
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
    )
    metric = multiclass_equalized_odds_difference(y, pred, sensitive_features=groups)
    assert pairs.max() == 0
    assert frame.difference()["fpr a"] == pytest.approx(1 / 8)
    assert metric == pytest.approx(frame.difference().max())
    assert metric == pytest.approx(1 / 8)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["lo", "mid", "hi"]),
        np.array([5, 17, 42]),
        np.array([-1, 0, 7]),
        pd.Categorical(["a", "b", "c"]),
    ],
    ids=["strings", "non-contiguous", "negative", "categorical"],
)
def test_threshold_class_labels_of_any_kind(labels):
    X, codes, _ = _synthetic()
    y = np.asarray(labels)[codes]
    reference = FairConstrainedClassifier(
        LogisticRegression(), bound=0.05, method="threshold", sensitive_columns="g"
    ).fit(X, codes)
    clf = FairConstrainedClassifier(
        LogisticRegression(), bound=0.05, method="threshold", sensitive_columns="g"
    ).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    # the codes follow the sorted labels; same order here, same rule
    order = np.argsort(np.asarray(labels))
    if np.array_equal(order, np.arange(3)):
        np.testing.assert_array_equal(
            clf.estimator_.offsets_, reference.estimator_.offsets_
        )
        np.testing.assert_array_equal(
            clf.predict(X), np.asarray(labels)[reference.predict(X)]
        )
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # columns in classes_ order: the most probable column is the prediction
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    gap = gaps_by_hand(y, clf.predict(X), X["g"].to_numpy(), "demographic_parity")
    assert gap.max() <= 0.05


def _synthetic(n=900, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.choice(["f", "m", "x"], n)
    x = rng.normal(size=(n, 2)) + (group == "m")[:, None] * [0.8, -0.3]
    logits = np.column_stack([x[:, 0], x[:, 1], -x[:, 0] - x[:, 1]])
    codes = (logits + rng.gumbel(size=(n, 3))).argmax(axis=1)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "g": group}), codes, group


def test_threshold_is_deterministic_and_pickles():
    X, codes, _ = _synthetic()
    y = np.array(["lo", "mid", "hi"])[codes]

    def fit():
        return FairConstrainedClassifier(
            LogisticRegression(),
            constraint="equalized_odds",
            bound=0.1,
            method="threshold",
            sensitive_columns="g",
        ).fit(X, y)

    first, second = fit(), fit()
    np.testing.assert_array_equal(first.estimator_.offsets_, second.estimator_.offsets_)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    loaded = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(loaded.predict_proba(X), first.predict_proba(X))


def test_threshold_class_absent_from_a_group():
    X, codes, group = _synthetic(1200)
    codes = np.where((group == "f") & (codes == 2), 0, codes)  # no 'c' in 'f'
    y = np.array(["a", "b", "c"])[codes]
    clf = FairConstrainedClassifier(
        LogisticRegression(),
        constraint="equal_opportunity",
        bound=0.05,
        method="threshold",
        sensitive_columns="g",
    )
    with pytest.warns(UndefinedRateWarning, match=r"recall\[2\] of group 'f'"):
        clf.fit(X, y)
    pred = clf.predict(X)
    # the undefined recall of 'c' in 'f' counts as 0, in the claim as here
    gap = gaps_by_hand(y, pred, group, "equal_opportunity")
    assert clf.constraint_violation_ == pytest.approx(gap.max() - 0.05, abs=1e-12)
    assert gap.max() <= 0.05


def test_threshold_integer_sample_weight_is_repeating_rows():
    X, codes, _ = _synthetic()
    weight = np.random.default_rng(1).integers(0, 3, len(codes))
    rows = np.repeat(np.arange(len(codes)), weight)
    y = np.array(["lo", "mid", "hi"])[codes]

    def make():
        return FairConstrainedClassifier(
            LogisticRegression(), bound=0.05, method="threshold", sensitive_columns="g"
        )

    weighted = make().fit(X, y, sample_weight=weight)
    repeated = make().fit(X.iloc[rows], y[rows])
    np.testing.assert_allclose(
        weighted.estimator_.offsets_, repeated.estimator_.offsets_
    )
    assert weighted.constraint_violation_ == pytest.approx(
        repeated.constraint_violation_
    )


def test_fairlearn_reductions_stay_binary():
    # (method="auto" takes the threshold rule on three classes: test_constrained)
    X, codes, _ = _synthetic(300)
    clf = FairConstrainedClassifier(
        LogisticRegression(), method="reductions", sensitive_columns="g"
    )
    with pytest.raises(
        ValueError, match=r"binary.*3 classes.*'lagrangian'.*'threshold'"
    ):
        clf.fit(X, np.array(["lo", "mid", "hi"])[codes])


# --------------------------------------------------------------------------
# The metrics: labels of two kinds are an error, not a silent 0
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metric",
    [multiclass_demographic_parity_difference, multiclass_equalized_odds_difference],
)
def test_metrics_refuse_numbers_against_strings(metric):
    y_true = np.array([0, 1, 2] * 4)
    y_pred = np.array(["0", "1", "2", "0", "1", "2", "2", "2", "2", "0", "0", "1"])
    groups = [0] * 6 + [1] * 6
    with pytest.raises(ValueError, match=r"Mix of label input types.*same kind"):
        metric(y_true, y_pred, sensitive_features=groups)
    with pytest.raises(ValueError, match=r"none of labels=\[0, 1\] occurs"):
        metric(y_pred, y_pred, sensitive_features=groups, labels=[0, 1])


def test_metrics_match_metricframe_with_weights_and_to_overall():
    rng = np.random.default_rng(1)
    n = 2000
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y_true = rng.choice(["x", "y", "z"], n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.choice(["x", "y", "z"], n))
    weight = rng.uniform(0.1, 3, n)
    for method in ("between_groups", "to_overall"):
        dp, eo = [], []
        for c in "xyz":
            t, p = (y_true == c).astype(int), (y_pred == c).astype(int)
            frame = MetricFrame(
                metrics={
                    "sel": lambda t, p, sample_weight: np.average(
                        p, weights=sample_weight
                    )
                },
                y_true=t,
                y_pred=p,
                sensitive_features=groups,
                sample_params={"sel": {"sample_weight": weight}},
            )
            dp.append(frame.difference(method=method)["sel"])
            frame = MetricFrame(
                metrics={"tpr": true_positive_rate, "fpr": false_positive_rate},
                y_true=t,
                y_pred=p,
                sensitive_features=groups,
                sample_params={
                    "tpr": {"sample_weight": weight},
                    "fpr": {"sample_weight": weight},
                },
            )
            eo.append(frame.difference(method=method).max())
        kwargs = dict(sensitive_features=groups, method=method, sample_weight=weight)
        assert multiclass_demographic_parity_difference(
            y_true, y_pred, **kwargs
        ) == pytest.approx(max(dp))
        assert multiclass_equalized_odds_difference(
            y_true, y_pred, **kwargs
        ) == pytest.approx(max(eo))


# --------------------------------------------------------------------------
# Reweighing and the training loop on k classes
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_reweighing_adult_education_band_with_sample_weight(adult):
    X, y = adult
    weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    sex = X["sex"].astype(str).to_numpy()
    weights = np.asarray(fair_sample_weight(y, X["sex"], sample_weight=weight))
    # the formula under the user's weights, then multiplied in
    frame = pd.DataFrame({"g": sex, "y": y, "w": weight})
    total = weight.sum()
    p_g = frame.groupby("g")["w"].sum() / total
    p_y = frame.groupby("y")["w"].sum() / total
    p_gy = frame.groupby(["g", "y"])["w"].sum() / total
    expected = weight * np.array(
        [p_g[g] * p_y[c] / p_gy[(g, c)] for g, c in zip(sex, y, strict=True)]
    )
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    for g in np.unique(sex):
        share = [weights[(sex == g) & (y == c)].sum() for c in np.unique(y)]
        np.testing.assert_allclose(np.array(share) / sum(share), p_y.to_numpy())
    rows = np.random.default_rng(0).choice(len(y), 4000, replace=False)
    categorical = list(X.select_dtypes("category").columns.drop("sex"))
    clf = ReweighingClassifier(logistic(categorical), sensitive_columns="sex")
    clf.fit(X.iloc[rows], y[rows], sample_weight=weight[rows])
    assert list(clf.classes_) == ["<HS", "HS", "degree"]
    proba = clf.predict_proba(X.iloc[rows[:100]])
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def _net():
    torch.set_num_threads(1)
    return make_pipeline(
        compas_encoder(["c_charge_degree", "sex"]),
        TabularNetClassifier(
            hidden_units=(16,), max_epochs=8, batch_size=256, lr=1e-2, random_state=0
        ),
    )


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")
@pytest.mark.parametrize("method", ["lagrangian", "adversarial"])
def test_training_loop_labels_of_any_kind_give_the_same_net(compas, method):
    X, y = compas
    codes = np.searchsorted(np.unique(y), y)
    fits = {}
    for name, labels in {
        "strings": y,
        "non-contiguous": np.array([5, 17, 42])[codes],
        "categorical": pd.Categorical(y),
    }.items():
        clf = FairConstrainedClassifier(
            _net(),
            constraint="equalized_odds",
            bound=0.05,
            method=method,
            sensitive_columns="race",
            random_state=0,
            confidence=0.5,
        ).fit(X, labels)
        pred = clf.predict(X)
        gap = gaps_by_hand(
            np.asarray(labels), np.asarray(pred), X["race"].to_numpy(), "equalized_odds"
        )
        # the claim is the per-pair gap, by hand
        assert clf.constraint_violation_ == pytest.approx(gap.max() - 0.05, abs=1e-9)
        fits[name] = (np.searchsorted(clf.classes_, pred), clf.predict_proba(X))
    for name in ("non-contiguous", "categorical"):
        np.testing.assert_array_equal(fits[name][0], fits["strings"][0])
        np.testing.assert_allclose(fits[name][1], fits["strings"][1])
