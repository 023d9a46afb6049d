"""``python -m sklfair export``: from a gradient-boosting teacher to int8 ONNX.

On a bundled data set: fit a gradient-boosting teacher, distil it into a
(fair) student network, prune the student, quantize both to int8, export the
float and int8 students as ONNX graphs, and print the deployment report of
:func:`sklfair.deploy.compare` on the held-out rows. The graphs and the
report (``report.csv``) are written to ``--out``.

:func:`add_export_parser` adds the command to the package's argument parser;
:func:`run_export` runs it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["add_export_parser", "run_export", "build_models", "format_report"]

#: Bundled data sets: loader name and the sensitive attribute the fair
#: student is constrained on.
DATASETS = {
    "taiwan": ("load_taiwan_credit", "age_band"),
    "german": ("load_german_credit", "sex"),
    "adult": ("load_adult", "sex"),
    "compas": ("load_compas", "race"),
}


def add_export_parser(subparsers):
    """Add the ``export`` command to ``subparsers`` (of ``argparse``)."""
    export = subparsers.add_parser(
        "export",
        help="compress a distilled student to int8 and export it to ONNX",
        description=(
            "Fit a gradient-boosting teacher on a bundled data set, distil it "
            "into a student network (under a fairness constraint unless "
            "--constraint none), prune and quantize the student, export the "
            "float and int8 students to ONNX and print size, speed, accuracy, "
            "AUC and group gaps of every model on held-out rows. Writes "
            "DIR/*.onnx and DIR/report.csv."
        ),
    )
    export.add_argument("--dataset", choices=sorted(DATASETS), default="taiwan")
    export.add_argument(
        "--constraint",
        choices=("demographic_parity", "equalized_odds", "none"),
        default="demographic_parity",
        help="fairness constraint of the student (default demographic_parity)",
    )
    export.add_argument(
        "--bound", type=float, default=0.02, help="bound of the constraint"
    )
    export.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[256, 128],
        metavar="UNITS",
        help="hidden layers of the student (default 256 128)",
    )
    export.add_argument(
        "--sparsity",
        type=float,
        default=0.5,
        help="share of hidden units pruned (default 0.5)",
    )
    export.add_argument(
        "--rows",
        type=int,
        default=None,
        metavar="N",
        help="use N rows of the data set (default: all)",
    )
    export.add_argument(
        "--out", metavar="DIR", default="export_out", help="output folder"
    )
    export.add_argument("--seed", type=int, default=0, metavar="N")
    export.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads of torch and onnxruntime (default 1)",
    )
    export.add_argument(
        "--quick", action="store_true", help="small training budgets (smoke runs)"
    )
    export.set_defaults(handler=run_export)
    return export


def _split(dataset, rows, seed):
    from sklearn.model_selection import train_test_split

    from sklfair import datasets

    loader, mitigate = DATASETS[dataset]
    bunch = getattr(datasets, loader)()
    X, y = bunch.data, bunch.target
    if rows is not None and rows < len(X):
        X, _, y, _ = train_test_split(
            X, y, train_size=rows, stratify=y, random_state=seed
        )
    sensitive = list(bunch.sensitive.columns)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    return X_train, X_test, y_train, y_test, sensitive, mitigate


def build_models(
    X_train,
    y_train,
    *,
    sensitive,
    mitigate,
    constraint="demographic_parity",
    bound=0.02,
    hidden=(256, 128),
    sparsity=0.5,
    seed=0,
    quick=False,
    log=None,
):
    """Teacher, student, pruned and int8 students (fitted), and timings.

    Returns
    -------
    models : dict of str to fitted model
    seconds : dict of str to float
    """
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from sklfair.distillation import DistilledClassifier
    from sklfair.nets import TabularNetClassifier

    from ._prune import prune
    from ._quantize import quantize

    log = log or (lambda message: None)
    features = [c for c in X_train.columns if c not in sensitive]
    numeric = list(X_train[features].select_dtypes("number").columns)
    categorical = [c for c in features if c not in numeric]

    def preprocess():
        return make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical),
            (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        )

    seconds = {}
    start = time.perf_counter()
    teacher = make_pipeline(
        preprocess(),
        HistGradientBoostingClassifier(
            max_iter=20 if quick else 200, random_state=seed
        ),
    ).fit(X_train, y_train)
    seconds["teacher"] = time.perf_counter() - start
    log(f"teacher fitted in {seconds['teacher']:.1f} s")

    student = make_pipeline(
        preprocess(),
        TabularNetClassifier(
            hidden_units=tuple(hidden),
            max_epochs=3 if quick else 30,
            lr=1e-3,
            batch_size=256,
            random_state=seed,
        ),
    )
    start = time.perf_counter()
    distilled = DistilledClassifier(
        FrozenEstimator(teacher),
        student,
        constraint=None if constraint == "none" else constraint,
        bound=None if constraint == "none" else bound,
        sensitive_columns=mitigate,
        random_state=seed,
    ).fit(X_train, y_train)
    seconds["student"] = time.perf_counter() - start
    log(f"student distilled in {seconds['student']:.1f} s")

    start = time.perf_counter()
    pruned = prune(
        distilled, X_train, y_train, sparsity=sparsity, max_epochs=1 if quick else 10
    )
    seconds["pruned"] = time.perf_counter() - start
    log(f"student pruned and fine-tuned in {seconds['pruned']:.1f} s")
    models = {
        "teacher": teacher,
        "student": distilled,
        "pruned": pruned,
        "int8": quantize(distilled),
        "pruned int8": quantize(pruned),
    }
    return models, seconds


def format_report(table):
    """The report as fixed-width text: sizes in KB, latency in ms, the gaps
    with their intervals to three decimals, the rest to four."""
    import pandas as pd

    from sklfair.audit import interval_columns

    digits = {c: 4 for c in table.columns}
    digits.update(size_kb=1, latency_ms=3, rows_per_s=0, parameters=0)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        return interval_columns(table.round(digits)).to_string()


def run_export(args):
    """Run ``python -m sklfair export`` (parsed ``args``); returns the exit code."""
    import warnings

    import torch

    from ._compare import compare
    from ._onnx import to_onnx

    if not 0 < args.sparsity < 1:
        print(
            f"python -m sklfair export: error: --sparsity must be in (0, 1), got "
            f"{args.sparsity}",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(args.threads)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    X_train, X_test, y_train, y_test, sensitive, mitigate = _split(
        args.dataset, args.rows, args.seed
    )
    log(
        f"{args.dataset}: {len(X_train)} training rows, {len(X_test)} held-out "
        f"rows; the student is constrained on {mitigate!r}"
    )
    models, _ = build_models(
        X_train,
        y_train,
        sensitive=sensitive,
        mitigate=mitigate,
        constraint=args.constraint,
        bound=args.bound,
        hidden=args.hidden,
        sparsity=args.sparsity,
        seed=args.seed,
        quick=args.quick,
        log=log,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sample = X_train.iloc[:5]
    for name in ("student", "int8", "pruned int8"):
        graph = to_onnx(models[name], sample)
        path = out / f"{name.replace(' ', '_')}.onnx"
        path.write_bytes(graph.SerializeToString())
        models[f"{name}.onnx"] = path
        log(f"wrote {path}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = compare(
            models,
            X_test,
            y_test,
            sensitive_features=X_test[sensitive],
            reference="student",
            batch_size=1000 if args.quick else 10_000,
            n_latency_rows=20 if args.quick else 200,
            n_threads=args.threads,
        )
    table.to_csv(out / "report.csv")
    print(format_report(table))
    for warning in caught:
        print(f"warning: {warning.message}")
    print(f"report: {out / 'report.csv'}")
    return 0
