"""proxy_report against columns whose link to the group is known."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mutual_info_score

from sklfair.explain import proxy_report


@pytest.fixture(scope="module")
def population():
    rng = np.random.RandomState(0)
    n = 600
    group = rng.choice(["a", "b"], n)
    X = pd.DataFrame(
        {
            "copy": np.where(group == "a", "x", "y"),  # the group itself
            "height": rng.normal(0, 1, n) + 1.5 * (group == "b"),
            "noise": rng.normal(0, 1, n),
            "city": rng.choice(["n", "s", "e"], n),
            "flag": rng.rand(n) < 0.5,
        }
    )
    return X, group


def test_proxies_are_flagged_and_independent_columns_not(population):
    X, group = population
    report = proxy_report(X, group, random_state=0)
    assert report.index[0] == "(all columns)"
    assert report.index[1:3].tolist() == ["copy", "height"]
    assert report.loc["copy", "auc"] == 1.0
    assert report.loc["copy", "mutual_info_share"] == pytest.approx(1.0)
    assert 0.75 < report.loc["height", "auc"] < 0.95
    for column in ["noise", "city", "flag"]:
        assert abs(report.loc[column, "auc"] - 0.5) < 0.08
        assert not report.loc[column, "proxy"]
    assert report.loc["(all columns)", "auc"] > 0.99
    # oracle: the mutual information of a categorical column, independently
    codes = (group == "b").astype(int)
    assert report.loc["city", "mutual_info"] == pytest.approx(
        mutual_info_score(codes, X["city"])
    )


def test_sensitive_columns_by_name_and_several_groups(population):
    X, group = population
    named = proxy_report(X.assign(group=group), "group", joint=False, random_state=0)
    given = proxy_report(X, group, joint=False, random_state=0)
    pd.testing.assert_frame_equal(named, given)
    assert "group" not in named.index
    # three groups: one-vs-rest AUC; arrays get x0, x1, ... names
    rng = np.random.RandomState(1)
    three = rng.randint(3, size=300)
    A = np.column_stack([three + rng.normal(0, 0.3, 300), rng.normal(size=300)])
    report = proxy_report(A, three, joint=False, random_state=0)
    assert report.index.tolist() == ["x0", "x1"]
    assert report.loc["x0", "auc"] > 0.95 and report.loc["x1", "auc"] < 0.6
    with pytest.raises(ValueError, match="n_bins"):
        proxy_report(A, three, n_bins=1)
