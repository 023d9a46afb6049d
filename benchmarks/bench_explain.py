"""Reason codes for 10,000 declined applicants, and monotone nets (issue 18).

Taiwan credit (1 = default, the adverse class), sex held out of the model's
inputs: a ``FairConstrainedClassifier`` (demographic parity, lagrangian)
around a one-hot/standardising preprocessor and a ``TabularNetClassifier``
is fitted on a stratified 70% split. The 10,000 riskiest of all 30,000
applicants are declined (a 67% approval rate); each gets four reasons from
``reason_codes`` (shap's DeepExplainer on the net, against 100 approved
applicants). The peer,
measured in the same run, is ``method="permutation"`` (shap's
PermutationExplainer, the model-agnostic fallback) on a few of the same
rows; their agreement is printed too. Then the reason parity by sex of the
declined, and the proxy report of the inputs for sex.

Second part: the same net with ``monotonic_cst`` (repayment delay ``pay_0``
increasing, credit limit ``limit_bal`` decreasing) against the unconstrained
net: test AUC, fit time, and the share of test applicants whose predicted
default risk moves the wrong way along a grid of each constrained column.

Run: ``python benchmarks/bench_explain.py [--epochs 10] [--peer-rows 20]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_taiwan_credit
from sklfair.exceptions import BoundNotMetWarning
from sklfair.explain import (
    feature_contributions,
    proxy_report,
    reason_codes,
    reason_parity,
)
from sklfair.nets import TabularNetClassifier, monotonic_cst_for

N_DECLINED = 10_000


def preprocessor():
    return make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    ).set_output(transform="pandas")


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def wrong_way_share(model, X, column, sign, n_grid=20):
    """Share of rows whose P(default) moves against ``sign`` along a grid."""
    grid = np.quantile(X[column], np.linspace(0.01, 0.99, n_grid))
    rows = X.iloc[:500]
    risks = []
    for value in grid:
        moved = rows.copy()
        moved[column] = value
        risks.append(model.predict_proba(moved)[:, 1])
    steps = sign * np.diff(np.stack(risks, axis=1), axis=1)
    return float((steps < -1e-12).any(axis=1).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--peer-rows", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)

    data = load_taiwan_credit(as_frame=True)
    X = data.data.drop(columns=["age_band"])
    y = data.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    net = make_pipeline(
        preprocessor(),
        TabularNetClassifier(max_epochs=args.epochs, random_state=0),
    )
    fair = FairConstrainedClassifier(net, bound=0.02, sensitive_columns="sex")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        _, fit_s = timed(fair.fit, X_train, y_train)
    risk = fair.predict_proba(X)[:, 1]
    auc = roc_auc_score(y_test, fair.predict_proba(X_test)[:, 1])
    print(f"fair net: test AUC {auc:.3f}, fit {fit_s:.1f}s")

    order = np.argsort(-risk, kind="stable")
    declined = X.iloc[order[:N_DECLINED]]
    approved = X.iloc[order[N_DECLINED:]]
    background = approved.sample(100, random_state=0)

    reasons, deep_s = timed(
        reason_codes, fair, declined, background=background, random_state=0
    )
    peer = declined.iloc[: args.peer_rows]
    peer_reasons, perm_s = timed(
        reason_codes,
        fair,
        peer,
        background=background,
        method="permutation",
        random_state=0,
    )
    deep_rate = len(declined) / deep_s
    perm_rate = len(peer) / perm_s
    print(
        f"reason_codes, {len(declined)} declined: deep {deep_s:.1f}s "
        f"({deep_rate:.0f} rows/s); permutation peer {len(peer)} rows "
        f"{perm_s:.1f}s ({perm_rate:.2f} rows/s); deep/permutation speed ratio "
        f"{deep_rate / perm_rate:.0f}x"
    )
    deep_values = feature_contributions(
        fair, peer, background=background, random_state=0
    ).values
    perm_values = feature_contributions(
        fair, peer, background=background, method="permutation", random_state=0
    ).values
    scale = np.abs(deep_values).mean()
    same_first = reasons["reason_1"].iloc[: len(peer)] == peer_reasons["reason_1"]
    print(
        f"deep vs permutation on {len(peer)} rows: mean |difference| "
        f"{np.abs(deep_values - perm_values).mean() / scale:.2f} of the mean "
        f"|contribution|; same principal reason for {same_first.mean():.0%}"
    )
    print("principal reasons:", reasons["reason_1"].value_counts().head(5).to_dict())
    parity = reason_parity(reasons, declined["sex"])
    print("reason parity by sex (principal reason, share of each group's declined):")
    print(parity.head(6).round(3).to_string())
    report, proxy_s = timed(
        proxy_report, X.drop(columns="sex"), X["sex"], random_state=0
    )
    print(f"proxy report for sex ({proxy_s:.1f}s):")
    print(report.head(6).round(3).to_string())

    # --- monotone nets ---------------------------------------------------
    pre = preprocessor().fit(X_train.drop(columns="sex"))
    cst = monotonic_cst_for(pre, {"pay_0": 1, "limit_bal": -1})
    plain = make_pipeline(
        preprocessor(), TabularNetClassifier(max_epochs=args.epochs, random_state=0)
    )
    monotone = clone(plain).set_params(tabularnetclassifier__monotonic_cst=cst)
    X_tr, X_te = X_train.drop(columns="sex"), X_test.drop(columns="sex")
    for name, model in [("plain", plain), ("monotone", monotone)]:
        _, seconds = timed(model.fit, X_tr, y_train)
        auc = roc_auc_score(y_test, model.predict_proba(X_te)[:, 1])
        wrong = {
            c: wrong_way_share(model, X_te, c, s)
            for c, s in [("pay_0", 1), ("limit_bal", -1)]
        }
        print(
            f"{name:8s} net: test AUC {auc:.4f}, fit {seconds:.1f}s, rows whose "
            f"risk moves the wrong way: pay_0 {wrong['pay_0']:.1%}, "
            f"limit_bal {wrong['limit_bal']:.1%}"
        )


if __name__ == "__main__":
    main()
