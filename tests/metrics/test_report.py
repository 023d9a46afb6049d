"""The fairness report on German credit, checked against fairlearn's MetricFrame."""

import fairlearn.metrics as fm
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from matplotlib.figure import Figure
from scipy import stats
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_absolute_error, roc_auc_score
from sklearn.svm import LinearSVC

from sklfair.exceptions import ContinuousSensitiveAttributeWarning
from sklfair.metrics import (
    FairnessReport,
    certify,
    fairness_interval,
    fairness_report,
)


@pytest.fixture(scope="module")
def fitted(german, numeric_model):
    X, y = german
    return numeric_model().fit(X, y)


def test_frame_matches_metric_frame(german, fitted):
    X, y = german
    report = fairness_report(fitted, X, y, sensitive_columns=["sex", "age_band"])
    assert isinstance(report, FairnessReport)
    assert report.attributes == ["sex", "age_band"]
    assert list(report.frame.columns) == [
        "attribute",
        "group",
        "metric",
        "value",
        "low",
        "high",
    ]
    y_pred = fitted.predict(X)
    scores = fitted.predict_proba(X)[:, 1]
    for attribute in ["sex", "age_band"]:
        expected = MetricFrame(
            metrics={
                "count": fm.count,
                "selection_rate": fm.selection_rate,
                "true_positive_rate": fm.true_positive_rate,
                "false_positive_rate": fm.false_positive_rate,
                "accuracy": accuracy_score,
            },
            y_true=y,
            y_pred=y_pred,
            sensitive_features=X[attribute],
        )
        auc = MetricFrame(
            metrics=roc_auc_score,
            y_true=y,
            y_pred=scores,
            sensitive_features=X[attribute],
        )
        table = report.by_group(attribute)
        assert table.index.tolist() == expected.by_group.index.tolist()
        for metric in expected.by_group.columns:
            np.testing.assert_allclose(
                table[metric].to_numpy(float), expected.by_group[metric].to_numpy(float)
            )
            assert report.overall[metric] == pytest.approx(
                float(expected.overall[metric])
            )
            gap = report.gaps.set_index(["attribute", "metric"])
            if metric != "count":
                assert gap.loc[(attribute, metric), "difference"] == pytest.approx(
                    expected.difference()[metric]
                )
                assert gap.loc[(attribute, metric), "ratio"] == pytest.approx(
                    expected.ratio()[metric]
                )
        np.testing.assert_allclose(table["roc_auc"], auc.by_group.to_numpy(float))
        assert report.overall["roc_auc"] == pytest.approx(roc_auc_score(y, scores))

        fair = report.fairness.loc[attribute]
        kw = {"sensitive_features": X[attribute]}
        assert fair["demographic_parity_difference"] == pytest.approx(
            fm.demographic_parity_difference(y, y_pred, **kw)
        )
        assert fair["equalized_odds_ratio"] == pytest.approx(
            fm.equalized_odds_ratio(y, y_pred, **kw)
        )
        assert fair["equal_opportunity_difference"] == pytest.approx(
            fm.equal_opportunity_difference(y, y_pred, **kw)
        )
    # tidy: one row per (attribute, group, metric)
    assert len(report.frame) == (2 + 2) * 6
    assert not report.frame.duplicated(["attribute", "group", "metric"]).any()


def test_sensitive_features_equal_sensitive_columns(german, fitted):
    X, y = german
    by_columns = fairness_report(fitted, X, y, sensitive_columns="sex")
    by_features = fairness_report(fitted, X, y, sensitive_features=X["sex"])
    pd.testing.assert_frame_equal(by_columns.frame, by_features.frame)
    as_array = fairness_report(fitted, X, y, sensitive_features=X["sex"].to_numpy())
    assert as_array.attributes == ["sensitive_feature"]
    np.testing.assert_allclose(as_array.frame["value"], by_columns.frame["value"])


def test_intersectional(german, fitted):
    X, y = german
    report = fairness_report(
        fitted, X, y, sensitive_columns=["sex", "age_band"], intersectional=True
    )
    assert report.attributes == ["sex", "age_band", "sex & age_band"]
    expected = fm.demographic_parity_difference(
        y, fitted.predict(X), sensitive_features=X[["sex", "age_band"]]
    )
    assert report.fairness.loc["sex & age_band", "demographic_parity_difference"] == (
        pytest.approx(expected)
    )
    assert len(report.by_group("sex & age_band")) == 4


def test_html_and_repr(german, fitted, close_figures):
    X, y = german
    report = fairness_report(fitted, X, y, sensitive_columns=["sex", "age_band"])
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<table") == 1 + 1 + 2 + 1  # fairness, overall, groups x2, gaps
    assert "demographic_parity_difference" in page
    assert "female" in page and "&gt;=25" in page
    assert "data:image/png;base64," in page
    fragment = report.to_html(plot=False, full_page=False)
    assert "<html" not in fragment and "data:image/png" not in fragment
    assert report._repr_html_() == fragment
    text = repr(report)
    assert text.startswith("Fairness report of Pipeline on 1000 samples")
    assert "by group (sex):" in text and "female" in text
    assert "count 1000," in text


def test_plot_returns_a_figure(german, fitted, close_figures):
    X, y = german
    report = fairness_report(fitted, X, y, sensitive_columns=["sex", "age_band"])
    fig = report.plot()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 5  # attributes x metrics (count is not plotted)
    fig = report.plot(metrics=["selection_rate"], attributes=["sex"])
    assert len(fig.axes) == 1
    texts = [t.get_text() for t in fig.axes[0].texts]
    gap = report.gaps.set_index(["attribute", "metric"]).loc[("sex", "selection_rate")]
    assert (
        f"gap {gap['difference']:.3f} [{gap['difference_low']:.3f}, "
        f"{gap['difference_high']:.3f}]"
    ) in texts
    # each bar carries its group's interval as an error bar
    (segments,) = [c.get_segments() for c in fig.axes[0].collections]
    rows = report.frame.query("attribute == 'sex' and metric == 'selection_rate'")
    np.testing.assert_allclose(
        [[seg[0][1], seg[1][1]] for seg in segments], rows[["low", "high"]]
    )


def test_string_labels_use_the_greater_label(german, numeric_model):
    X, y = german
    labels = np.where(y == 1, "good", "bad")
    model = numeric_model().fit(X, labels)
    report = fairness_report(model, X, labels, sensitive_columns="sex")
    assert report.pos_label == "good"
    rate = report.by_group("sex")["selection_rate"]
    expected = pd.Series(model.predict(X) == "good").groupby(X["sex"].to_numpy()).mean()
    np.testing.assert_allclose(rate.to_numpy(), expected.to_numpy())
    bad = fairness_report(model, X, labels, sensitive_columns="sex", pos_label="bad")
    np.testing.assert_allclose(bad.by_group("sex")["selection_rate"], 1 - rate)


def test_decision_function_gives_the_auc(german):
    X, y = german
    Xn = X[["duration_months", "credit_amount", "age"]]
    Xn = (Xn - Xn.mean()) / Xn.std()
    model = LinearSVC().fit(Xn, y)
    report = fairness_report(model, Xn, y, sensitive_features=X["sex"])
    assert report.overall["roc_auc"] == pytest.approx(
        roc_auc_score(y, model.decision_function(Xn))
    )


def test_custom_metrics(german, fitted):
    X, y = german

    def error_rate(y_true, y_pred):
        return float(np.mean(np.asarray(y_true) != np.asarray(y_pred)))

    report = fairness_report(
        fitted,
        X,
        y,
        sensitive_columns="sex",
        metrics={"errors": error_rate, "tpr": "true_positive_rate"},
    )
    assert report.by_group("sex").columns.tolist() == ["errors", "tpr"]
    np.testing.assert_allclose(
        report.by_group("sex")["errors"],
        1
        - MetricFrame(
            metrics=accuracy_score,
            y_true=y,
            y_pred=fitted.predict(X),
            sensitive_features=X["sex"],
        ).by_group.to_numpy(float),
    )


def test_multiclass_report():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300), "g": rng.choice(["a", "b"], 300)})
    y = np.digitize(X["x"] + rng.normal(scale=0.5, size=300), [-0.5, 0.5])
    model = LogisticRegression().fit(X[["x"]], y)
    report = fairness_report(model, X[["x"]], y, sensitive_features=X["g"])
    assert report.task == "multiclass" and report.pos_label is None
    assert report.by_group("g").columns.tolist() == ["count", "accuracy"]
    names = ["demographic_parity_difference", "equalized_odds_difference"]
    assert report.fairness.columns.tolist() == [
        *names,
        *(f"{name}_{end}" for name in names for end in ("low", "high")),
    ]
    # every multi-class gap with its interval, around the estimate
    for name in names:
        low, value, high = report.fairness.loc[
            "g", [f"{name}_low", name, f"{name}_high"]
        ]
        assert low <= value <= high
    # the same rates and level as certify's multi-class demographic parity
    certificate = certify(
        model,
        X[["x"]],
        y,
        constraint="demographic_parity",
        bound=1.0,
        sensitive_features=X["g"],
    )
    assert report.fairness.loc["g", "demographic_parity_difference_high"] == (
        pytest.approx(certificate.results["high"].iloc[0])
    )
    y_pred = model.predict(X[["x"]])
    by_class = [
        fm.demographic_parity_difference(
            (y == c).astype(int), (y_pred == c).astype(int), sensitive_features=X["g"]
        )
        for c in range(3)
    ]
    assert report.fairness.loc["g", "demographic_parity_difference"] == pytest.approx(
        max(by_class)
    )
    with pytest.raises(ValueError, match="needs binary labels, but the target is"):
        fairness_report(
            model, X[["x"]], y, sensitive_features=X["g"], metrics=["selection_rate"]
        )


def test_regression_report():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=200), "g": rng.choice(["a", "b"], 200)})
    y = 2 * X["x"] + (X["g"] == "a") + rng.normal(size=200)
    model = LinearRegression().fit(X[["x"]], y)
    report = fairness_report(model, X[["x"]], y, sensitive_features=X["g"])
    assert report.task == "continuous"
    frame = MetricFrame(
        metrics={"mean_prediction": fm.mean_prediction, "mae": mean_absolute_error},
        y_true=y,
        y_pred=model.predict(X[["x"]]),
        sensitive_features=X["g"],
    )
    np.testing.assert_allclose(
        report.by_group("g")["mean_absolute_error"],
        frame.by_group["mae"].to_numpy(float),
    )
    assert report.fairness.loc["g", "mean_prediction_difference"] == pytest.approx(
        frame.difference()["mean_prediction"]
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "needs the sensitive attributes"),
        (
            {"sensitive_columns": "sex", "sensitive_features": np.zeros(1000)},
            "one way only",
        ),
        ({"sensitive_features": ["f", "m"]}, "has 2 rows, but X has 1000"),
        ({"sensitive_columns": "sexe"}, "Did you mean 'sex'"),
        ({"sensitive_columns": "sex", "metrics": ["f1"]}, "Unknown metric 'f1'"),
    ],
)
def test_bad_inputs(german, fitted, kwargs, match):
    X, y = german
    with pytest.raises(ValueError, match=match):
        fairness_report(fitted, X, y, **kwargs)


def test_a_continuous_attribute_is_reported_by_quartile(german, fitted):
    X, y = german
    with pytest.warns(ContinuousSensitiveAttributeWarning, match=r"age \(53 distinct"):
        report = fairness_report(fitted, X, y, sensitive_columns="age")
    assert len(report.by_group("age")) == 4


def test_unknown_attribute_and_unfitted(german, fitted):
    X, y = german
    report = fairness_report(fitted, X, y, sensitive_columns="sex")
    with pytest.raises(ValueError, match="Unknown attribute 'race'"):
        report.by_group("race")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        fairness_report(LogisticRegression(), X, y, sensitive_columns="sex")


def test_intervals_in_every_table(german, fitted):
    X, y = german
    report = fairness_report(fitted, X, y, sensitive_columns=["sex", "age_band"])
    assert report.interval == "analytic" and report.confidence == 0.95
    y_pred = fitted.predict(X)
    rows = report.frame.set_index(["attribute", "group", "metric"])
    # a group's selection rate: Wilson's interval (scipy as the oracle)
    women = X["sex"] == "female"
    k, n = int(y_pred[women].sum()), int(women.sum())
    wilson = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert rows.loc[
        ("sex", "female", "selection_rate"), ["low", "high"]
    ].tolist() == pytest.approx([wilson.low, wilson.high])
    assert rows.loc[("sex", "female", "count"), ["low", "high"]].isna().all()
    assert rows.loc[("sex", "female", "roc_auc"), ["low", "high"]].isna().all()
    # a gap: the interval of fairness_interval
    gaps = report.gaps.set_index(["attribute", "metric"])
    for metric, gap in [
        ("selection_rate", "demographic_parity_difference"),
        ("true_positive_rate", "equal_opportunity_difference"),
        ("accuracy", "error_rate_difference"),  # same gap as the error rate
    ]:
        expected = fairness_interval(gap, y, y_pred, sensitive_features=X["age_band"])
        bounds = gaps.loc[("age_band", metric), ["difference_low", "difference_high"]]
        assert bounds.tolist() == pytest.approx([expected.low, expected.high])
    ratio = fairness_interval(
        "demographic_parity_ratio", y, y_pred, sensitive_features=X["sex"]
    )
    assert gaps.loc[
        ("sex", "selection_rate"), ["ratio_low", "ratio_high"]
    ].tolist() == (pytest.approx([ratio.low, ratio.high]))
    assert gaps.loc[("sex", "roc_auc")][["difference_low", "ratio_high"]].isna().all()
    # the named gaps
    expected = fairness_interval(
        "equalized_odds_difference", y, y_pred, sensitive_features=X["sex"]
    )
    fair = report.fairness.loc["sex"]
    assert fair[
        ["equalized_odds_difference_low", "equalized_odds_difference_high"]
    ].tolist() == pytest.approx([expected.low, expected.high])
    assert report.fairness.columns[:5].tolist() == [
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
    ]
    # shown as "value [low, high]" in the text and the HTML
    bracket = f"{fair['equalized_odds_difference']:.3f} [{expected.low:.3f}, "
    assert bracket in repr(report)
    page = report.to_html(plot=False)
    assert bracket in page and "95% confidence intervals (analytic)" in page
    assert "equalized_odds_difference_low" not in page


def test_bootstrap_and_no_intervals(german, fitted):
    X, y = german
    boot = fairness_report(
        fitted,
        X,
        y,
        sensitive_columns="sex",
        interval="bootstrap",
        n_boot=200,
        random_state=0,
    )
    again = fairness_report(
        fitted,
        X,
        y,
        sensitive_columns="sex",
        interval="bootstrap",
        n_boot=200,
        random_state=0,
    )
    pd.testing.assert_frame_equal(boot.gaps, again.gaps)
    assert boot.interval == "bootstrap"
    plain = fairness_report(fitted, X, y, sensitive_columns="sex", interval=None)
    assert list(plain.frame.columns) == ["attribute", "group", "metric", "value"]
    assert "difference_low" not in plain.gaps
    assert plain.confidence is None and "[" not in repr(plain).split("fairness:")[1]
    pd.testing.assert_frame_equal(
        plain.frame, boot.frame[["attribute", "group", "metric", "value"]]
    )
    with pytest.raises(ValueError, match="interval must be"):
        fairness_report(fitted, X, y, sensitive_columns="sex", interval="wald")
    with pytest.raises(ValueError, match="confidence must be"):
        fairness_report(fitted, X, y, sensitive_columns="sex", confidence=0)
