"""Lenders' cutoffs: targets met, checked by brute force and against fairlearn."""

import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    FixedThresholdClassifier,
    TunedThresholdClassifierCV,
)

from sklfair.exceptions import CutoffTargetWarning, LabelConventionWarning
from sklfair.metrics import (
    adverse_impact_ratio,
    approval_by_group,
    approval_rate,
    bad_rate,
    cutoff_for_approval_rate,
    cutoff_for_bad_rate,
    make_cutoff_scorer,
)


@pytest.fixture(scope="module")
def lending():
    """A PD model on 600 applicants, 1 = default (about 20%), two groups."""
    rng = np.random.default_rng(1)
    n = 600
    X = rng.normal(size=(n, 3))
    group = np.where(rng.random(n) < 0.35, "young", "older")
    X[:, 2] = (group == "young") + 0.3 * X[:, 2]  # a proxy of the group
    risk = X[:, 0] - 0.5 * X[:, 1] + 1.0 * (group == "young")
    y = (risk + rng.normal(size=n) > 1.2).astype(int)
    model = LogisticRegression().fit(X, y)
    return X, y, group, model


def _pd(model, X):
    return model.predict_proba(X)[:, 1]


def _best_cutoff_by_brute_force(pd_, bad, w, target):
    """Largest approval whose bad rate among the approved is at most target."""
    best_t, best_approved = pd_.min(), 0.0
    for t in np.append(np.unique(pd_), np.inf):
        approved = pd_ < t
        if w[approved].sum() == 0:
            continue
        rate = np.sum(w * bad * approved) / np.sum(w * approved)
        if rate <= target + 1e-12 and w[approved].sum() > best_approved:
            best_t, best_approved = t, w[approved].sum()
    return best_t


def test_cutoff_for_approval_rate_is_a_fixed_threshold_at_the_quantile(lending):
    X, y, _, model = lending
    cutoff = cutoff_for_approval_rate(model, X, approval_rate=0.7)
    assert isinstance(cutoff, FixedThresholdClassifier)
    assert cutoff.pos_label == 1 and cutoff.response_method == "predict_proba"
    decisions = cutoff.predict(X)  # no fit needed: the model is frozen
    # distinct scores: exactly 420 of 600 approved, the lowest PDs
    assert approval_rate(y, decisions) == pytest.approx(0.7)
    pd_ = _pd(model, X)
    assert cutoff.threshold == np.sort(pd_)[420]
    np.testing.assert_array_equal(decisions == 0, pd_ < np.sort(pd_)[420])
    # the frozen model is not refitted by a later fit
    cutoff.fit(X[:50], 1 - y[:50])
    np.testing.assert_array_equal(cutoff.predict(X), decisions)


def test_approval_rate_ties_edges_and_weights():
    class Fixed(LogisticRegression):
        """A fitted classifier whose PD is the first column of X."""

        def predict_proba(self, X):
            p = np.asarray(X, dtype=float)[:, 0]
            return np.column_stack([1 - p, p])

    X = np.array([[0.1], [0.2], [0.2], [0.2], [0.5]])
    model = Fixed().fit(np.c_[[0.1, 0.9]], [0, 1])
    # 40%: 1 row (20%) or 4 rows (80%) approvable; 20% is nearer
    cut = cutoff_for_approval_rate(model, X, approval_rate=0.4)
    assert approval_rate(None, cut.predict(X)) == pytest.approx(0.2)
    # 50%: equally near 20% and 80%: the lower rate
    cut = cutoff_for_approval_rate(model, X, approval_rate=0.5)
    assert approval_rate(None, cut.predict(X)) == pytest.approx(0.2)
    assert approval_rate(None, cutoff_for_approval_rate(model, X, 0).predict(X)) == 0
    assert approval_rate(None, cutoff_for_approval_rate(model, X, 1).predict(X)) == 1
    # integer weights count as repeated applicants
    w = np.array([3, 1, 1, 1, 2])
    cut_w = cutoff_for_approval_rate(model, X, 0.4, sample_weight=w)
    cut_r = cutoff_for_approval_rate(model, np.repeat(X, w, axis=0), 0.4)
    assert cut_w.threshold == cut_r.threshold == 0.2
    with pytest.raises(ValueError, match=r"approval_rate must be a number in \[0, 1\]"):
        cutoff_for_approval_rate(model, X, approval_rate=70)


def test_cutoff_for_bad_rate_observed_and_expected(lending):
    X, y, _, model = lending
    pd_ = _pd(model, X)
    w = np.ones(y.size)
    for target in (0.03, 0.08, 0.15):
        cut = cutoff_for_bad_rate(model, X, y, bad_rate=target)
        assert cut.threshold == _best_cutoff_by_brute_force(pd_, y, w, target)
        assert bad_rate(y, cut.predict(X)) <= target
        # expected bad rate: the mean PD of the approved
        cut = cutoff_for_bad_rate(model, X, bad_rate=target)
        assert cut.threshold == _best_cutoff_by_brute_force(pd_, pd_, w, target)
    weights = np.random.default_rng(0).integers(1, 4, size=y.size).astype(float)
    cut = cutoff_for_bad_rate(model, X, y, bad_rate=0.08, sample_weight=weights)
    assert cut.threshold == _best_cutoff_by_brute_force(pd_, y, weights, 0.08)


def test_unreachable_bad_rate_warns_and_approves_nobody(lending):
    X, y, _, model = lending
    y_bad_first = y.copy()
    y_bad_first[np.argmin(_pd(model, X))] = 1  # the safest applicant defaults
    with pytest.warns(CutoffTargetWarning, match="approves nobody"):
        cut = cutoff_for_bad_rate(model, X, y_bad_first, bad_rate=0.0)
    assert approval_rate(None, cut.predict(X)) == 0


def test_german_credit_needs_bad_label_0(german, numeric_model):
    """German credit's target is 1 for a good risk: bad_label=0."""
    X, y = german
    model = numeric_model().fit(X, y)
    cut = cutoff_for_approval_rate(model, X, 0.7, bad_label=0)
    assert cut.pos_label == 0
    decisions = cut.predict(X)
    assert approval_rate(y, decisions, bad_label=0) == pytest.approx(0.7)
    # the approved are the applicants with the lowest P(bad)
    p_bad = model.predict_proba(X)[:, 0]
    assert p_bad[decisions == 1].max() < p_bad[decisions == 0].min()
    table = approval_by_group(y, decisions, sensitive_features=X["sex"], bad_label=0)
    bad_overall = bad_rate(y, decisions, bad_label=0)
    assert bad_overall < (y == 0).mean()  # the cutoff keeps defaults out
    np.testing.assert_allclose(table["approved"].sum() / table["applicants"].sum(), 0.7)
    # the default bad_label=1 calls the good risks bad: warned, not silent
    with pytest.warns(LabelConventionWarning, match="bad_label=0"):
        cutoff_for_approval_rate(model, X, 0.7)
    with pytest.warns(LabelConventionWarning, match="70%"):
        approval_by_group(y, decisions, sensitive_features=X["sex"])
    with pytest.raises(ValueError, match="bad_label='bad' is not one of"):
        cutoff_for_approval_rate(model, X, 0.7, bad_label="bad")


def test_adverse_impact_ratio_is_fairlearns_demographic_parity_ratio(lending):
    X, y, group, model = lending
    decisions = cutoff_for_approval_rate(model, X, 0.7).predict(X)
    approved = (decisions == 0).astype(int)
    weights = np.random.default_rng(2).random(y.size)
    for w in (None, weights):
        expected = demographic_parity_ratio(
            y, approved, sensitive_features=group, sample_weight=w
        )
        value = adverse_impact_ratio(
            y, decisions, sensitive_features=group, sample_weight=w
        )
        assert value == pytest.approx(expected)
    assert value < 0.8  # the young are riskier: approved less often


def test_approval_by_group_by_hand_and_with_pandas(lending):
    X, y, group, model = lending
    decisions = cutoff_for_approval_rate(model, X, 0.7).predict(X)
    table = approval_by_group(y, decisions, sensitive_features=group)
    frame = pd.DataFrame({"g": group, "ok": decisions == 0, "bad": y == 1})
    by = frame.groupby("g")
    np.testing.assert_array_equal(table["applicants"], by.size())
    np.testing.assert_array_equal(table["approved"], by["ok"].sum())
    np.testing.assert_allclose(table["approval_rate"], by["ok"].mean())
    bad_rates = frame[frame["ok"]].groupby("g")["bad"].mean()
    np.testing.assert_allclose(table["bad_rate"], bad_rates)
    ratio = table["approval_rate"] / table["approval_rate"].max()
    np.testing.assert_allclose(table["adverse_impact_ratio"], ratio)
    np.testing.assert_array_equal(table["adverse_impact"], ratio < 0.8)
    assert table.attrs["min_ratio"] == 0.8
    # outcomes unknown: no bad rate; a looser rule flags nobody
    loose = approval_by_group(None, decisions, sensitive_features=group, min_ratio=0.5)
    assert "bad_rate" not in loose and not loose["adverse_impact"].any()
    # string labels; a group with nobody approved has an undefined bad rate
    words = approval_by_group(
        ["paid", "paid", "default", "paid"],
        ["paid", "default", "default", "default"],
        sensitive_features=["a", "a", "b", "b"],
        bad_label="default",
    )
    assert np.isnan(words.loc["b", "bad_rate"]) and words.loc["b", "approved"] == 0
    assert words["adverse_impact_ratio"].tolist() == [1.0, 0.0]


def test_label_errors():
    with pytest.raises(ValueError, match="bad_label=1 is not one of the labels"):
        approval_rate(None, ["ok", "no", "ok"])
    with pytest.raises(ValueError, match="binary"):
        bad_rate([0, 1, 2], [0, 1, 0])
    assert np.isnan(bad_rate([0, 1], [1, 1]))  # nobody approved


def test_tuned_threshold_search_meets_the_brute_force_cutoff(lending):
    """On one set (cv='prefit'), the search finds the brute-force cutoff."""
    X, y, _, model = lending
    pd_ = _pd(model, X)
    candidates = np.append(np.unique(pd_), np.inf)
    w = np.ones(y.size)

    def tuned(scorer):
        return TunedThresholdClassifierCV(
            model, scoring=scorer, cv="prefit", refit=False, thresholds=candidates
        ).fit(X, y)

    search = tuned(make_cutoff_scorer("approval_rate", max_bad_rate=0.08))
    assert search.best_threshold_ == _best_cutoff_by_brute_force(pd_, y, w, 0.08)
    assert search.best_score_ == pytest.approx(np.mean(pd_ < search.best_threshold_))
    # lowest bad rate with at least 60% approved
    rates = [
        np.mean(y[pd_ < t]) if np.mean(pd_ < t) >= 0.6 else np.inf for t in candidates
    ]
    search = tuned(make_cutoff_scorer("bad_rate", min_approval_rate=0.6))
    assert search.best_threshold_ == candidates[np.argmin(rates)]
    assert search.best_score_ == pytest.approx(-min(rates))
    # profit: 1 per good loan, -4 per bad loan, brute force over the cutoffs
    profits = [np.mean((pd_ < t) * np.where(y == 1, -4.0, 1.0)) for t in candidates]
    search = tuned(make_cutoff_scorer("profit", gain=1, loss=4))
    assert search.best_score_ == pytest.approx(max(profits))
    # a constraint binds the profit: bad rate at most 3%
    search = tuned(make_cutoff_scorer("profit", gain=1, loss=4, max_bad_rate=0.03))
    assert bad_rate(y, search.predict(X)) <= 0.03


def test_cross_validated_cutoff_and_bad_label(lending):
    X, y, _, _ = lending
    labels = np.where(y == 1, "default", "paid")
    scorer = make_cutoff_scorer("approval_rate", bad_label="default", max_bad_rate=0.1)
    search = TunedThresholdClassifierCV(LogisticRegression(), scoring=scorer, cv=3).fit(
        X, labels
    )
    decisions = search.predict(X)
    assert set(decisions) == {"default", "paid"}
    rate = bad_rate(labels, decisions, bad_label="default")
    assert 0.03 < rate < 0.12  # near the target, chosen on held-out folds
    # infeasible cutoffs score below every feasible one
    all_in = np.array(["paid"] * y.size)
    assert scorer._score_func(labels, all_in, **scorer._kwargs) < 0


def test_cutoff_scorer_errors():
    with pytest.raises(ValueError, match="needs max_bad_rate"):
        make_cutoff_scorer("approval_rate")
    with pytest.raises(ValueError, match="needs min_approval_rate"):
        make_cutoff_scorer("bad_rate")
    with pytest.raises(ValueError, match="needs loss= a non-negative"):
        make_cutoff_scorer("profit", gain=1)
    with pytest.raises(ValueError, match="only used by objective='profit'"):
        make_cutoff_scorer("approval_rate", max_bad_rate=0.1, gain=1)
    with pytest.raises(ValueError, match="objective must be one of"):
        make_cutoff_scorer("gini")


def test_no_warning_on_the_usual_convention(lending):
    X, y, group, model = lending
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decisions = cutoff_for_approval_rate(model, X, 0.7).predict(X)
        approval_by_group(y, decisions, sensitive_features=group)
