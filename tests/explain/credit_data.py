"""A small credit-like data set shared by the explanation tests.

A plain module (not a conftest.py: a second conftest module next to
tests/metrics/conftest.py breaks collecting both folders in one run).
"""

import functools

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@functools.cache
def credit():
    """Applicants with a 3-category column, numbers and a sex column; 1 = default."""
    rng = np.random.RandomState(0)
    n = 400
    sex = rng.choice(["female", "male"], n)
    X = pd.DataFrame(
        {
            "income": rng.normal(3, 1, n) + 0.5 * (sex == "male"),
            "debt": rng.normal(1, 1, n),
            "city": pd.Categorical(rng.choice(["east", "north", "south"], n)),
            "late_payments": rng.poisson(1.0, n),
            "sex": pd.Categorical(sex),
        }
    )
    city_effect = X["city"].map({"east": 0.0, "north": 1.0, "south": -1.0})
    score = (
        X["debt"]
        - X["income"]
        + 0.8 * X["late_payments"]
        + city_effect.astype(float)
        + rng.normal(0, 0.5, n)
    )
    y = (score > -2.0).astype(int)
    return X, y


def preprocessing():
    """A fresh (unfitted) encoder of the credit data's model columns."""
    return make_column_transformer(
        (OneHotEncoder(sparse_output=False), ["city"]),
        (StandardScaler(), ["income", "debt", "late_payments"]),
    )
