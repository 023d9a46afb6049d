"""Group fairness metrics against fairlearn's values and hand computations."""

import warnings

import fairlearn.metrics as fm
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score

from sklfair.exceptions import ContinuousSensitiveAttributeWarning, UndefinedRateWarning
from sklfair.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    group_metrics,
    mean_absolute_error_difference,
    mean_prediction_difference,
    multiclass_demographic_parity_difference,
    multiclass_equalized_odds_difference,
)

PAIRS = [
    (demographic_parity_difference, fm.demographic_parity_difference),
    (demographic_parity_ratio, fm.demographic_parity_ratio),
    (equalized_odds_difference, fm.equalized_odds_difference),
    (equalized_odds_ratio, fm.equalized_odds_ratio),
    (equal_opportunity_difference, fm.equal_opportunity_difference),
    (equal_opportunity_ratio, fm.equal_opportunity_ratio),
]


@st.composite
def binary_cases(draw):
    n = draw(st.integers(4, 40))
    y_true = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    n_groups = draw(st.integers(2, 4))
    groups = draw(
        st.lists(st.sampled_from("abcd"[:n_groups]), min_size=n, max_size=n).filter(
            lambda g: len(set(g)) >= 2
        )
    )
    weights = draw(
        st.one_of(
            st.none(),
            st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n),
        )
    )
    method = draw(st.sampled_from(["between_groups", "to_overall"]))
    return np.array(y_true), np.array(y_pred), groups, weights, method


def _has_an_undefined_rate(name, y_true, groups):
    """Whether a group lacks the positives (or negatives) a rate of ``name`` needs."""
    labels = {"equalized_odds": {0, 1}, "equal_opportunity": {1}}.get(
        name.rsplit("_", 1)[0], set()
    )
    frame = pd.DataFrame({"group": groups, "y": y_true})
    present = frame.groupby("group")["y"].agg(set)
    return any(not labels <= seen for seen in present)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=lambda f: f.__name__)
@settings(max_examples=25, deadline=None)
@given(case=binary_cases())
def test_equals_fairlearn(ours, theirs, case):
    # fairlearn counts an undefined rate as 0; ours too, and says so
    y_true, y_pred, groups, weights, method = case
    kwargs = {"sensitive_features": groups, "method": method, "sample_weight": weights}
    expected = theirs(y_true, y_pred, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = ours(y_true, y_pred, **kwargs)
    np.testing.assert_allclose(value, expected)
    warned = [w for w in caught if issubclass(w.category, UndefinedRateWarning)]
    assert len(caught) == len(warned)
    assert len(warned) == int(_has_an_undefined_rate(ours.__name__, y_true, groups))


@pytest.mark.parametrize("agg", ["worst_case", "mean"])
def test_equalized_odds_agg_equals_fairlearn(agg):
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    groups = rng.choice(["x", "y", "z"], 200)
    for ours, theirs in PAIRS[2:4]:
        assert ours(y_true, y_pred, sensitive_features=groups, agg=agg) == (
            pytest.approx(theirs(y_true, y_pred, sensitive_features=groups, agg=agg))
        )


def test_hand_computed_rates():
    # group a: y_true 1 1 0 0, y_pred 1 0 1 0 -> sel 1/2, tpr 1/2, fpr 1/2
    # group b: y_true 1 1 0 0, y_pred 1 1 0 0 -> sel 1/2, tpr 1,   fpr 0
    y_true = [1, 1, 0, 0, 1, 1, 0, 0]
    y_pred = [1, 0, 1, 0, 1, 1, 0, 0]
    group = ["a"] * 4 + ["b"] * 4
    kw = {"sensitive_features": group}
    assert demographic_parity_difference(y_true, y_pred, **kw) == 0.0
    assert demographic_parity_ratio(y_true, y_pred, **kw) == 1.0
    assert equal_opportunity_difference(y_true, y_pred, **kw) == 0.5
    assert equal_opportunity_ratio(y_true, y_pred, **kw) == 0.5
    assert equalized_odds_difference(y_true, y_pred, **kw) == 0.5
    assert equalized_odds_ratio(y_true, y_pred, **kw) == 0.0


def test_dataframe_groups_are_intersectional():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 2, 120), rng.integers(0, 2, 120)
    A = pd.DataFrame(
        {"sex": rng.choice(["f", "m"], 120), "age": rng.choice(["<25", ">=25"], 120)}
    )
    expected = fm.demographic_parity_difference(y_true, y_pred, sensitive_features=A)
    assert demographic_parity_difference(
        y_true, y_pred, sensitive_features=A
    ) == pytest.approx(expected)


def test_pos_label_compares_to_the_label():
    rng = np.random.default_rng(2)
    y_true01, y_pred01 = rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    names = np.array(["bad", "good"])
    groups = rng.choice(["f", "m"], 100)
    for ours, theirs in PAIRS:
        got = ours(
            names[y_true01],
            names[y_pred01],
            sensitive_features=groups,
            pos_label="good",
        )
        assert got == pytest.approx(
            theirs(y_true01, y_pred01, sensitive_features=groups)
        )


def test_pandas_inputs_with_shifted_index():
    y_true = pd.Series([1, 0, 1, 0, 1, 1], index=range(10, 16))
    y_pred = np.array([1, 1, 0, 0, 1, 0])
    groups = pd.Series(["a", "a", "a", "b", "b", "b"], index=range(6))
    # a: selection 2/3, b: 1/3
    assert demographic_parity_difference(
        y_true, y_pred, sensitive_features=groups
    ) == pytest.approx(1 / 3)


@pytest.mark.parametrize("func", [p[0] for p in PAIRS], ids=lambda f: f.__name__)
def test_multiclass_labels_are_refused(func):
    with pytest.raises(ValueError, match="binary labels, got 3 classes.*multiclass_"):
        func([0, 1, 2, 1], [0, 1, 2, 2], sensitive_features=["a", "a", "b", "b"])


@pytest.mark.parametrize("func", [p[0] for p in PAIRS], ids=lambda f: f.__name__)
def test_continuous_values_are_refused(func):
    with pytest.raises(ValueError, match="continuous.*mean_prediction_difference"):
        func(
            [0, 1, 0, 1], [0.2, 0.7, 0.1, 0.9], sensitive_features=["a", "a", "b", "b"]
        )


def test_labels_that_need_pos_label():
    with pytest.raises(ValueError, match="pass pos_label="):
        demographic_parity_difference(
            ["no", "yes"] * 2,
            ["yes", "yes", "no", "no"],
            sensitive_features=[0, 0, 1, 1],
        )
    with pytest.raises(ValueError, match="pos_label='maybe' is not one of"):
        demographic_parity_difference(
            ["no", "yes"] * 2,
            ["yes", "yes", "no", "no"],
            sensitive_features=[0, 0, 1, 1],
            pos_label="maybe",
        )


@pytest.mark.parametrize(
    "groups, match",
    [
        (["a", "b", "a"], "has 3 rows, but X has 4"),
        (["a", None, "b", "b"], "missing value"),
        (["a", "a", "a", "a"], "only 1 group"),
        (None, "sensitive_features is required"),
    ],
)
def test_bad_sensitive_features(groups, match):
    with pytest.raises(ValueError, match=match):
        demographic_parity_difference(
            [0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=groups
        )


def test_continuous_sensitive_feature_is_binned_with_the_policy_warning():
    rng = np.random.default_rng(0)
    age = rng.integers(18, 80, 300)
    y_pred = rng.integers(0, 2, 300)
    with pytest.warns(ContinuousSensitiveAttributeWarning, match="4 quantile bins"):
        gap = demographic_parity_difference(y_pred, y_pred, sensitive_features=age)
    quartile = np.searchsorted(
        np.quantile(age, [0.25, 0.5, 0.75], method="inverted_cdf"), age
    )
    rates = [y_pred[quartile == q].mean() for q in range(4)]
    assert gap == pytest.approx(max(rates) - min(rates))


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        demographic_parity_difference([0, 1, 0], [0, 1], sensitive_features=[0, 1])


def test_bad_method_is_fairleans_error():
    with pytest.raises(ValueError, match="method"):
        demographic_parity_difference(
            [0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=[0, 0, 1, 1], method="x"
        )


def test_multiclass_demographic_parity_by_hand():
    y_pred = ["a", "b", "c", "a", "a", "c"]
    group = [0, 0, 0, 1, 1, 1]
    # class a: 1/3 vs 2/3 -> 1/3; class b: 1/3 vs 0 -> 1/3; class c: 1/3 vs 1/3 -> 0
    got = multiclass_demographic_parity_difference(
        y_pred, y_pred, sensitive_features=group
    )
    assert got == pytest.approx(1 / 3)
    # restricting to class c gives its gap only
    assert multiclass_demographic_parity_difference(
        y_pred, y_pred, sensitive_features=group, labels=["c"]
    ) == pytest.approx(0.0)


def test_multiclass_equalized_odds_by_hand():
    y_true = ["a", "b", "c", "a", "b", "c", "a", "b"]
    y_pred = ["a", "b", "c", "a", "c", "c", "b", "b"]
    group = [0, 0, 0, 0, 1, 1, 1, 1]
    # group 0 is perfect. Group 1: class a: tpr 0 (one a, predicted b), fpr 0
    # -> gap 1. The worst class gives 1.
    assert multiclass_equalized_odds_difference(
        y_true, y_pred, sensitive_features=group
    ) == pytest.approx(1.0)
    # one-vs-rest for class "b" by hand: y==b -> tpr g0 1, g1 1/2; fpr g0 0,
    # g1 1/2 -> 0.5
    yt = (np.array(y_true) == "b").astype(int)
    yp = (np.array(y_pred) == "b").astype(int)
    assert fm.equalized_odds_difference(yt, yp, sensitive_features=group) == 0.5


def _both_classes_in_each_group(case):
    y_true, _, groups, _, _ = case
    frame = pd.DataFrame({"y": y_true, "g": groups})
    return bool((frame.groupby("g")["y"].nunique() == 2).all())


@settings(max_examples=25, deadline=None)
@given(case=binary_cases().filter(_both_classes_in_each_group))
def test_multiclass_variants_equal_binary_on_binary_labels(case):
    # Each group needs both classes: fairlearn counts a rate with an empty
    # denominator as 0, which breaks the symmetry between the two classes.
    y_true, y_pred, groups, weights, _ = case
    kw = {"sensitive_features": groups, "sample_weight": weights}
    assert multiclass_demographic_parity_difference(
        y_true, y_pred, **kw
    ) == pytest.approx(demographic_parity_difference(y_true, y_pred, **kw))
    assert multiclass_equalized_odds_difference(y_true, y_pred, **kw) == pytest.approx(
        equalized_odds_difference(y_true, y_pred, **kw)
    )


def test_multiclass_refuses_continuous():
    with pytest.raises(ValueError, match="continuous"):
        multiclass_demographic_parity_difference(
            [0, 1, 2, 3], [0.5, 1.5, 2.5, 3.5], sensitive_features=[0, 0, 1, 1]
        )


def test_regression_variants_by_hand():
    y_true = [1.0, 2.0, 3.0, 4.0, 5.0]
    y_pred = [1.5, 2.0, 2.0, 6.0, 5.0]
    group = ["a", "a", "a", "b", "b"]
    # means: a 5.5/3, b 5.5 -> gap 11/3; MAE: a (0.5+0+1)/3 = 0.5, b (2+0)/2 = 1
    assert mean_prediction_difference(
        y_true, y_pred, sensitive_features=group
    ) == pytest.approx(5.5 - 5.5 / 3)
    assert mean_absolute_error_difference(
        y_true, y_pred, sensitive_features=group
    ) == pytest.approx(0.5)
    # weighted: group a weights 1, 1, 2 -> mean (1.5 + 2 + 4) / 4 = 1.875
    w = [1, 1, 2, 1, 1]
    assert mean_prediction_difference(
        y_true, y_pred, sensitive_features=group, sample_weight=w
    ) == pytest.approx(5.5 - 1.875)
    # to_overall: overall mean 16.5 / 5 = 3.3; gaps 3.3 - 1.8333 and 2.2
    assert mean_prediction_difference(
        y_true, y_pred, sensitive_features=group, method="to_overall"
    ) == pytest.approx(2.2)


def test_group_metrics_equals_metric_frame():
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.integers(0, 2, 150), rng.integers(0, 2, 150)
    groups = rng.choice(["f", "m", "x"], 150)
    table = group_metrics(y_true, y_pred, sensitive_features=groups)
    frame = MetricFrame(
        metrics={
            "count": fm.count,
            "selection_rate": fm.selection_rate,
            "true_positive_rate": fm.true_positive_rate,
            "false_positive_rate": fm.false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    assert table.index.name == "group"
    assert table["count"].dtype == np.int64
    pd.testing.assert_frame_equal(
        table.astype(float), frame.by_group.astype(float), check_names=False
    )


def _largest_true_value(y_true, y_pred):
    return float(np.max(y_true))


def test_group_metrics_custom_and_weighted():
    table = group_metrics(
        [1.0, 2.0, 3.0, 5.0],
        [1.0, 1.0, 4.0, 4.0],
        sensitive_features=["a", "a", "b", "b"],
        metrics={"mae": "mean_absolute_error", "top": _largest_true_value},
        sample_weight=[1, 3, 1, 1],
    )
    # weighted MAE of a: (0 * 1 + 1 * 3) / 4; of b: 1
    assert table.loc["a", "mae"] == pytest.approx(0.75)
    assert table.loc["b", "mae"] == pytest.approx(1.0)
    assert table["top"].tolist() == [2.0, 5.0]


def test_group_metrics_errors():
    with pytest.raises(ValueError, match="Unknown metric 'precision'"):
        group_metrics(
            [0, 1], [0, 1], sensitive_features=["a", "b"], metrics=["precision"]
        )
    with pytest.raises(ValueError, match="needs scores"):
        group_metrics(
            [0, 1], [0, 1], sensitive_features=["a", "b"], metrics=["roc_auc"]
        )
    with pytest.raises(TypeError, match="metric name or a callable"):
        group_metrics([0, 1], [0, 1], sensitive_features=["a", "b"], metrics=[3])
