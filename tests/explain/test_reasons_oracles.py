"""Reason codes against a perturbation oracle, on German credit.

For a model additive in the log-odds (a logistic regression), a column's
contribution over a background is exactly how much the row's log-odds of
the adverse class fall, on average, when the column alone takes the
background rows' values: every reason must be such a fall.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_german_credit
from sklfair.explain import reason_codes


def _log_odds(model, X, adverse_class):
    column = list(model.classes_).index(adverse_class)
    return logit(model.predict_proba(X)[:, column])


def test_reasons_are_what_lowers_the_log_odds_when_reset():
    data = load_german_credit()
    X = data.data.drop(columns=["sex", "age_band"])
    y = data.target  # 1 = good risk: the adverse class is 0
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), make_column_selector(dtype_include="category")),
            (StandardScaler(), make_column_selector(dtype_include="number")),
        ),
        LogisticRegression(max_iter=2000),
    ).fit(X, y)
    background = X.sample(60, random_state=0)
    rows = X.iloc[:12]
    reasons = reason_codes(
        model,
        rows,
        n_reasons=3,
        adverse_class=0,
        background=background,
        n_background=60,
    )
    checked = 0
    for i in range(len(rows)):
        row = rows.iloc[[i]]
        before = _log_odds(model, row, 0)[0]
        for k in range(1, 4):
            name = reasons.iloc[i][f"reason_{k}"]
            if name is None:
                continue
            reset = pd.concat([row] * len(background), ignore_index=True)
            reset[name] = background[name].to_numpy()
            fall = before - _log_odds(model, reset, 0).mean()
            assert fall > 0
            assert fall == pytest.approx(reasons.iloc[i][f"contribution_{k}"])
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("n_reasons", [True, 0, 2.0])
def test_n_reasons_must_be_a_positive_integer(n_reasons):
    X = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) % 2})
    model = LogisticRegression().fit(X, [0, 0, 1, 0, 1, 1])
    with pytest.raises(ValueError, match="n_reasons must be a positive integer"):
        reason_codes(model, X, n_reasons=n_reasons, background=X)
