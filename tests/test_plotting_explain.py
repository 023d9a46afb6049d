"""The explanation plots: one row's waterfall, importance per group."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from sklfair.explain import feature_contributions  # noqa: E402
from sklfair.plotting import plot_contributions, plot_group_importance  # noqa: E402


@pytest.fixture(scope="module")
def explanation():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(80, 12)), columns=[f"f{i}" for i in range(12)])
    y = (X["f0"] - X["f1"] + rng.normal(0, 0.5, 80) > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    return feature_contributions(clf, X, background=X), X


def test_waterfall_of_one_row(explanation):
    expl, _ = explanation
    fig = plot_contributions(expl, row=3, max_display=5)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    # the four largest contributions by size, then the rest summed
    top = np.argsort(-np.abs(expl.values[3]))[:4]
    for i in top:
        assert any(f"f{i}" in label for label in labels)
    assert any("8 other features" in label for label in labels)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == [
        "Row 3: log-odds of class 1"
    ]
    plt.close(fig)
    with pytest.raises(IndexError, match="out of range"):
        plot_contributions(expl, row=80)
    with pytest.raises(TypeError, match="shap.Explanation"):
        plot_contributions(expl.values)


def test_importance_per_group(explanation):
    expl, X = explanation
    groups = np.where(X["f5"] > 0, "high", "low")
    fig = plot_group_importance(expl, groups, max_display=4)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    n_high = int((groups == "high").sum())
    assert legend == [f"high [{n_high}]", f"low [{80 - n_high}]"]
    assert ax.get_xlabel() == "mean |contribution| to log-odds of class 1"
    plt.close(fig)
    with pytest.raises(ValueError, match="groups has 3 rows"):
        plot_group_importance(expl, ["a", "b", "a"])
