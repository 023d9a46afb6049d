"""Data and fitted models shared by the deploy tests (fitted once per session).

Taiwan credit rows: 20 numeric columns with missing values imputed,
"education" and "marriage" as categories (with missing values, kept by the
one-hot encoder as their own category), "age_band" the sensitive column.
"""

import numpy as np
import pytest
import torch
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_taiwan_credit

CATEGORICAL = ["education", "marriage"]


def preprocess(numeric):
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
    )


@pytest.fixture(scope="session")
def credit():
    """(X_train, X_test, y_train, y_test, numeric columns); X has age_band."""
    torch.set_num_threads(1)
    cards = load_taiwan_credit()
    X = cards.data.drop(columns=["sex"])
    X, _, y, _ = train_test_split(
        X, cards.target, train_size=2400, stratify=cards.target, random_state=0
    )
    numeric = list(X.select_dtypes("number").columns)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1000, stratify=y, random_state=0
    )
    # missing values in both kinds of columns, at prediction too
    rng = np.random.default_rng(0)
    for frame in (X_train, X_test):
        frame.loc[rng.random(len(frame)) < 0.05, "limit_bal"] = np.nan
        frame.loc[rng.random(len(frame)) < 0.05, "marriage"] = np.nan
    return X_train, X_test, y_train, y_test, numeric


@pytest.fixture(scope="session")
def net_pipeline(credit):
    """A float student Pipeline (one-hot + imputed/scaled numbers, MLP)."""
    from sklfair.nets import TabularNetClassifier

    X_train, _, y_train, _, numeric = credit
    return make_pipeline(
        preprocess(numeric),
        TabularNetClassifier(hidden_units=(32, 16), max_epochs=8, random_state=0),
    ).fit(X_train.drop(columns="age_band"), y_train)


@pytest.fixture(scope="session")
def teacher(credit):
    X_train, _, y_train, _, numeric = credit
    return make_pipeline(
        preprocess(numeric), HistGradientBoostingClassifier(max_iter=20, random_state=0)
    ).fit(X_train, y_train)


@pytest.fixture(scope="session")
def fair_student(credit, teacher):
    """A student distilled under demographic parity on age_band."""
    from sklfair.distillation import DistilledClassifier
    from sklfair.nets import TabularNetClassifier

    X_train, _, y_train, _, numeric = credit
    student = make_pipeline(
        preprocess(numeric),
        TabularNetClassifier(hidden_units=(32,), max_epochs=8, random_state=0),
    )
    return DistilledClassifier(
        FrozenEstimator(teacher),
        student,
        constraint="demographic_parity",
        bound=0.05,
        sensitive_columns="age_band",
        random_state=0,
    ).fit(X_train, y_train)
