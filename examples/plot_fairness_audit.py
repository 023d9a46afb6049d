"""
Auditing a credit-default network by sex and by age band
========================================================

Before mitigating bias, measure it. This example fits a
:class:`~sklfair.nets.TabularNetClassifier` on the Taiwan credit-card default
data (30,000 clients, 2005) and audits its decisions with
:func:`~sklfair.metrics.fairness_report`: selection, true and false positive
rates, accuracy and AUC per group of ``sex`` and of ``age_band``, the gaps
between the groups, and the named fairness metrics (demographic parity,
equalized odds, equal opportunity).

The model never sees ``sex``, ``age`` or ``age_band``: the audit shows how
much of a gap remains through the other features anyway. A second network
that *does* see ``sex`` shows what
:func:`~sklfair.metrics.counterfactual_flip_rate` measures.
"""

# %%
# The data
# --------
# The target is 1 when the client defaulted on the next payment. The
# sensitive attributes travel inside ``X``, so they can be named with
# ``sensitive_columns=``.
from sklearn.model_selection import train_test_split

from sklfair.datasets import load_taiwan_credit

data = load_taiwan_credit()
X, y = data.data, data.target
print(X.shape, f"default rate {y.mean():.3f}")
print(data.sensitive.value_counts())

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# A network that does not see the sensitive attributes
# ----------------------------------------------------
# Numeric columns are scaled, categorical ones one-hot encoded; ``sex``,
# ``age`` and ``age_band`` are left out by the column transformer.
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.nets import TabularNetClassifier

numeric = [c for c in X.columns if c.startswith(("limit", "pay", "bill"))]
categorical = ["education", "marriage"]


def make_model(extra_categorical=()):
    encode = make_column_transformer(
        (StandardScaler(), numeric),
        (
            OneHotEncoder(handle_unknown="ignore"),
            categorical + list(extra_categorical),
        ),
        sparse_threshold=0,
    )
    net = TabularNetClassifier(
        hidden_units=(64, 32), max_epochs=8, batch_size=512, lr=2e-3, random_state=0
    )
    return make_pipeline(encode, net)


model = make_model().fit(X_train, y_train)
print(f"test accuracy {model.score(X_test, y_test):.3f}")

# %%
# The fairness report
# -------------------
# Each attribute is reported on its own, and with ``intersectional=True``
# also their combination. The positive label is 1: here a "selection" is a
# predicted default, so a higher selection rate is the harm.
from sklfair.metrics import fairness_report

report = fairness_report(
    model,
    X_test,
    y_test,
    sensitive_columns=["sex", "age_band"],
    intersectional=True,
)
print(report)

# %%
# The named fairness metrics, one row per attribute. The demographic parity
# difference is the largest gap in the rate of predicted defaults; the
# equalized odds difference the larger of the gaps in true and false positive
# rates.
report.fairness.round(3)

# %%
# The gaps of every metric, with the average differences that are steadier
# than the largest gap when there are many (intersectional) groups.
report.gaps[["attribute", "metric", "min_group", "max_group", "difference"]].round(3)

# %%
# The tidy table behind it all, one row per (attribute, group, metric), is
# ready for pandas or a dashboard:
report.frame.head(8)

# %%
# The plot: one row of panels per attribute, the groups as bars, the overall
# value dashed and the gap marked in red.
fig = report.plot(
    metrics=["selection_rate", "true_positive_rate", "false_positive_rate", "roc_auc"]
)

# %%
# ``report.to_html()`` gives a standalone page with the tables and this plot
# embedded, for a risk committee; write it with
# ``pathlib.Path("audit.html").write_text(report.to_html())``.
html = report.to_html()
print(f"{len(html) / 1e3:.0f} kB of HTML")

# %%
# Counterfactual flips
# --------------------
# The model above never reads ``sex``, so swapping it cannot change a
# decision. A network that is given ``sex`` as an input can use it directly:
# the flip rate is the share of clients whose predicted default changes when
# only their recorded sex is swapped.
from sklfair.metrics import counterfactual_flip_rate

aware = make_model(extra_categorical=["sex"]).fit(X_train, y_train)
print(f"unaware model: {counterfactual_flip_rate(model, X_test, 'sex'):.4f}")
print(f"aware model:   {counterfactual_flip_rate(aware, X_test, 'sex'):.4f}")
