"""A fairness sweep on a real Dask cluster, through joblib's dask backend.

Issue 8, part 3: ``GridSearchCV`` over bounds and hyperparameters of a
constrained net runs on ``dask.distributed`` workers with no code change to
the estimator, only ``joblib.parallel_backend("dask")`` around ``fit``. The
oracle is the same search run in this process with the default backend: the
nets are seeded and, on CPU with one torch thread, deterministic, so the
scores of the two runs must be bit-for-bit equal. The scheduler's task stream
shows that the fits ran on the two worker processes.

Needs the ``distributed`` extra (``pip install "sklfair[distributed]"``),
which the ``test`` extra installs.
"""

import os
import re

import dask
import distributed
import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_german_credit
from sklfair.metrics import make_fairness_scorer
from sklfair.model_selection import constrained_refit
from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD

# small data and short fits: the feasibility, bound and degeneracy warnings
# are beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]

BATCH_KEY = re.compile(r"batch_of_(?P<function>\w+?)_(?P<calls>\d+)_calls-[0-9a-f]+")

GRID = {
    "bound": [0.02, 0.2],
    "estimator__tabularnetclassifier__lr": [1e-3, 1e-2],
}


@pytest.fixture(scope="module")
def german():
    """German credit, numerically encoded, with ``sex`` as a 0/1 column.

    ``personal_status`` encodes sex too and ``age_band`` duplicates ``age``,
    so both are dropped.
    """
    bunch = load_german_credit()
    X = bunch.data.drop(columns=["age_band", "personal_status"])
    sex = X.pop("sex")
    X = pd.get_dummies(X, dtype=float)
    X.insert(0, "sex", (sex == "female").astype(float))
    return X, bunch.target.to_numpy()


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes; closed even when a test fails.

    ``OMP_NUM_THREADS=1`` and ``MKL_NUM_THREADS=1`` before the workers are
    spawned (dask's default for its nannies, set here explicitly; torch reads
    them when it starts) keep torch at one thread per worker:
    no oversubscription, and deterministic fits. The nannies write those
    variables into this process's environment too; it is restored after.
    The scheduler's HTTP server listens on any free port: on its default,
    8787, which another cluster on the machine may hold, dask falls back with
    a UserWarning, even with ``dashboard_address=None``.
    """
    environ = dict(os.environ)
    try:
        with (
            dask.config.set(
                {
                    "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1,
                    "distributed.nanny.pre-spawn-environ.MKL_NUM_THREADS": 1,
                }
            ),
            distributed.LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                dashboard_address=":0",
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.wait_for_workers(2, timeout=120)
            yield client
    finally:
        os.environ.clear()
        os.environ.update(environ)


def search():
    net = TabularNetClassifier(hidden_units=(16,), max_epochs=10, random_state=0)
    return GridSearchCV(
        FairConstrainedClassifier(
            make_pipeline(StandardScaler(), net), sensitive_columns="sex"
        ),
        GRID,
        scoring={
            "accuracy": "accuracy",
            "dp": make_fairness_scorer(
                "demographic_parity_difference", sensitive_columns="sex"
            ),
        },
        # The refit reads cv_results_ in this process, whatever the backend;
        # a loose bound keeps it from failing when the nets' numbers move.
        refit=constrained_refit("accuracy", "dp", bound=0.1),
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        error_score="raise",
    )


def _torch_threads():
    return torch.get_num_threads()


def test_sweep_on_dask_workers_matches_local_run(german, client):
    X, y = german
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    # Torch's thread count is per thread: ask the threads that run tasks.
    threads = {
        worker: client.submit(_torch_threads, workers=[worker], pure=False).result()
        for worker in workers
    }
    assert threads == dict.fromkeys(workers, 1)
    worker_pids = set(client.run(os.getpid).values())
    assert os.getpid() not in worker_pids and len(worker_pids) == 2

    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        on_dask = search().fit(X, y)
    local = search().fit(X, y)

    # Every fit-and-score ran on the workers, and both workers took some.
    # joblib names each dask task after the batch of calls it runs,
    # "batch_of_<function>_<number of calls>_calls-<uuid>".
    assert {task["worker"] for task in stream.data} == workers
    assert all(task["status"] == "OK" for task in stream.data)
    batches = [BATCH_KEY.fullmatch(task["key"]) for task in stream.data]
    assert all(batches), [task["key"] for task in stream.data]
    assert {batch["function"] for batch in batches} == {"_fit_and_score"}
    n_fits = len(local.cv_results_["params"]) * 3
    assert sum(int(batch["calls"]) for batch in batches) == n_fits

    # Bit-for-bit the local run: seeded nets, one thread, same CPU.
    for key, expected in local.cv_results_.items():
        if key.startswith(("split", "mean_test", "std_test", "rank_test")):
            np.testing.assert_array_equal(on_dask.cv_results_[key], expected, key)
    assert on_dask.cv_results_["params"] == local.cv_results_["params"]
    assert on_dask.best_index_ == local.best_index_
    assert on_dask.best_params_ == local.best_params_
    # The candidates differ (the sweep is not a constant), so equality above
    # compared real numbers.
    assert np.unique(local.cv_results_["mean_test_accuracy"]).size > 1


def capability_search():
    """Bounds x monotone off/on of a constrained net, and privacy budgets of
    a private one (a private net refuses the constrained fit's loss terms),
    in one grid; as in benchmarks/bench_sweep.py, smaller."""
    # every column but "sex" (absent where the constrained estimator dropped it)
    scaled = make_column_transformer(
        (StandardScaler(), make_column_selector(pattern="^(?!sex$)")),
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    net = make_pipeline(
        scaled, TabularNetClassifier(hidden_units=(16,), max_epochs=5, random_state=0)
    )
    grid = [
        {
            "model": [FairConstrainedClassifier(net, sensitive_columns="sex")],
            "model__bound": [0.2],
            # a longer loan should not make good credit more likely
            "model__estimator__tabularnetclassifier__monotonic_cst": [
                None,
                {"duration_months": -1},
            ],
        },
        {
            "model": [net],
            "model__tabularnetclassifier__privacy": [DPSGD(target_epsilon=2.0)],
        },
    ]
    return GridSearchCV(
        Pipeline([("model", net)]),
        grid,
        scoring={
            "accuracy": "accuracy",
            "dp": make_fairness_scorer(
                "demographic_parity_difference", sensitive_columns="sex"
            ),
        },
        refit=False,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        error_score="raise",
    )


def test_capability_sweep_on_dask_matches_local_run(german, client):
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        on_dask = capability_search().fit(*german)
    local = capability_search().fit(*german)
    assert {task["worker"] for task in stream.data} == set(
        client.scheduler_info()["workers"]
    )
    params = local.cv_results_["params"]
    assert len(params) == 3
    assert params[-1]["model__tabularnetclassifier__privacy"].target_epsilon == 2.0
    for key, expected in local.cv_results_.items():
        if key.startswith(("split", "mean_test", "std_test", "rank_test")):
            np.testing.assert_array_equal(on_dask.cv_results_[key], expected, key)
    # the monotone constraint and the private training change the scores:
    # the equality above compared three different models
    assert np.unique(local.cv_results_["mean_test_accuracy"]).size == 3
