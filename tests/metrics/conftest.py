"""Fixtures of the metrics tests: a headless matplotlib and the German credit data."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

GERMAN = "/work/shared/data/german.data.gz"
NUMERIC = ["duration", "credit_amount", "installment_rate", "age", "existing_credits"]


@pytest.fixture(scope="session")
def german():
    """German credit as ``(X, y)``: numeric features plus ``sex`` and ``age_band``.

    ``y`` is 1 for a good credit risk, 0 for a bad one. ``sex`` comes from
    attribute 9 (A92 and A95 are women), ``age_band`` cuts age at 25.
    """
    raw = pd.read_csv(GERMAN, sep=" ", header=None)
    X = pd.DataFrame(
        {
            "duration": raw[1],
            "credit_amount": raw[4],
            "installment_rate": raw[7],
            "age": raw[12],
            "existing_credits": raw[15],
            "sex": pd.Categorical(
                np.where(raw[8].isin(["A92", "A95"]), "female", "male")
            ),
            "age_band": pd.Categorical(np.where(raw[12] < 25, "<25", ">=25")),
        }
    )
    y = pd.Series((raw[20] == 1).astype(np.int64), name="good_credit")
    return X, y


@pytest.fixture
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


@pytest.fixture(scope="session")
def numeric_model():
    """A factory of logistic regressions on the numeric columns (sex is dropped)."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def make(C=1.0):
        return make_pipeline(
            make_column_transformer((StandardScaler(), NUMERIC)),
            LogisticRegression(C=C),
        )

    return make
