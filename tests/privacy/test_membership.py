"""Membership inference: the attacks against models that do and do not leak."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from sklfair.datasets import load_german_credit
from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD, membership_inference

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_model_that_saw_none_of_the_rows_gives_nothing_away():
    X, y = make_classification(n_samples=3000, n_features=8, flip_y=0.1, random_state=0)
    model = LogisticRegression().fit(X[2000:], y[2000:])
    result = membership_inference(
        model, X[:1000], y[:1000], X[1000:2000], y[1000:2000], random_state=0
    )
    assert list(result.overall.index) == ["loss", "calibrated"]
    for attack in ("loss", "calibrated"):
        row = result.overall.loc[attack]
        assert abs(row["auc"] - 0.5) < 0.04
        assert row["advantage"] < 0.08  # the KS 95% level: 1.36 * sqrt(2 / 1000)
        assert row["p_value"] > 0.01


@pytest.mark.parametrize("seed", [0, 1])
def test_the_calibrated_attack_finds_no_leak_in_a_model_that_saw_no_row(seed):
    """Members and non-members each get one reference loss per pair of
    references: a member's reference loss averaged over more models would
    have a smaller spread, and that alone separated the rows (advantage
    0.10-0.18, p < 1e-10, for these high-variance trees)."""
    X, y = make_classification(n_samples=6000, n_features=8, flip_y=0.2, random_state=0)
    model = DecisionTreeClassifier(min_samples_leaf=20, random_state=0)
    model.fit(X[4000:], y[4000:])
    result = membership_inference(
        model, X[:2000], y[:2000], X[2000:4000], y[2000:4000], random_state=seed
    )
    row = result.overall.loc["calibrated"]
    assert row["advantage"] < 0.06  # the KS 95% level: 1.36 * sqrt(2 / 2000) = 0.043
    assert row["p_value"] > 0.01
    assert abs(row["auc"] - 0.5) < 0.03


def test_auc_and_advantage_against_scipy():
    """AUC is the Mann-Whitney U over n_in * n_out; the advantage is the
    one-sided two-sample KS statistic; the loss attack's score is -loss."""
    X, y = make_regression(n_samples=300, n_features=3, noise=10, random_state=0)
    model = LinearRegression().fit(X[:100], y[:100])
    result = membership_inference(
        model, X[:100], y[:100], X[100:], y[100:], n_references=0
    )
    score = result.scores["loss"]
    np.testing.assert_allclose(score, -((model.predict(X) - y) ** 2))
    members, others = score[:100], score[100:]
    u = stats.mannwhitneyu(members, others).statistic
    ks = stats.ks_2samp(others, members, alternative="greater").statistic
    row = result.overall.loc["loss"]
    assert row["auc"] == pytest.approx(u / (100 * 200))
    assert row["advantage"] == pytest.approx(ks)
    assert (row["n_members"], row["n_non_members"]) == (100, 200)
    assert result.auc == row["auc"] and result.advantage == row["advantage"]


def test_groups_given_as_a_pair_or_one_array():
    X, y = make_classification(n_samples=400, random_state=0)
    groups = np.where(X[:, 0] > 0, "a", "b")
    groups[250:] = np.where(groups[250:] == "b", "c", groups[250:])  # c: out only
    model = LogisticRegression().fit(X[:200], y[:200])
    args = (model, X[:200], y[:200], X[200:], y[200:])
    pair = membership_inference(
        *args, sensitive_features=(groups[:200], groups[200:]), random_state=0
    )
    joined = membership_inference(*args, sensitive_features=groups, random_state=0)
    pd.testing.assert_frame_equal(pair.by_group, joined.by_group)
    assert pair.by_group.loc[("loss", "c"), "n_members"] == 0
    assert np.isnan(pair.by_group.loc[("loss", "c"), "auc"])
    assert pair.to_frame().shape == (2 + 2 * 3, 5)
    by_half = joined.for_groups(np.r_[np.zeros(200), np.ones(200)] > 0)
    assert by_half["n_members"].tolist() == [200, 0, 200, 0]


def test_a_classifier_without_probabilities_is_attacked_by_its_errors():
    X, y = make_classification(n_samples=200, random_state=0)
    model = LinearSVC().fit(X[:100], y[:100])
    result = membership_inference(model, X[:100], y[:100], X[100:], y[100:])
    assert set(np.unique(result.scores["loss"])) <= {0.0, -1.0}


@pytest.mark.parametrize(
    "kwargs, match", [({"n_references": 3}, "even"), ({"y_out": [0, 1]}, "y_out")]
)
def test_bad_arguments(kwargs, match):
    X, y = make_classification(n_samples=100, random_state=0)
    model = LogisticRegression().fit(X[:50], y[:50])
    args = {"X_train": X[:50], "y_train": y[:50], "X_out": X[50:], "y_out": y[50:]}
    with pytest.raises(ValueError, match=match):
        membership_inference(model, **{**args, **kwargs})


@pytest.mark.slow
def test_an_overfitted_net_leaks_on_german_credit_and_a_private_one_less():
    bunch = load_german_credit()
    X, y, sex = bunch.data, bunch.target, bunch.sensitive["sex"]
    X_in, X_out, y_in, y_out, sex_in, sex_out = train_test_split(
        X, y, sex, test_size=0.5, random_state=0, stratify=y
    )
    categorical = X.select_dtypes("category").columns

    def model(**params):
        encode = make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical),
            remainder=StandardScaler(),
        )
        net = TabularNetClassifier(hidden_units=(64, 64), random_state=0, **params)
        return make_pipeline(encode, net).fit(X_in, y_in)

    args = (X_in, y_in, X_out, y_out)
    overfit = model(max_epochs=60, lr=1e-2)
    leak = membership_inference(
        overfit, *args, sensitive_features=(sex_in, sex_out), random_state=0
    )
    for attack in ("loss", "calibrated"):
        assert leak.overall.loc[attack, "auc"] > 0.6
        assert leak.overall.loc[attack, "advantage"] > 0.2
        assert leak.overall.loc[attack, "p_value"] < 1e-6
    assert set(leak.by_group.index.get_level_values("group")) == {"female", "male"}

    private = model(max_epochs=10, lr=1e-2, batch_size=64, privacy=DPSGD(1.0))
    guarded = membership_inference(private, *args, n_references=0)
    assert guarded.overall.loc["loss", "advantage"] < leak.advantage / 2
