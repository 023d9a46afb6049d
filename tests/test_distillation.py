"""Tests of sklfair.distillation: DistilledClassifier and DistilledRegressor.

Oracles: sklearn's estimators and metrics (roc_auc_score, r2_score),
fairlearn's demographic_parity_difference, hand computations of the
distillation loss and of parameter counts.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
import torch
from fairlearn.metrics import demographic_parity_difference
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklfair.datasets import load_taiwan_credit
from sklfair.distillation import (
    DistilledClassifier,
    DistilledRegressor,
    _SoftTargetLoss,
    count_parameters,
)
from sklfair.nets import TabularNetClassifier, TabularNetRegressor


def small_net(**params):
    defaults = dict(hidden_units=(16,), max_epochs=60, lr=1e-2, random_state=0)
    return TabularNetClassifier(**{**defaults, **params})


def small_regressor_net(**params):
    defaults = dict(hidden_units=(16,), max_epochs=60, lr=1e-2, random_state=0)
    return TabularNetRegressor(**{**defaults, **params})


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks train several times faster on one thread (shared CPUs)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def binary_data():
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=4, random_state=0
    )
    return X, y


# --------------------------------------------------------------------------
# sklearn compatibility
# --------------------------------------------------------------------------


@parametrize_with_checks(
    [
        # tree teachers: integer sample weights give exactly the same tree as
        # repeated rows, so the sample-weight equivalence checks are exact.
        DistilledClassifier(
            DecisionTreeClassifier(max_depth=4, random_state=0),
            small_net(max_epochs=50),
            random_state=0,
        ),
        DistilledRegressor(
            DecisionTreeRegressor(max_depth=4, random_state=0),
            small_regressor_net(max_epochs=50),
            random_state=0,
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
