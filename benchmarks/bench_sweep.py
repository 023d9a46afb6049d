"""A fairness sweep on a Dask cluster: 1 worker against N workers (issues 8, 21).

The sweep covers the capabilities a fairness search now has to choose
between, in one ``GridSearchCV`` on a stratified subsample of Adult
(``--rows``, seed 0) with 3 stratified folds, scored on accuracy and on the
demographic parity difference by sex (``make_fairness_scorer``):

- a ``FairConstrainedClassifier`` (lagrangian) around a one-hot/standardise
  Pipeline and a ``TabularNetClassifier`` 64-64, over the demographic parity
  ``bound`` (``--bounds``) and the net's ``monotonic_cst`` off or on
  (increasing in ``education_num``, ``capital_gain`` and
  ``hours_per_week``: the chance of an income above 50K should not fall as
  they grow);
- the same net trained with DP-SGD, over the privacy budget
  (``privacy=DPSGD(target_epsilon=...)``, ``--epsilons``). A private net
  cannot sit inside a ``FairConstrainedClassifier``: its loss terms read
  group rates over each batch, which DP-SGD's per-row clipping does not
  cover, and the net refuses them (``PrivacyGuaranteeError``). So the
  private candidates are the plain private net, the sensitive column left
  out of its inputs, scored by the same fairness scorer: what privacy costs
  in accuracy and in the gap, next to what a constraint buys.

The two kinds of candidate are one search: the model is the step ``model`` of
a one-step Pipeline, and the grid is a list of two grids, one per kind.
By default 2 bounds x 2 monotone settings + 2 budgets = 6 candidates, 18
fits.

The same search is timed three times, in one run:

- sequential: ``n_jobs=1``, no dask (the baseline);
- on a ``LocalCluster`` of 1 worker process, through joblib's dask backend;
- on a ``LocalCluster`` of ``--workers`` processes (default: the cores this
  process may use), the same way.

Each worker has one thread and ``--threads`` torch/OpenMP threads (default 1),
and so has the sequential run. The clusters are started, and every process
has run one tiny fit (imports, torch's first-call costs), before the clock
starts; the timed part is ``search.fit`` (cross-validation only:
``refit=False``, since the refit is one fit in the client whatever the
backend), the best of ``--repeat`` runs. The script prints the seconds, the
speed-up of N workers over 1 worker and over the sequential run, the calls
that ran as dask tasks, and checks that the three runs give the same
``cv_results_`` scores and the same ``constrained_refit`` choice.

Two joblib behaviours show in those lines. A 1-thread cluster makes joblib
run the sweep in the client, so the 1-worker run uses a backend that reports
at least 2 jobs (``_AtLeastTwoSlotsDask``) to send the fits to the worker.
Inside a dask task, joblib sends nested ``Parallel`` calls (here the
ColumnTransformer's, whatever its ``n_jobs``) to the cluster as well, unless
the cluster has a single thread: the N-worker run pays for those small extra
tasks and the 1-worker run does not.

dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (glibc gives
freed memory back to the system sooner), which makes these small torch fits
slower than in a plain process; ``--no-malloc-trim`` leaves it unset.

Needs the distributed and privacy extras: ``pip install
"sklfair[distributed,privacy]"``.

Run: ``python benchmarks/bench_sweep.py [--workers N] [--rows 10000]
[--epochs 10] [--bounds 0.02 0.05] [--epsilons 1 8] [--threads 1]
[--repeat 1] [--no-malloc-trim]``.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import warnings
from collections import Counter

import dask
import joblib
import numpy as np
import torch
from distributed import Client, LocalCluster, get_task_stream
from joblib._dask import DaskDistributedBackend
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_adult
from sklfair.exceptions import (
    BoundNotMetWarning,
    InfeasibleBoundWarning,
    PrivacyWarning,
)
from sklfair.metrics import make_fairness_scorer
from sklfair.model_selection import constrained_refit
from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD

SENSITIVE = "sex"
FOLDS = 3


def adult_sample(rows):
    X, y = load_adult(subset="train", return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=rows, stratify=y, random_state=0)
    return X.drop(columns="age_band"), y.to_numpy()


#: Adult columns along which the chance of an income above 50K should not fall.
MONOTONE = ("education_num", "capital_gain", "hours_per_week")


def network(epochs, privacy=None, monotone=False):
    """One-hot/standardise, then a 64-64 net; the sensitive column is left out
    (the constrained estimator drops it anyway; the private net must not see
    it). The preprocessing keeps column names, so that ``monotonic_cst`` can
    name the standardised columns."""
    preprocess = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(
                dtype_include="category", pattern=f"^(?!{SENSITIVE}$)"
            ),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    ).set_output(transform="pandas")
    net = TabularNetClassifier(
        hidden_units=(64, 64),
        max_epochs=epochs,
        batch_size=256,
        privacy=privacy,
        monotonic_cst=monotonic_cst() if monotone else None,
        random_state=0,
    )
    return make_pipeline(preprocess, net)


def monotonic_cst():
    """Increasing in the :data:`MONOTONE` columns, by their names after the
    preprocessing of :func:`network`."""
    return {f"standardscaler__{name}": 1 for name in MONOTONE}


def param_grid(args):
    """Bounds x monotone off/on for the constrained net; budgets for the
    private one (see the module docstring)."""
    net = "model__estimator__tabularnetclassifier__"
    return [
        {
            "model": [
                FairConstrainedClassifier(
                    network(args.epochs),
                    method="lagrangian",
                    sensitive_columns=SENSITIVE,
                )
            ],
            "model__bound": args.bounds,
            f"{net}monotonic_cst": [None, monotonic_cst()],
        },
        {
            "model": [network(args.epochs)],
            "model__tabularnetclassifier__privacy": [
                DPSGD(target_epsilon=epsilon) for epsilon in args.epsilons
            ],
        },
    ]


def make_search(args, n_jobs=None):
    return GridSearchCV(
        Pipeline([("model", network(args.epochs))]),
        param_grid(args),
        scoring={
            "accuracy": "accuracy",
            "dp_gap": make_fairness_scorer(
                "demographic_parity_difference", sensitive_columns=SENSITIVE
            ),
        },
        refit=False,
        cv=StratifiedKFold(FOLDS, shuffle=True, random_state=0),
        n_jobs=n_jobs,
        error_score="raise",
    )


def _quiet():
    """The warnings a short sweep on a sample earns by design."""
    for category in (BoundNotMetWarning, InfeasibleBoundWarning, PrivacyWarning):
        warnings.simplefilter("ignore", category)


def _prepare_worker():
    """Run on every worker before timing: imports, first fit, warning filter."""
    _quiet()
    _warm_up()


def _torch_threads():
    return torch.get_num_threads()


def _warm_up():
    """One tiny constrained fit and one private: pays the imports (opacus's
    too) and torch's first-call costs."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    X[:, 0] = np.arange(64) % 2
    y = np.arange(64) // 2 % 2
    net = TabularNetClassifier(hidden_units=(8,), max_epochs=1, random_state=0)
    FairConstrainedClassifier(net, sensitive_columns=0, bound=1.0).fit(X, y)
    private = TabularNetClassifier(
        hidden_units=(8,), max_epochs=1, random_state=0, privacy=DPSGD()
    )
    private.fit(X, y)


class _AtLeastTwoSlotsDask(DaskDistributedBackend):
    """joblib's dask backend, but never "1 job".

    joblib runs a ``Parallel`` call in the calling process when the backend
    reports one job, and the dask backend reports the cluster's thread count:
    on a 1-thread cluster the sweep would run in the client, not on the
    worker. Reporting at least 2 sends every task to the cluster, where the
    one worker runs them one after another. Identical to "dask" for N >= 2.
    """

    def effective_n_jobs(self, n_jobs):
        return max(2, super().effective_n_jobs(n_jobs))


joblib.register_parallel_backend("dask-at-least-2", _AtLeastTwoSlotsDask)


def time_fit(make, X, y, repeat):
    """Best of ``repeat`` fits of a fresh search, and its cv_results_."""
    times = []
    for _ in range(repeat):
        search = make()
        start = time.perf_counter()
        search.fit(X, y)
        times.append(time.perf_counter() - start)
    return min(times), search.cv_results_


def time_on_cluster(n_workers, args, X, y):
    # Set before the worker processes start (torch reads them when it starts;
    # torch.set_num_threads from client.run would not reach the task threads).
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    environ["OMP_NUM_THREADS"] = environ["MKL_NUM_THREADS"] = args.threads
    if args.no_malloc_trim:
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(
            n_workers=n_workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(n_workers)
        client.run(_prepare_worker)
        threads = {
            worker: client.submit(_torch_threads, workers=[worker], pure=False)
            for worker in client.scheduler_info()["workers"]
        }
        threads = {worker: future.result() for worker, future in threads.items()}
        assert set(threads.values()) == {args.threads}, threads
        with get_task_stream(client) as stream:
            with joblib.parallel_backend("dask-at-least-2"):
                seconds, results = time_fit(
                    lambda: make_search(args), X, y, args.repeat
                )
        used = {task["worker"] for task in stream.data}
        assert len(used) == n_workers, f"{len(used)} of {n_workers} workers ran tasks"
    # joblib names a task "batch_of_<function>_<calls>_calls-<uuid>": count
    # the calls per function, per sweep.
    calls = Counter()
    for task in stream.data:
        match = re.fullmatch(r"batch_of_(\w+?)_(\d+)_calls-\w+", task["key"])
        if match:
            calls[match[1]] += int(match[2])
    per_sweep = ", ".join(f"{n / args.repeat:g} {name}" for name, n in calls.items())
    return seconds, results, per_sweep


def describe(params):
    """A candidate of :func:`param_grid` in a few words."""
    privacy = params.get("model__tabularnetclassifier__privacy")
    if privacy is not None:
        return f"private net, epsilon {privacy.target_epsilon:g}"
    monotone = params["model__estimator__tabularnetclassifier__monotonic_cst"]
    return (
        f"lagrangian, bound {params['model__bound']:g}, monotone "
        f"{'on' if monotone else 'off'}"
    )


def same_scores(a, b):
    keys = [k for k in a if k.startswith(("split", "mean_test"))]
    return all(np.array_equal(a[k], b[k]) for k in keys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = len(os.sched_getaffinity(0))
    parser.add_argument(
        "--workers",
        type=int,
        default=cores,
        help=f"worker processes of the N-worker cluster (default: {cores} cores)",
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--bounds", type=float, nargs="+", default=[0.02, 0.05])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 8.0])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per worker and in the sequential run (default 1)",
    )
    parser.add_argument(
        "--no-malloc-trim",
        action="store_true",
        help="start workers without dask's MALLOC_TRIM_THRESHOLD_=65536",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time each setting this often, keep the best",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    _quiet()

    X, y = adult_sample(args.rows)
    n_constrained = 2 * len(args.bounds)
    n_candidates = n_constrained + len(args.epsilons)
    trim = "unset" if args.no_malloc_trim else "dask's default"
    print(
        f"Adult sample: {X.shape[0]} rows; {n_candidates} candidates "
        f"({len(args.bounds)} bounds x monotone off/on of a lagrangian-constrained "
        f"64-64 net, {len(args.epsilons)} DP-SGD budgets of the plain net) x "
        f"{FOLDS} folds = {n_candidates * FOLDS} fits, "
        f"{args.epochs} epochs; torch {torch.__version__}, {args.threads} torch "
        f"thread(s) per process, {cores} core(s) available; workers' "
        f"MALLOC_TRIM_THRESHOLD_ {trim}; best of {args.repeat} run(s)"
    )
    _warm_up()  # as on the workers
    sequential, results_seq = time_fit(
        lambda: make_search(args, n_jobs=1), X, y, args.repeat
    )
    print(f"sequential (n_jobs=1, no dask): {sequential:8.1f} s")
    one, results_one, calls_one = time_on_cluster(1, args, X, y)
    print(f"dask, 1 worker:                 {one:8.1f} s   dask calls: {calls_one}")
    many, results_many, calls_many = time_on_cluster(args.workers, args, X, y)
    label = f"dask, {args.workers} workers:"
    print(f"{label:<32}{many:8.1f} s   dask calls: {calls_many}")
    print(
        f"speed-up of {args.workers} workers: {one / many:.2f}x over 1 worker, "
        f"{sequential / many:.2f}x over sequential"
    )
    # the fairness scorer is greater-is-better: the gap, negated
    print(
        f"{'candidate (sequential run, mean of folds)':44s} "
        f"{'accuracy':>8s} {'DP gap':>7s}"
    )
    for params, accuracy, gap in zip(
        results_seq["params"],
        results_seq["mean_test_accuracy"],
        results_seq["mean_test_dp_gap"],
        strict=True,
    ):
        print(f"{describe(params):44s} {accuracy:8.3f} {-gap:7.3f}")
    refit = constrained_refit("accuracy", "dp_gap", bound=0.05)
    same = same_scores(results_seq, results_one) and same_scores(
        results_seq, results_many
    )
    try:
        chosen = {refit(r) for r in (results_seq, results_one, results_many)}
    except ValueError as error:  # no candidate within the bound
        chosen = {str(error)}
    print(
        f"same cv_results_ scores in the three runs: {same}; "
        f"same constrained_refit(bound=0.05) choice: {len(chosen) == 1}"
    )


if __name__ == "__main__":
    main()
