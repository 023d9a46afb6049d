"""Command line: ``python -m sklfair <command>``.

``train``
    Fit a :class:`~sklfair.nets.TabularNetClassifier` in a preprocessing
    Pipeline on a bundled data set and print its test accuracy and demographic
    parity difference.
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]

_LOADERS = {
    "german": ("load_german_credit", "sex"),
    "taiwan": ("load_taiwan_credit", "age_band"),
    "adult": ("load_adult", "sex"),
    "compas": ("load_compas", "race"),
}


def _train(args):
    import numpy as np
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from sklfair import datasets
    from sklfair.metrics import demographic_parity_difference
    from sklfair.nets import TabularNetClassifier

    loader, default_sensitive = _LOADERS[args.dataset]
    bunch = getattr(datasets, loader)()
    sensitive = args.sensitive or default_sensitive
    X, y = bunch.data, bunch.target
    if sensitive not in bunch.sensitive.columns:
        raise SystemExit(
            f"sklfair train: error: {sensitive!r} is not a sensitive attribute of "
            f"{args.dataset}; choose from {list(bunch.sensitive.columns)}"
        )
    groups = bunch.sensitive[sensitive]
    X_model = X.drop(columns=list(bunch.sensitive.columns), errors="ignore")
    X_tr, X_te, y_tr, y_te, _, g_te = train_test_split(
        X_model, y, groups, test_size=0.3, stratify=y, random_state=args.seed
    )
    model = make_pipeline(
        make_column_transformer(
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
            remainder=make_pipeline(SimpleImputer(), StandardScaler()),
        ),
        TabularNetClassifier(
            max_epochs=args.epochs, device=args.device, random_state=args.seed
        ),
    )
    print(
        f"Training TabularNetClassifier on {args.dataset} "
        f"({len(X_tr)} train / {len(X_te)} test rows; "
        f"{sensitive!r} is not a model input) ...",
        flush=True,
    )
    start = time.perf_counter()
    model.fit(X_tr, y_tr)
    seconds = time.perf_counter() - start
    y_pred = model.predict(X_te)
    accuracy = float(np.mean(y_pred == np.asarray(y_te)))
    dp = demographic_parity_difference(y_te, y_pred, sensitive_features=g_te)
    print(f"fit time                       {seconds:8.2f} s")
    print(f"test accuracy                  {accuracy:8.4f}")
    print(f"demographic parity difference  {dp:8.4f}  (by {sensitive})")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklfair",
        description="sklfair: fair machine learning on tabular data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser(
        "train", help="train a TabularNetClassifier on a bundled data set"
    )
    train.add_argument("--dataset", choices=sorted(_LOADERS), default="german")
    train.add_argument("--sensitive", help="sensitive attribute to measure")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--device", default="auto")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(handler=_train)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
