"""Fixtures of the metrics tests: German credit."""

import pytest

from sklfair.datasets import load_german_credit

NUMERIC = [
    "duration_months",
    "credit_amount",
    "installment_rate",
    "age",
    "existing_credits",
]


@pytest.fixture(scope="session")
def german():
    """German credit as ``(X, y)`` from the bundled loader.

    ``X`` holds the features with the sensitive columns ``sex`` and
    ``age_band``; ``y`` is 1 for a good credit risk, 0 for a bad one.
    """
    data = load_german_credit()
    return data.data, data.target


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
