"""The credit section: its numbers are those of the metrics on the same predictions.

On German credit (1 = good risk, so the bad label is 0 and the PD is one
minus the saved score), every number of ``credit.csv`` is recomputed here
from ``predictions.csv`` -- the score and the decision at the cutoff of
each held-out row -- with independent oracles: scikit-learn's
``roc_auc_score`` for the Gini, scipy's ``ks_2samp`` for the KS, the
calibration bins and the approval counts written out by hand.
"""

import numpy as np
import pandas as pd
import pytest
from audit_cases import german_audit
from scipy.stats import binomtest, ks_2samp
from sklearn.compose import make_column_transformer
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier

from sklfair.audit import APPROVAL_RATE, AuditData, credit_audit, format_credit_table
from sklfair.datasets import load_german_credit
from sklfair.metrics import fairness_interval, group_gap

SENSITIVE = ["sex", "age_band"]


@pytest.fixture(scope="module")
def audit():
    result, out = german_audit(privacy=True)
    predictions = pd.read_csv(out / "predictions.csv")
    groups = load_german_credit().sensitive.iloc[predictions["row"]]
    return {
        "result": result,
        "out": out,
        "credit": pd.read_csv(out / "credit.csv", index_col="model"),
        "predictions": predictions,
        "groups": groups.reset_index(drop=True),
    }


def _ece(bad, pd_score, n_bins=10):
    """Expected calibration error over equal-width bins, as calibration_curve bins."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], pd_score)
    total = 0.0
    for b in np.unique(which):
        rows = which == b
        total += rows.sum() * abs(bad[rows].mean() - pd_score[rows].mean())
    return total / len(bad)


def test_the_german_bad_label_is_a_bad_risk(audit):
    result = audit["result"]
    assert result.data.bad_label == 0
    assert result.credit.bad_label == 0
    text = format_credit_table(result.credit)
    assert "probability of 0" in text
    low, high = result.credit.table.loc[
        "logistic regression", ["AIR sex low", "AIR sex high"]
    ]
    assert f"[{low:.3f}, {high:.3f}]" in text  # the ratio is shown with its interval


def test_credit_numbers_match_independent_oracles(audit):
    predictions, groups = audit["predictions"], audit["groups"]
    bad = (predictions["y_true"] == 0).to_numpy()
    for name, row in audit["credit"].iterrows():
        pd_score = 1.0 - predictions[f"{name} score"].to_numpy()
        approved = predictions[f"{name} approved"].to_numpy() == 1
        assert row["Gini"] == pytest.approx(2 * roc_auc_score(bad, pd_score) - 1)
        assert row["KS"] == pytest.approx(
            ks_2samp(pd_score[bad], pd_score[~bad]).statistic
        )
        assert row["ECE"] == pytest.approx(_ece(bad, pd_score), abs=1e-9)
        # the cutoff approves the target share: the lowest PDs
        assert row["approval rate"] == pytest.approx(approved.mean())
        assert approved.mean() == pytest.approx(APPROVAL_RATE, abs=1 / len(bad))
        assert pd_score[approved].max() < row["cutoff"] <= pd_score[~approved].min()
        assert row["bad rate"] == pytest.approx(bad[approved].mean())
        flagged = []
        for attribute in SENSITIVE:
            rates = pd.Series(approved).groupby(groups[attribute].to_numpy()).mean()
            ratio = rates.min() / rates.max()
            assert row[f"AIR {attribute}"] == pytest.approx(ratio)
            # with its interval: that of the approvals' demographic parity ratio
            interval = fairness_interval(
                "demographic_parity_ratio",
                approved.astype(int),
                approved.astype(int),
                sensitive_features=groups[attribute].to_numpy(),
            )
            assert interval.estimate == pytest.approx(ratio)
            assert row[f"AIR {attribute} low"] == pytest.approx(interval.low)
            assert row[f"AIR {attribute} high"] == pytest.approx(interval.high)
            assert interval.low <= ratio <= interval.high
            # the Gini gap between the groups, with its bootstrap interval
            gap = row[f"Gini gap {attribute}"]
            by_group = groups[attribute].to_numpy()
            assert gap == pytest.approx(
                group_gap("gini", bad, pd_score, sensitive_features=by_group)
            )
            assert (
                0
                <= row[f"Gini gap {attribute} low"]
                < row[f"Gini gap {attribute} high"]
            )
            if ratio < 0.8:
                flagged.append(attribute)
        expected = "met" if not flagged else "NOT MET: " + ", ".join(flagged)
        assert row["four-fifths"] == expected


def test_group_tables_match_the_predictions(audit):
    """Per group: rows, bad rates, Gini, approvals -- recomputed by hand."""
    result, predictions = audit["result"], audit["predictions"]
    name = "logistic regression"
    pd_score = 1.0 - predictions[f"{name} score"].to_numpy()
    approved = predictions[f"{name} approved"].to_numpy() == 1
    bad = (predictions["y_true"] == 0).to_numpy()
    for attribute in SENSITIVE:
        table = result.credit.by_group[name][attribute]
        group_of = audit["groups"][attribute].astype(str).to_numpy()
        for group, row in table.iterrows():
            rows = group_of == str(group)
            assert row["count"] == rows.sum() == row["applicants"]
            assert row["observed_rate"] == pytest.approx(bad[rows].mean())
            assert row["gini"] == pytest.approx(
                2 * roc_auc_score(bad[rows], pd_score[rows]) - 1
            )
            assert row["approval_rate"] == pytest.approx(approved[rows].mean())
            wilson = binomtest(
                int(approved[rows].sum()), int(rows.sum())
            ).proportion_ci(0.95, method="wilson")
            assert (row["approval_rate_low"], row["approval_rate_high"]) == (
                pytest.approx((wilson.low, wilson.high))
            )
            assert row["gini_low"] < row["gini_high"]
            assert row["adverse_impact_ratio_low"] <= row["adverse_impact_ratio"]
            assert row["bad_rate"] == pytest.approx(bad[rows & approved].mean())
        calibration = result.credit.calibration[name][attribute]
        assert calibration["count"].sum() == len(pd_score)


def test_reasons_of_the_declined_per_group(audit):
    result = audit["result"]
    for name, summary in result.credit.reasons.items():
        assert summary.explainer == "linear"  # a logistic regression
        declined = (audit["predictions"][f"{name} approved"] == 0).sum()
        assert summary.n_declined == declined
        assert summary.n_explained == min(declined, 300)
        for attribute in SENSITIVE:
            parity = summary.parity[attribute]
            assert not set(parity.index) & set(SENSITIVE)  # never a reason
            assert summary.counts[attribute].sum() == summary.n_explained
            groups = [str(g) for g in summary.counts[attribute].index]
            assert list(parity.columns[: len(groups)]) == groups
            # each explained row has one principal reason at most
            assert (parity[groups].sum() <= 1 + 1e-12).all()


def test_the_report_has_the_credit_section(audit):
    result, out = audit["result"], audit["out"]
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="credit">')[1].split("<h2 ")[0]
    for name in result.credit.table.index:
        assert f"<summary>{name}</summary>" in section
    for code, words in [
        ("Gini", "Gini"),
        ("AIR age_band", "Adverse impact ratio (age_band)"),
        ("four-fifths", "Four-fifths rule"),
        ("adverse_impact_ratio", "Adverse impact ratio"),
        ("Gini gap age_band", "Gini gap between groups (age_band)"),
        ("expected_calibration_error", "Expected calibration error"),
    ]:
        assert f">{words}</abbr>" in section, words
        assert f'title="{code}' in section, code
    # an adverse impact ratio below 0.8 is flagged
    assert result.credit.table["AIR age_band"].min() < 0.8
    assert '<span class="flag">NOT MET: age_band</span>' in section
    assert "Top reasons by age_band" in section
    assert "Gaps between the groups of age_band" in section
    # values with their intervals, in brackets
    assert section.count('<span class="ci">[') > 10


@pytest.fixture(scope="module")
def toy():
    """A depth-3 tree on two numbers and a sensitive column: 150 fit, 50 held out."""
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame(
        {
            "income": rng.normal(size=n),
            "debt": rng.normal(size=n),
            "sex": rng.choice(["f", "m"], n),
        }
    )
    y = pd.Series((X["debt"] - X["income"] + rng.normal(size=n) > 0).astype(int))
    data = AuditData(
        X=X,
        y=y,
        sensitive=["sex"],
        mitigate="sex",
        name="toy",
        description="toy",
        pos_label=1,
    )
    tree = make_pipeline(
        make_column_transformer(("passthrough", ["income", "debt"])),
        DecisionTreeClassifier(max_depth=3, random_state=0),
    ).fit(X[:150], y[:150])
    return {"tree": tree}, X[150:], y[150:], data, (X[:150], y[:150])


def test_slow_reasons_only_when_asked(toy, monkeypatch):
    """A tree has shap's tree explainer: explained by default. A naive
    Bayes model has only the permutation explainer: left out
    by default, with the reason; explained on a few rows with
    ``reasons="all"``."""
    models, X_test, y_test, data, train = toy
    tree = models["tree"]
    bayes_model = make_pipeline(
        make_column_transformer(("passthrough", ["income", "debt"])),
        GaussianNB(),
    ).fit(*train)
    models = {"tree": tree, "bayes": bayes_model}
    fast = credit_audit(models, X_test, y_test, data)
    assert fast.reasons["tree"].explainer == "tree"
    assert set(fast.reasons["tree"].parity["sex"].index) <= {"income", "debt"}
    assert "bayes" not in fast.reasons
    assert fast.no_reasons["bayes"].startswith("only shap's permutation")
    monkeypatch.setattr("sklfair.audit._credit.PERMUTATION_ROWS", 3)
    every = credit_audit(models, X_test, y_test, data, reasons="all", seed=1)
    summary = every.reasons["bayes"]
    assert summary.explainer == "permutation"
    assert summary.n_explained == 3
    assert set(summary.parity["sex"].index) <= {"income", "debt"}
    none = credit_audit(models, X_test, y_test, data, reasons="none")
    assert none.reasons == {} and "not asked for" in none.no_reasons["tree"]
    with pytest.raises(ValueError, match="reasons must be one of"):
        credit_audit(models, X_test, y_test, data, reasons="some")


def test_group_thresholds_explained_through_their_score_by_default(toy):
    """A group-threshold model around a tree decides on the tree's score:
    by default its declines get the tree explainer's reasons of that score
    (the oracle: reason_codes of the inner tree on the same rows, without
    the sensitive column), the groups read from the full rows; with
    ``reasons="all"`` its own decision rule is explained by permutation."""
    from sklfair.constrained import FairConstrainedClassifier
    from sklfair.explain import reason_codes

    models, X_test, y_test, data, train = toy
    tree = make_pipeline(
        make_column_transformer(("passthrough", ["income", "debt"])),
        DecisionTreeClassifier(max_depth=3, random_state=0),
    )
    model = FairConstrainedClassifier(
        tree, method="threshold", bound=0.2, sensitive_columns="sex", random_state=0
    ).fit(*train)
    credit = credit_audit({"thresholds": model}, X_test, y_test, data)
    summary = credit.reasons["thresholds"]
    assert summary.explainer == "tree score"
    # the reasons' gaps between groups come with their intervals
    parity = summary.parity["sex"]
    assert {"difference_low", "difference_high", "ratio_low"} <= set(parity.columns)
    assert (parity["difference_low"] <= parity["difference"]).all()
    declined = X_test[credit.decisions["thresholds approved"].to_numpy() == 0]
    assert summary.n_declined == len(declined)
    scorer = model.estimator_.estimator_.estimator
    assert scorer.predict_proba(X_test.drop(columns="sex")).shape == (len(X_test), 2)
    oracle = reason_codes(
        scorer,
        declined.drop(columns="sex"),
        n_reasons=1,
        adverse_class=data.pos_label,
        background=X_test[credit.decisions["thresholds approved"].to_numpy() == 1].drop(
            columns="sex"
        ),
        method="tree",
    )
    shares = oracle["reason_1"].value_counts(normalize=True)
    # every declined row is explained here (fewer than REASON_ROWS)
    overall = summary.parity["sex"].mul(summary.counts["sex"], axis=1).sum(axis=1)
    assert (overall / overall.sum()).sort_index().round(6).to_dict() == (
        shares.sort_index().round(6).to_dict()
    )


def test_a_cutoff_that_approves_nobody_fails_the_four_fifths_rule(toy):
    """No approval at all: the adverse impact ratio is undefined (NaN), and
    the four-fifths rule is reported as not met, never as met."""
    models, X_test, y_test, data, _ = toy
    credit = credit_audit(models, X_test, y_test, data, approval_rate=0.001)
    row = credit.table.loc["tree"]
    assert row["approval rate"] == 0.0
    assert np.isnan(row["AIR sex"])
    assert row["four-fifths"] == "NOT MET: sex"
    assert np.isnan(row["AIR sex low"]) and np.isnan(row["AIR sex high"])
    assert credit.no_reasons["tree"] == "the cutoff declines nobody or everybody"
