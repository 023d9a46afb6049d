"""An independent check of the continuous-attribute capability, on real data:
the dependence measures against a hand-written Gram-matrix HSIC and scipy, their
invariances, their errors, the quantile bins with ties, the policy's warning,
and a dependence-constrained fit measured on held-out rows."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair._sensitive import check_sensitive_features
from sklfair.constrained import FairConstrainedClassifier
from sklfair.constraints import Independence
from sklfair.datasets import load_adult, load_german_credit, load_taiwan_credit
from sklfair.exceptions import (
    ContinuousSensitiveAttributeWarning,
    SensitiveAttributeError,
)
from sklfair.metrics import (
    bin_sensitive_features,
    hgr_correlation,
    hsic_dependence,
    mean_prediction_slope,
    prediction_correlation,
)
from sklfair.nets import TabularNetClassifier

MEASURES = [
    hsic_dependence,
    hgr_correlation,
    prediction_correlation,
    mean_prediction_slope,
]


def hand_hsic(prediction, attribute, bandwidth=0.25):
    """Normalised HSIC written out: linear kernel on the prediction, Gaussian
    kernel on the attribute's mid-ranks (scipy's rankdata), centred Gram
    matrices."""
    n = len(attribute)
    ranks = (stats.rankdata(attribute) - 0.5) / n
    D = np.asarray(prediction, dtype=float).reshape(n, -1)
    K = D @ D.T
    L = np.exp(-((ranks[:, None] - ranks[None, :]) ** 2) / (2 * bandwidth**2))
    H = np.eye(n) - 1.0 / n
    Kc, Lc = H @ K @ H, H @ L @ H
    return np.sum(Kc * Lc) / np.sqrt(np.sum(Kc**2) * np.sum(Lc**2))


@pytest.fixture(scope="module")
def taiwan_sample():
    data = load_taiwan_credit()
    rows = np.random.default_rng(0).choice(len(data.data), 400, replace=False)
    frame = data.data.iloc[rows]
    return (
        frame["age"].to_numpy(dtype=float),
        frame["limit_bal"].to_numpy(dtype=float),
        np.asarray(data.target)[rows],
    )


@pytest.mark.slow
def test_hsic_by_hand_on_taiwan(taiwan_sample):
    age, limit, default = taiwan_sample
    for prediction, attribute in [
        (default, age),
        (default, limit),
        (limit / 1e5, age),
        # a float attribute's whole values are numbers, not class labels
        (limit, age),
        (age, limit),
    ]:
        assert hsic_dependence(
            prediction, sensitive_features=attribute
        ) == pytest.approx(hand_hsic(prediction, attribute), rel=1e-9)


@pytest.mark.slow
def test_whole_valued_floats_are_numbers(taiwan_sample):
    age, limit, _ = taiwan_sample  # LIMIT_BAL: whole numbers, stored as floats
    assert prediction_correlation(limit, sensitive_features=age) == pytest.approx(
        stats.pearsonr(limit, age).statistic
    )
    assert prediction_correlation(
        limit, sensitive_features=age, method="spearman"
    ) == pytest.approx(stats.spearmanr(limit, age).statistic)
    assert mean_prediction_slope(limit, sensitive_features=age) == pytest.approx(
        stats.linregress(age, limit).slope
    )
    # integers with many values stay class labels, with a way out in the message
    with pytest.raises(ValueError, match="pass numbers as floats"):
        prediction_correlation(limit.astype(int), sensitive_features=age)


def test_boolean_decisions_are_zero_one_decisions():
    age = np.arange(20, 60.0)
    approved = age > 40
    for measure in (prediction_correlation, mean_prediction_slope):
        assert measure(approved, sensitive_features=age) == pytest.approx(
            measure(approved.astype(int), sensitive_features=age)
        )
    assert mean_prediction_slope(approved, sensitive_features=age) == pytest.approx(
        stats.linregress(age, approved.astype(float)).slope
    )


@pytest.mark.slow
def test_invariances_on_taiwan(taiwan_sample):
    age, limit, default = taiwan_sample
    rho = prediction_correlation(limit, sensitive_features=age, method="spearman")
    hsic = hsic_dependence(default, sensitive_features=age)
    for increasing in (np.log, lambda a: 12 * a + 3, lambda a: a**3):
        transformed = increasing(age)
        assert prediction_correlation(
            limit, sensitive_features=transformed, method="spearman"
        ) == pytest.approx(rho)
        assert hsic_dependence(
            default, sensitive_features=transformed
        ) == pytest.approx(hsic)
    assert prediction_correlation(
        limit, sensitive_features=-age, method="spearman"
    ) == pytest.approx(-rho)
    assert hsic_dependence(default, sensitive_features=-age) == pytest.approx(hsic)
    # the prediction's scale and offset do not matter either
    assert hsic_dependence(3 * limit + 7, sensitive_features=age) == pytest.approx(
        hsic_dependence(limit, sensitive_features=age)
    )
    slope = mean_prediction_slope(limit, sensitive_features=age)
    assert mean_prediction_slope(
        limit, sensitive_features=12 * age, per=12
    ) == pytest.approx(slope)


@pytest.mark.slow
def test_known_values_on_taiwan(taiwan_sample):
    age, limit, _ = taiwan_sample
    shuffled = np.random.default_rng(1).permutation(limit)
    assert hsic_dependence(shuffled, sensitive_features=age) < 0.01
    assert abs(prediction_correlation(shuffled, sensitive_features=age)) < 0.1
    assert hgr_correlation(age, sensitive_features=age) == pytest.approx(1.0)
    assert prediction_correlation(
        np.exp(age / 10), sensitive_features=age, method="spearman"
    ) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("measure", MEASURES)
def test_missing_or_infinite_predictions_are_refused(measure, bad):
    prediction = np.linspace(0.01, 0.99, 40)
    prediction[3] = bad
    with pytest.raises(ValueError, match="y_pred has missing"):
        measure(prediction, sensitive_features=np.arange(20, 60))


@pytest.mark.parametrize("measure", MEASURES)
def test_missing_labels_are_refused(measure):
    labels = np.array([0, None, 1, 0], dtype=object)
    with pytest.raises(ValueError, match="y_pred has missing"):
        measure(labels, sensitive_features=[20, 30, 40, 50])


@pytest.mark.parametrize("measure", MEASURES)
def test_one_attribute_value_of_positive_weight_is_refused(measure):
    # unweighted, a single value is refused; the same rows given by weights too
    with pytest.raises(ValueError, match="single value among the rows of positive"):
        measure(
            [0.1, 0.2, 0.3, 0.5],
            sensitive_features=[20, 20, 40, 50],
            sample_weight=[1, 1, 0, 0],
        )


def test_quantile_bins_with_ties_on_german_age():
    age = load_german_credit().data["age"]  # 1000 rows, 53 ages, many ties
    for q in (2, 3, 4, 5, 10):
        counts = bin_sensitive_features(age, q).value_counts(sort=False)
        expected = pd.qcut(age, q).value_counts(sort=False)
        assert counts.tolist() == expected.tolist()
        # right-closed: every row of a tied age is in the same bin
        binned = bin_sensitive_features(age, q)
        assert (binned.groupby(age, observed=True).nunique() == 1).all()


def test_quantile_bins_when_most_rows_share_the_maximum():
    score = pd.Series(np.r_[np.arange(20, 45), np.full(200, 60)], name="score")
    binned = bin_sensitive_features(score, 4)
    assert binned.value_counts(sort=False).to_dict() == {"<=44": 25, ">44": 200}
    # the policy's automatic bins: a warning naming them, not an error
    with pytest.warns(ContinuousSensitiveAttributeWarning, match=r"'<=44', '>44'"):
        groups = check_sensitive_features(score)
    assert groups.nunique() == 2
    assert check_sensitive_features(score, bins=4).nunique() == 2


@pytest.mark.parametrize("bins", [4.0, 2.5, True, np.float64(3)])
def test_a_scalar_that_is_not_a_count_is_refused(bins):
    age = load_german_credit().data["age"]
    with pytest.raises(SensitiveAttributeError, match="number of quantile bins"):
        bin_sensitive_features(age, bins)
    with pytest.raises(SensitiveAttributeError, match="number of quantile bins"):
        check_sensitive_features(age, bins={"age": bins})


def test_one_cut_point_in_a_list_is_fine():
    age = load_german_credit().data["age"]
    binned = bin_sensitive_features(age, [25.0])
    assert binned.value_counts(sort=False).tolist() == [
        int((age <= 25).sum()),
        int((age > 25).sum()),
    ]


@pytest.mark.slow
def test_dependence_constraint_generalises_on_adult():
    torch.set_num_threads(1)
    data = load_adult()
    X = data.data.drop(columns=["sex", "age_band"])
    y = np.asarray(data.target)
    rows = np.random.default_rng(0).choice(len(X), 8000, replace=False)
    X, y = X.iloc[rows].reset_index(drop=True), y[rows]
    X_train, X_test, y_train, _ = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )

    def net():
        encode = make_column_transformer(
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_exclude="number"),
            ),
            remainder=StandardScaler(),
        )
        return make_pipeline(
            encode,
            TabularNetClassifier(
                hidden_units=(16,),
                max_epochs=20,
                batch_size=128,
                lr=1e-2,
                random_state=0,
            ),
        )

    free = net().fit(X_train, y_train)
    before = hsic_dependence(free.predict(X_test), sensitive_features=X_test["age"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fair = FairConstrainedClassifier(
            net(), constraint=Independence(bound=0.3 * before), sensitive_columns="age"
        ).fit(X_train, y_train)
    after = hsic_dependence(fair.predict(X_test), sensitive_features=X_test["age"])
    assert after < 0.6 * before
    assert hgr_correlation(
        fair.predict(X_test), sensitive_features=X_test["age"]
    ) < hgr_correlation(free.predict(X_test), sensitive_features=X_test["age"])
