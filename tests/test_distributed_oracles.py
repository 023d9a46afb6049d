"""Fairness sweeps on a Dask cluster, checked as a user of the guide would.

``docs/user_guide/distributed.rst`` promises that a search runs on Dask with
no change but a ``with joblib.parallel_backend("dask")`` block. The oracle of
every test here is the same search run in this process with joblib's default
backend (seeded nets, one torch thread: bit-for-bit the same numbers), plus,
where a number can be recomputed, an independent computation:

- the guide's first search (bounds x learning rates of a constrained net,
  ``constrained_refit``), its choice recomputed by hand from ``cv_results_``;
- the sensitive attribute routed as ``sensitive_features=`` (string group
  labels, category columns one-hot encoded in a ColumnTransformer), one
  split's fairness score recomputed with fairlearn's metric;
- failing candidates (an invalid ``bound``, a private net inside a
  constrained estimator): the same ``error_score`` NaNs and
  ``FitFailedWarning`` as locally, and the same exception with
  ``error_score="raise"``;
- the guide's multi-machine form (a ``Client`` on the scheduler's address,
  ``scatter=[X, y]``).

Needs only the ``test`` extra (dask[distributed], opacus); never Ray.
"""

import os
import pickle
import sys
import warnings

import distributed
import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.metrics import demographic_parity_difference
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_german_credit
from sklfair.exceptions import PrivacyGuaranteeError
from sklfair.metrics import make_fairness_scorer
from sklfair.model_selection import constrained_refit
from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]

CV = StratifiedKFold(3, shuffle=True, random_state=0)
RESULT_KEYS = ("split", "mean_test", "std_test", "rank_test")


@pytest.fixture(scope="module")
def german():
    """German credit as loaded: category columns, ``sex`` as strings."""
    bunch = load_german_credit()
    X = bunch.data.drop(columns=["age_band", "personal_status"])
    return X, bunch.target.to_numpy()


@pytest.fixture(scope="module")
def german_numeric(german):
    """The guide's first search wants numeric columns, ``sex`` among them."""
    X, y = german
    X = X.copy()
    sex = X.pop("sex")
    X = pd.get_dummies(X, dtype=float)
    X.insert(0, "sex", (sex == "female").astype(float))
    return X, y


@pytest.fixture(scope="module")
def cluster():
    """The guide's LocalCluster, 2 single-threaded workers, any free port.

    The nannies write their thread variables into this process's
    environment; it is restored after.
    """
    environ = dict(os.environ)
    try:
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0"
        ) as cluster:
            yield cluster
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        yield client


def _net(**params):
    return TabularNetClassifier(
        hidden_units=(8,), max_epochs=2, random_state=0, **params
    )


def _assert_same_results(on_dask, local):
    # estimators among the params are different objects: compare their reprs
    assert repr(on_dask.cv_results_["params"]) == repr(local.cv_results_["params"])
    for key, expected in local.cv_results_.items():
        if key.startswith(RESULT_KEYS):
            np.testing.assert_array_equal(on_dask.cv_results_[key], expected, key)


def guide_search(bound=0.1, error_score=np.nan, grid=None):
    """The guide's first code block, with a smaller net and grid."""
    return GridSearchCV(
        FairConstrainedClassifier(
            make_pipeline(StandardScaler(), _net()), sensitive_columns="sex"
        ),
        grid
        or {"bound": [0.02, 0.05], "estimator__tabularnetclassifier__lr": [1e-3, 1e-2]},
        scoring={
            "accuracy": "accuracy",
            "dp_gap": make_fairness_scorer(
                "demographic_parity_difference", sensitive_columns="sex"
            ),
        },
        refit=constrained_refit("accuracy", "dp_gap", bound=bound),
        cv=CV,
        error_score=error_score,
    )


def test_guide_search_on_dask_equals_local_and_refit_choice(german_numeric, client):
    X, y = german_numeric
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        on_dask = guide_search().fit(X, y)
    local = guide_search().fit(X, y)
    assert {task["worker"] for task in stream.data} == set(
        client.scheduler_info()["workers"]
    )
    _assert_same_results(on_dask, local)
    # the learning rates give different models: real numbers were compared
    assert np.unique(local.cv_results_["mean_test_accuracy"]).size > 1
    assert on_dask.best_index_ == local.best_index_
    assert on_dask.best_params_ == local.best_params_

    # constrained_refit's choice, by hand: the best mean accuracy among the
    # candidates whose mean gap (the scorer reports -gap) is within 0.1,
    # ties to the smaller gap, then to the first candidate
    results = local.cv_results_
    gaps = -np.asarray(results["mean_test_dp_gap"])
    accuracy = np.asarray(results["mean_test_accuracy"])
    feasible = [i for i in range(len(gaps)) if gaps[i] <= 0.1]
    assert feasible
    expected = min(feasible, key=lambda i: (-accuracy[i], gaps[i], i))
    assert on_dask.best_index_ == expected

    # the refitted model (fitted in this process) and its pickle
    proba = pickle.loads(pickle.dumps(on_dask)).predict_proba(X)
    np.testing.assert_array_equal(proba, local.predict_proba(X))
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def routed_search():
    """String groups passed as ``sensitive_features=``, categories one-hot."""
    preprocess = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )
    scorer = make_fairness_scorer("demographic_parity_difference")
    return GridSearchCV(
        FairConstrainedClassifier(
            make_pipeline(preprocess, _net(lr=0.05))
        ).set_fit_request(sensitive_features=True),
        {"bound": [0.05], "estimator__tabularnetclassifier__max_epochs": [2, 3]},
        scoring={
            "accuracy": "accuracy",
            "dp": scorer.set_score_request(sensitive_features=True),
        },
        refit=constrained_refit("accuracy", "dp", bound=0.5),
        cv=CV,
        error_score="raise",
    )


def test_routed_sensitive_features_on_dask_and_fairlearn_oracle(german, client):
    X, y = german
    X = X.copy()
    sex = X.pop("sex").astype(str).to_numpy()  # "female" / "male"
    with sklearn.config_context(enable_metadata_routing=True):
        # the routing flag travels to the workers with each task
        with joblib.parallel_backend("dask"):
            on_dask = routed_search().fit(X, y, sensitive_features=sex)
        local = routed_search().fit(X, y, sensitive_features=sex)
        _assert_same_results(on_dask, local)
        assert on_dask.best_params_ == local.best_params_
        assert np.unique(local.cv_results_["mean_test_accuracy"]).size > 1

        # split 0 of candidate 1, recomputed: fit on the training fold, the
        # gap of its decisions on the test fold by fairlearn
        train, test = next(CV.split(X, y))
        model = clone(routed_search().estimator).set_params(
            **local.cv_results_["params"][1]
        )
        model.fit(X.iloc[train], y[train], sensitive_features=sex[train])
    gap = demographic_parity_difference(
        y[test], model.predict(X.iloc[test]), sensitive_features=sex[test]
    )
    assert on_dask.cv_results_["split0_test_dp"][1] == pytest.approx(-gap, abs=1e-12)


def _fit_recording(search, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    return [w for w in caught if issubclass(w.category, FitFailedWarning)]


def _impossible_grid():
    """An invalid bound, and a private net a constrained fit must refuse."""
    private = make_pipeline(StandardScaler(), _net(privacy=DPSGD(target_epsilon=2.0)))
    return [
        {"bound": [-1.0, 0.2]},
        {"bound": [0.2], "estimator": [private]},
    ]


def test_failing_candidates_same_error_score_as_local(german_numeric, client):
    X, y = german_numeric
    with joblib.parallel_backend("dask"):
        on_dask = guide_search(bound=1.0, grid=_impossible_grid())
        dask_warnings = _fit_recording(on_dask, X, y)
    local = guide_search(bound=1.0, grid=_impossible_grid())
    local_warnings = _fit_recording(local, X, y)

    _assert_same_results(on_dask, local)
    failed = np.isnan(local.cv_results_["mean_test_accuracy"])
    np.testing.assert_array_equal(failed, [True, False, True])
    assert on_dask.best_index_ == local.best_index_ == 1
    # one FitFailedWarning each, naming both failures the same way
    assert len(dask_warnings) == len(local_warnings) == 1
    dask_message, local_message = (
        str(dask_warnings[0].message),
        str(local_warnings[0].message),
    )
    assert "6 fits failed out of a total of 9" in local_message
    for text in ("InvalidParameterError", "'bound'", "PrivacyGuaranteeError"):
        assert text in local_message and text in dask_message

    # error_score="raise": the worker's exception reaches the caller as is
    for grid, error in [
        ({"bound": [0.2, -1.0]}, ValueError),
        ([{"bound": [0.2], "estimator": _impossible_grid()[1]["estimator"]}], None),
    ]:
        error = error or PrivacyGuaranteeError
        with pytest.raises(error) as local_error:
            guide_search(error_score="raise", grid=grid).fit(X, y)
        with joblib.parallel_backend("dask"), pytest.raises(error) as dask_error:
            guide_search(error_score="raise", grid=grid).fit(X, y)
        assert type(dask_error.value) is type(local_error.value)
        assert str(dask_error.value) == str(local_error.value)


def test_no_feasible_candidate_same_error_as_local(german_numeric, client):
    X, y = german_numeric
    grid = {"bound": [0.2], "estimator__tabularnetclassifier__lr": [1e-3, 0.05]}
    # whatever the gaps, a bound below the smallest one leaves none feasible
    local_results = guide_search(bound=1.0, grid=grid).fit(X, y).cv_results_
    smallest = np.min(-np.asarray(local_results["mean_test_dp_gap"]))
    if smallest == 0:
        pytest.skip("a candidate has no gap at all; no bound can exclude it")
    bound = smallest / 2
    with pytest.raises(ValueError, match="No candidate has a mean dp_gap") as local:
        guide_search(bound=bound, grid=grid).fit(X, y)
    with (
        joblib.parallel_backend("dask"),
        pytest.raises(ValueError, match="No candidate has a mean dp_gap") as on_dask,
    ):
        guide_search(bound=bound, grid=grid).fit(X, y)
    assert str(on_dask.value) == str(local.value)


def test_guide_multi_machine_form_with_scatter(german_numeric, cluster):
    """``Client("tcp://...")`` and ``scatter=[X, y]``, as the guide writes it."""
    X, y = german_numeric
    grid = {"bound": [0.2], "estimator__tabularnetclassifier__lr": [1e-3, 1e-2]}
    with distributed.Client(cluster.scheduler_address) as client:
        with (
            distributed.get_task_stream(client) as stream,
            joblib.parallel_backend("dask", scatter=[X, y]),
        ):
            on_dask = guide_search(bound=0.5, grid=grid).fit(X, y)
    assert stream.data
    local = guide_search(bound=0.5, grid=grid).fit(X, y)
    _assert_same_results(on_dask, local)
    assert on_dask.best_params_ == local.best_params_
    # nothing of Ray was needed
    assert not any(name == "ray" or name.startswith("ray.") for name in sys.modules)
