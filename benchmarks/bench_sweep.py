"""A fairness sweep on a Dask cluster: 1 worker against N workers (issue 8).

The sweep is the Pareto sweep of the gallery: ``GridSearchCV`` over the
demographic parity ``bound`` of a ``FairConstrainedClassifier`` (lagrangian)
around a one-hot/standardise Pipeline and a ``TabularNetClassifier`` 64-64,
and over the net's learning rate, scored on accuracy and on the demographic
parity difference by sex (``make_fairness_scorer``), on a stratified
subsample of Adult (``--rows``, seed 0) with 3 stratified folds. The grid has
``--bounds`` x ``--lrs`` candidates (4 x 3 = 12 by default, so 36 fits).

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

Needs the distributed extra: ``pip install "sklfair[distributed]"``.

Run: ``python benchmarks/bench_sweep.py [--workers N] [--rows 10000]
[--epochs 10] [--threads 1] [--repeat 1] [--no-malloc-trim]``.
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
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import BoundNotMetWarning, FairConstrainedClassifier
from sklfair.datasets import load_adult
from sklfair.metrics import make_fairness_scorer
from sklfair.model_selection import constrained_refit
from sklfair.nets import TabularNetClassifier

SENSITIVE = "sex"
FOLDS = 3


def adult_sample(rows):
    X, y = load_adult(subset="train", return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=rows, stratify=y, random_state=0)
    return X.drop(columns="age_band"), y.to_numpy()


def make_search(args, n_jobs=None):
    network = make_pipeline(
        make_column_transformer(
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
            (StandardScaler(), make_column_selector(dtype_include="number")),
        ),
        TabularNetClassifier(
            hidden_units=(64, 64),
            max_epochs=args.epochs,
            batch_size=256,
            random_state=0,
        ),
    )
    return GridSearchCV(
        FairConstrainedClassifier(
            network, method="lagrangian", sensitive_columns=SENSITIVE
        ),
        {"bound": args.bounds, "estimator__tabularnetclassifier__lr": args.lrs},
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


def _prepare_worker():
    """Run on every worker before timing: imports, first fit, warning filter."""
    warnings.simplefilter("ignore", BoundNotMetWarning)
    _warm_up()


def _torch_threads():
    return torch.get_num_threads()


def _warm_up():
    """One tiny constrained fit: pays the imports and torch's first-call costs."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    X[:, 0] = np.arange(64) % 2
    y = np.arange(64) // 2 % 2
    net = TabularNetClassifier(hidden_units=(8,), max_epochs=1, random_state=0)
    FairConstrainedClassifier(net, sensitive_columns=0, bound=1.0).fit(X, y)


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
    parser.add_argument(
        "--bounds", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1]
    )
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2])
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
    warnings.simplefilter("ignore", BoundNotMetWarning)

    X, y = adult_sample(args.rows)
    n_candidates = len(args.bounds) * len(args.lrs)
    trim = "unset" if args.no_malloc_trim else "dask's default"
    print(
        f"Adult sample: {X.shape[0]} rows; {n_candidates} candidates x {FOLDS} "
        f"folds = {n_candidates * FOLDS} fits of a lagrangian-constrained 64-64 net, "
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
