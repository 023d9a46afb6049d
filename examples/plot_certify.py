"""
Certifying a credit model's gaps on held-out applicants
=======================================================

A gap measured on a test set is an estimate: on the next applicants it will
differ. This example fits two credit-default models on the Taiwan credit
card data (30,000 clients, 2005), then asks, on the held-out 30 %, the risk
committee's question -- *is the gap below the bound, with 95 % confidence?*
-- with :func:`~sklfair.metrics.certify`. It shows a bound that is
certified, one that the measured gap exceeds, and one that the groups are
too small to certify for any model, with the smallest bound they can; then
the intervals in :func:`~sklfair.metrics.fairness_report` and on a Pareto
plot.
"""

# %%
# Two models that never see the sensitive attributes
# ----------------------------------------------------
# Numeric columns are scaled, ``education`` and ``marriage`` one-hot
# encoded; ``sex``, ``age`` and ``age_band`` stay in ``X`` (so that
# ``sensitive_columns=`` can name them) but are not inputs of the models.
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_taiwan_credit

X, y = load_taiwan_credit(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
numeric = [c for c in X.columns if c.startswith(("limit", "pay", "bill"))]
encode = make_column_transformer(
    (StandardScaler(), numeric),
    (OneHotEncoder(handle_unknown="ignore"), ["education", "marriage"]),
    sparse_threshold=0,
)
models = {
    "logistic regression": make_pipeline(encode, LogisticRegression(max_iter=500)),
    "gradient boosting": make_pipeline(
        encode, HistGradientBoostingClassifier(max_iter=60, random_state=0)
    ),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(f"{name}: test accuracy {model.score(X_test, y_test):.3f}")
print(X_test.groupby(["sex", "age_band"], observed=True).size())

# %%
# A certificate for two constraints at once
# -----------------------------------------
# Lenders are asked for approval-rate parity *and* equal error rates. Here
# a "selection" is a predicted default and the groups are the sexes. A
# bound is certified when the upper end of the gap's 95 % interval is at
# most the bound; a bound that is not certified raises a
# :class:`~sklfair.exceptions.BoundNotMetWarning` (recorded here to show it).
from sklfair.metrics import certify

model = models["gradient boosting"]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    certificate = certify(
        model,
        X_test,
        y_test,
        sensitive_columns="sex",
        constraint=[("demographic_parity", 0.03), ("equalized_odds", 0.05)],
    )
certificate

# %%
# The equalized odds gap *measured* on these 9,000 rows is about half the
# bound, yet it is not certified: its interval reaches above 0.05, because
# the true and false positive rates rest on fewer rows (the defaulters are
# 22 % of them). The warning says so.
print(certificate)
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")

# %%
# Small groups: what the rows can support
# ---------------------------------------
# No model, however fair, can be certified below the *smallest certifiable
# bound*: the upper end the interval would have if every group had the same
# rate. With 811 test rows under 25, an error-rate bound of 0.02 is out of
# reach; the intersection of sex and age band (four groups, the smallest
# with 229 rows) cannot even resolve 0.2 for equalized odds.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    by_age = certify(
        model,
        X_test,
        y_test,
        sensitive_columns="age_band",
        constraint="error_rate_parity",
        bound=0.02,
    )
    by_both = certify(
        model,
        X_test,
        y_test,
        sensitive_columns=["sex", "age_band"],
        constraint="equalized_odds",
        bound=0.02,
    )
print(by_age)
print()
print(by_both)
by_both.group_sizes

# %%
# Intervals in the report
# -----------------------
# :func:`~sklfair.metrics.fairness_report` gives every group rate and every
# gap its interval; the plot draws them as error bars and labels each gap
# with its interval.
from sklfair.metrics import fairness_report

report = fairness_report(model, X_test, y_test, sensitive_columns=["age_band"])
report.gaps[["metric", "difference", "difference_low", "difference_high"]].round(3)

# %%
fig = report.plot(metrics=["selection_rate", "true_positive_rate", "accuracy"])
plt.show()

# %%
# The trade-off with its uncertainty
# ----------------------------------
# Each model's held-out demographic parity gap by age band, with its
# certificate's interval as a horizontal error bar, against its accuracy,
# with the accuracy's Wilson interval (from :func:`scipy.stats.binomtest`)
# as a vertical one. The two models' gaps are not told apart by these 9,000
# rows, and their accuracies barely.
from scipy.stats import binomtest

from sklfair.plotting import plot_pareto_front

rows = []
for name, candidate in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = certify(
            candidate, X_test, y_test, sensitive_columns="age_band"
        ).results.loc["demographic_parity"]
    correct = int((candidate.predict(X_test) == y_test).sum())
    accuracy = binomtest(correct, len(y_test)).proportion_ci(method="wilson")
    rows.append(
        {
            "model": name,
            "score": correct / len(y_test),
            "score_low": accuracy.low,
            "score_high": accuracy.high,
            "gap": result["estimate"],
            "gap_low": result["low"],
            "gap_high": result["high"],
        }
    )
table = pd.DataFrame(rows)
table.attrs = {"score": "test accuracy", "constraint": "DP by age band"}
fig = plot_pareto_front(table, annotate="model")
plt.show()
