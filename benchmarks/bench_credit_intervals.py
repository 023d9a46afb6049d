"""Credit figures with their intervals, and reasons for gradient boosting (issue 18).

Taiwan credit (1 = default), a gradient boosting PD model (scikit-learn's
``HistGradientBoostingClassifier`` behind a one-hot/standardising
preprocessor, sex and age band held out of its inputs), fitted on a
stratified 70% split:

1. on the 9,000 held-out applicants, the Gini gap between age bands (and
   sex) with its 95% stratified bootstrap interval
   (``group_gap_interval``, 1,000 resamples), its time, and the peer in the
   same run: a plain loop of scikit-learn's ``roc_auc_score`` over the same
   kind of resamples (drawn row indices), timed on ``--peer-resamples``;
2. at a 70% approval cutoff, each age band's approval rate and adverse
   impact ratio with their intervals (``approval_by_group``: Wilson,
   MOVER-R);
3. reasons for the 10,000 riskiest of all 30,000 applicants
   (``reason_codes``, shap's TreeExplainer), and the peer in the same run:
   shap's permutation explainer on ``--peer-rows`` of the same rows, with
   how often the two agree on the principal reason.

Run: ``python benchmarks/bench_credit_intervals.py [--peer-rows 20]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_taiwan_credit
from sklfair.explain import reason_codes
from sklfair.metrics import (
    approval_by_group,
    cutoff_for_approval_rate,
    group_gap_interval,
)

N_DECLINED = 10_000
SENSITIVE = ["sex", "age_band"]


def model():
    pre = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )
    return make_pipeline(pre, HistGradientBoostingClassifier(random_state=0))


def loop_interval(events, score, groups, n_resamples, rng):
    """The peer: resample row indices per group, roc_auc_score each time."""
    gaps = []
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    for _ in range(n_resamples):
        ginis = []
        for rows in members:
            take = rng.choice(rows, rows.size)
            ginis.append(2 * roc_auc_score(events[take], score[take]) - 1)
        gaps.append(max(ginis) - min(ginis))
    return np.quantile(gaps, [0.025, 0.975])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-rows", type=int, default=20)
    parser.add_argument("--peer-resamples", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")

    data = load_taiwan_credit()
    X, y = data.data, data.target
    features = X.drop(columns=SENSITIVE)
    train, test = train_test_split(
        np.arange(len(X)), test_size=0.3, stratify=y, random_state=0
    )
    start = time.perf_counter()
    gbm = model().fit(features.iloc[train], y.iloc[train])
    print(f"gradient boosting fitted in {time.perf_counter() - start:.1f} s")
    pd_test = gbm.predict_proba(features.iloc[test])[:, 1]
    y_test = y.iloc[test].to_numpy()

    print("\n1. Gini gap between groups, 95% stratified bootstrap, 1,000 resamples")
    for attribute in SENSITIVE:
        groups = X[attribute].iloc[test].astype(str).to_numpy()
        start = time.perf_counter()
        result = group_gap_interval(
            "gini", y_test, pd_test, sensitive_features=groups, random_state=0
        )
        ours = time.perf_counter() - start
        by_group = result.by_group.loc["gini"]
        groups_text = ", ".join(
            f"{g} {r.value:.3f} [{r.low:.3f}, {r.high:.3f}]"
            for g, r in by_group.iterrows()
        )
        print(
            f"  {attribute}: gap {result.estimate:.3f} [{result.low:.3f}, "
            f"{result.high:.3f}] in {ours:.2f} s; groups: {groups_text}"
        )
        if attribute == "age_band":
            start = time.perf_counter()
            low, high = loop_interval(
                y_test, pd_test, groups, args.peer_resamples, np.random.default_rng(0)
            )
            loop = (time.perf_counter() - start) / args.peer_resamples * 1000
            print(
                f"  peer (roc_auc_score loop, {args.peer_resamples} resamples): "
                f"[{low:.3f}, {high:.3f}], {loop:.1f} s per 1,000 resamples: "
                f"{loop / ours:.0f} times slower"
            )

    print("\n2. At a 70% approval cutoff, by age band (95% intervals)")
    cutoff = cutoff_for_approval_rate(gbm, features.iloc[test], 0.7)
    decisions = cutoff.predict(features.iloc[test])
    table = approval_by_group(
        y_test, decisions, sensitive_features=X["age_band"].iloc[test]
    )
    for group, row in table.iterrows():
        print(
            f"  {group}: approval {row.approval_rate:.3f} "
            f"[{row.approval_rate_low:.3f}, {row.approval_rate_high:.3f}], "
            f"AIR {row.adverse_impact_ratio:.3f} "
            f"[{row.adverse_impact_ratio_low:.3f}, "
            f"{row.adverse_impact_ratio_high:.3f}], bad rate {row.bad_rate:.3f} "
            f"[{row.bad_rate_low:.3f}, {row.bad_rate_high:.3f}]"
        )

    print(f"\n3. Reasons for the {N_DECLINED:,} riskiest applicants")
    pd_all = gbm.predict_proba(features)[:, 1]
    order = np.argsort(-pd_all, kind="stable")
    declined = features.iloc[order[:N_DECLINED]]
    approved = features.iloc[order[N_DECLINED:]]
    start = time.perf_counter()
    reasons = reason_codes(
        gbm,
        declined,
        n_reasons=4,
        background=approved,
        random_state=0,
    )
    tree = time.perf_counter() - start
    print(f"  tree explainer: {tree:.1f} s ({N_DECLINED / tree:,.0f} rows/s)")
    rows = declined.iloc[: args.peer_rows]
    start = time.perf_counter()
    peer = reason_codes(
        gbm,
        rows,
        n_reasons=4,
        background=approved,
        n_background=20,
        method="permutation",
        random_state=0,
    )
    slow = (time.perf_counter() - start) / args.peer_rows
    first = reasons["reason_1"].iloc[: args.peer_rows].to_numpy()
    agree = np.mean(peer["reason_1"].to_numpy() == first)
    print(
        f"  peer (permutation, {args.peer_rows} rows, 20 background): "
        f"{1 / slow:.2f} rows/s, {N_DECLINED / tree * slow:,.0f} times slower; "
        f"same principal reason for {agree:.0%} of the rows"
    )
    top = reasons["reason_1"].value_counts().head(3)
    print("  principal reasons: " + ", ".join(f"{k} {v}" for k, v in top.items()))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
