"""Average differences against hand computations and fairlearn's MetricFrame."""

import math
import warnings
from itertools import combinations

import fairlearn.metrics as fm
import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from hypothesis import given, settings
from hypothesis import strategies as st

from sklfair.exceptions import UndefinedRateWarning
from sklfair.metrics import (
    average_absolute_difference,
    average_difference,
    average_relative_difference,
)

# selection rates: a 1, b 2/3, c 0; overall 5/9
Y_PRED = [1, 1, 1, 1, 0, 1, 0, 0, 0]
GROUPS = ["a", "a", "a", "b", "b", "b", "c", "c", "c"]


def test_hand_computed_selection_rate():
    kw = {"sensitive_features": GROUPS}
    pairwise = (abs(1 - 2 / 3) + abs(1 - 0) + abs(2 / 3 - 0)) / 3
    deviation = (abs(1 - 5 / 9) + abs(2 / 3 - 5 / 9) + abs(0 - 5 / 9)) / 3
    assert average_difference("selection_rate", Y_PRED, Y_PRED, **kw) == (
        pytest.approx(pairwise)
    )
    assert average_absolute_difference("selection_rate", Y_PRED, Y_PRED, **kw) == (
        pytest.approx(deviation)
    )
    assert average_relative_difference("selection_rate", Y_PRED, Y_PRED, **kw) == (
        pytest.approx(deviation / (5 / 9))
    )


def test_groups_count_once_whatever_their_size():
    # group a has 1 row (rate 1), group b 4 rows (rate 0): overall 1/5
    y = [1, 0, 0, 0, 0]
    g = ["a", "b", "b", "b", "b"]
    assert average_absolute_difference(
        "selection_rate", y, y, sensitive_features=g
    ) == pytest.approx((0.8 + 0.2) / 2)


def test_weighted_callable_metric():
    def weighted_mean_error(y_true, y_pred, sample_weight=None):
        return float(
            np.average(np.abs(np.subtract(y_true, y_pred)), weights=sample_weight)
        )

    y_true = [0.0, 0.0, 0.0, 0.0]
    y_pred = [1.0, 3.0, 2.0, 2.0]
    w = [3, 1, 1, 1]
    g = ["a", "a", "b", "b"]
    # a: (3 + 3) / 4 = 1.5; b: 2; overall: (3 + 3 + 2 + 2) / 6 = 10 / 6
    got = average_absolute_difference(
        weighted_mean_error, y_true, y_pred, sensitive_features=g, sample_weight=w
    )
    assert got == pytest.approx((abs(1.5 - 10 / 6) + abs(2 - 10 / 6)) / 2)
    assert average_difference(
        weighted_mean_error, y_true, y_pred, sensitive_features=g, sample_weight=w
    ) == pytest.approx(0.5)


def test_relative_difference_with_zero_overall():
    g = ["a", "a", "b", "b"]
    zero = [0.0, 0.0, 0.0, 0.0]
    assert (
        average_relative_difference("mean_prediction", zero, zero, sensitive_features=g)
        == 0.0
    )
    # group means +1 and -1 around an overall mean of 0
    assert math.isinf(
        average_relative_difference(
            "mean_prediction", zero, [1.0, 1.0, -1.0, -1.0], sensitive_features=g
        )
    )


def test_undefined_group_value_gives_nan():
    # group b holds one class only: its AUC is undefined
    y_true = [0, 1, 0, 1, 1, 1]
    scores = [0.1, 0.9, 0.4, 0.3, 0.8, 0.7]
    g = ["a"] * 4 + ["b"] * 2
    assert math.isnan(
        average_difference("roc_auc", y_true, scores, sensitive_features=g)
    )


def test_label_metrics_need_pos_label_for_strings():
    y = np.array(["no", "yes", "yes", "no"])
    with pytest.raises(ValueError, match="pos_label"):
        average_difference("selection_rate", y, y, sensitive_features=[0, 0, 1, 1])
    assert average_difference(
        "selection_rate", y, y, sensitive_features=[0, 0, 1, 1], pos_label="yes"
    ) == pytest.approx(0.0)


def test_unknown_metric():
    with pytest.raises(ValueError, match="Unknown metric 'f1'"):
        average_difference("f1", [0, 1], [0, 1], sensitive_features=["a", "b"])


@st.composite
def cases(draw):
    n = draw(st.integers(6, 40))
    y_true = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    groups = draw(
        st.lists(st.sampled_from("abcd"), min_size=n, max_size=n).filter(
            lambda g: len(set(g)) >= 2
        )
    )
    metric = draw(st.sampled_from(["selection_rate", "true_positive_rate", "accuracy"]))
    return np.array(y_true), np.array(y_pred), groups, metric


@settings(max_examples=30, deadline=None)
@given(case=cases())
def test_definitions_against_metric_frame(case):
    y_true, y_pred, groups, metric = case
    func = {
        "selection_rate": fm.selection_rate,
        "true_positive_rate": fm.true_positive_rate,
        "accuracy": lambda t, p: float(np.mean(np.asarray(t) == np.asarray(p))),
    }[metric]
    frame = MetricFrame(
        metrics=func, y_true=y_true, y_pred=y_pred, sensitive_features=groups
    )
    values = frame.by_group.to_numpy(dtype=float)
    overall = float(frame.overall)
    pairs = [abs(a - b) for a, b in combinations(values, 2)]
    kw = {"sensitive_features": groups}
    # a group without positives has no true positive rate: it counts as 0
    undefined = metric == "true_positive_rate" and any(
        not np.any(y_true[np.asarray(groups) == g] == 1) for g in set(groups)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = average_difference(metric, y_true, y_pred, **kw)
    assert value == pytest.approx(np.mean(pairs))
    assert [w.category for w in caught] == [UndefinedRateWarning] * undefined
    with warnings.catch_warnings():  # the values, once it has warned
        warnings.simplefilter("ignore", UndefinedRateWarning)
        assert average_absolute_difference(
            metric, y_true, y_pred, **kw
        ) == pytest.approx(np.mean(np.abs(values - overall)))
        # the mean pairwise gap never exceeds the largest gap, equals it for 2 groups
        assert (
            average_difference(metric, y_true, y_pred, **kw)
            <= frame.difference() + 1e-12
        )
        if len(values) == 2:
            assert average_difference(metric, y_true, y_pred, **kw) == pytest.approx(
                frame.difference()
            )
