"""Accuracy and demographic parity before/after reweighing (issue 4).

For Adult (bundled train/test split) and Taiwan credit (stratified 70/30
split, seed 0), the sensitive attribute ``sex`` is *not* an input of the
model. Each estimator -- LogisticRegression, HistGradientBoostingClassifier
and TabularNetClassifier, behind the same one-hot/standardising preprocessor
-- is fitted once without weights and once inside
``ReweighingClassifier(..., sensitive_columns="sex")``. Prints, per data set
and estimator, the test accuracy and the demographic parity difference (by
sex, on the test split) before and after, their ratio, and the fit times.

Run: ``python benchmarks/bench_reweighting.py [--epochs 10] [--method weights]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_adult, load_taiwan_credit
from sklfair.metrics import demographic_parity_difference
from sklfair.nets import TabularNetClassifier
from sklfair.reweighting import ReweighingClassifier

SENSITIVE = "sex"


def adult():
    X_train, y_train = load_adult(subset="train", return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    return X_train, X_test, y_train, y_test


def taiwan():
    X, y = load_taiwan_credit(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def preprocessor():
    return make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def compare(estimator, X_train, X_test, y_train, y_test, method):
    A_test = X_test[SENSITIVE]
    plain = make_pipeline(preprocessor(), clone(estimator))
    t_plain = timed_fit(plain, X_train.drop(columns=SENSITIVE), y_train)
    pred_plain = plain.predict(X_test.drop(columns=SENSITIVE))
    reweighed = ReweighingClassifier(
        make_pipeline(preprocessor(), clone(estimator)),
        sensitive_columns=SENSITIVE,
        method=method,
        random_state=0,
    )
    t_reweighed = timed_fit(reweighed, X_train, y_train)
    pred_reweighed = reweighed.predict(X_test)
    row = {}
    for name, pred in (("before", pred_plain), ("after", pred_reweighed)):
        row[f"acc_{name}"] = float(np.mean(pred == np.asarray(y_test)))
        row[f"dp_{name}"] = demographic_parity_difference(
            y_test, pred, sensitive_features=A_test
        )
    row["t_plain"], row["t_reweighed"] = t_plain, t_reweighed
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--method", choices=["weights", "resample"], default="weights")
    args = parser.parse_args()

    estimators = {
        "LogisticRegression": LogisticRegression(max_iter=1000),
        "HistGradientBoosting": HistGradientBoostingClassifier(random_state=0),
        "TabularNetClassifier": TabularNetClassifier(
            max_epochs=args.epochs, random_state=0
        ),
    }
    header = (
        f"{'data':<8} {'estimator':<21} {'acc before':>10} {'acc after':>9} "
        f"{'DP before':>9} {'DP after':>8} {'DP ratio':>8} {'fit s':>11}"
    )
    print(f"Reweighing by {SENSITIVE!r} (not a model input), method={args.method!r}")
    print(header)
    print("-" * len(header))
    for data_name, load in (("adult", adult), ("taiwan", taiwan)):
        X_train, X_test, y_train, y_test = load()
        for est_name, estimator in estimators.items():
            r = compare(estimator, X_train, X_test, y_train, y_test, args.method)
            print(
                f"{data_name:<8} {est_name:<21} {r['acc_before']:>10.4f} "
                f"{r['acc_after']:>9.4f} {r['dp_before']:>9.4f} "
                f"{r['dp_after']:>8.4f} {r['dp_after'] / r['dp_before']:>8.2f} "
                f"{r['t_plain']:>5.1f}/{r['t_reweighed']:<5.1f}",
                flush=True,
            )
    print("DP: demographic parity difference by sex on the test split;")
    print("DP ratio: DP after / DP before.")
    print("fit s: seconds to fit without / with reweighing (shared CPU).")


if __name__ == "__main__":
    main()
