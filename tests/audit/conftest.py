"""Small data and stand-in contenders for the audit's fast tests.

The real contenders train networks; the tests of the run's mechanics (the
output folder, interrupts, restored state) replace them with a logistic
regression and models whose fit fails, sleeps or interrupts, on a synthetic
data set of 120 rows.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sklfair.audit._run as run_module
from sklfair.audit import Contender, load_audit_data, make_preprocessor


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """120 rows: two features, sex (sensitive), a binary text target."""
    rng = np.random.default_rng(0)
    n = 120
    sex = rng.choice(["female", "male"], n)
    income = rng.normal(size=n) + (sex == "male")
    frame = pd.DataFrame(
        {
            "income": income.round(3),
            "housing": rng.choice(["own", "rent"], n),
            "sex": sex,
            "repaid": np.where(income + rng.normal(size=n) > 0.5, "yes", "no"),
        }
    )
    path = tmp_path_factory.mktemp("data") / "loans.csv"
    frame.to_csv(path, index=False)
    return load_audit_data(csv=path, target="repaid", sensitive=["sex"])


@pytest.fixture
def logistic_contender():
    """``logistic_contender(data)``: a quick model that fits."""

    def make(data):
        return Contender(
            "logistic regression",
            "baseline",
            lambda fitted: make_pipeline(
                make_preprocessor(data.X, data.sensitive), LogisticRegression()
            ),
            "a logistic regression",
        )

    return make


@pytest.fixture
def use_contenders(monkeypatch):
    """``use_contenders(lambda data: [...])`` replaces the audit's models."""

    def use(build, missing=()):
        def contenders(data, **kwargs):
            return build(data), list(missing)

        monkeypatch.setattr(run_module, "make_contenders", contenders)

    return use
